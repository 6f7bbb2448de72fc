"""Run every benchmark module in tests/bench (or those named on the command line).

Most run inside a freshly created test database, torn down afterwards. A module that
sets `OWN_DATABASE = True` (the query benchmark at scale) runs first, against the
database DATABASE_URL names, so the generated data set is built once and reused.
"""
import importlib
import os
import pkgutil
import sys


def main(argv: list[str]) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.db import connections
    from django.test.utils import setup_databases, setup_test_environment, teardown_databases, teardown_test_environment

    import tests.bench as package

    names = argv or sorted(m.name for m in pkgutil.iter_modules(package.__path__)
                           if not m.name.startswith(("_", "test_")))
    modules = [importlib.import_module(f"tests.bench.{name}") for name in names]
    modules = [m for m in modules if hasattr(m, "run")]
    for module in [m for m in modules if getattr(m, "OWN_DATABASE", False)]:
        print(f"== bench: {module.__name__.rsplit('.', 1)[-1]}", flush=True)
        module.run()
    connections.close_all()
    setup_test_environment()
    # The test runner's own machinery: test_<name> on PostgreSQL, in-memory on SQLite.
    old_config = setup_databases(verbosity=0, interactive=False)
    try:
        for module in [m for m in modules if not getattr(m, "OWN_DATABASE", False)]:
            print(f"== bench: {module.__name__.rsplit('.', 1)[-1]}", flush=True)
            module.run()
    finally:
        connections.close_all()
        teardown_databases(old_config, verbosity=0)
        teardown_test_environment()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
