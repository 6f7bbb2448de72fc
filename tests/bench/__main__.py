"""Run every benchmark module in tests/bench (or those named on the command line)
inside a freshly created test database, torn down afterwards."""
import importlib
import os
import pkgutil
import sys


def main(argv: list[str]) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.test.utils import setup_databases, setup_test_environment, teardown_databases, teardown_test_environment

    import tests.bench as package

    names = argv or sorted(m.name for m in pkgutil.iter_modules(package.__path__) if not m.name.startswith("_"))
    setup_test_environment()
    # The test runner's own machinery: test_<name> on PostgreSQL, in-memory on SQLite.
    old_config = setup_databases(verbosity=0, interactive=False)
    try:
        for name in names:
            module = importlib.import_module(f"tests.bench.{name}")
            if hasattr(module, "run"):
                print(f"== bench: {name}", flush=True)
                module.run()
    finally:
        teardown_databases(old_config, verbosity=0)
        teardown_test_environment()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
