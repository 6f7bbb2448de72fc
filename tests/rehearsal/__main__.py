"""`python -m tests.rehearsal`: the distributed rehearsal alone (tests/rehearsal/test_rehearsal.py), on the
services profile the environment names (DATABASE_URL, REDIS_URL); it prints what was held."""
import os
import sys

import pytest

if __name__ == "__main__":
    os.environ["RAPPORT_REHEARSAL"] = "1"
    sys.exit(pytest.main(["-q", "-s", "-p", "no:cacheprovider", "-m", "rehearsal", "tests/rehearsal", *sys.argv[1:]]))
