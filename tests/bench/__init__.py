"""Benchmarks for `make bench` (python -m tests.bench [module ...]).

Each module in this package with a `run()` function is one benchmark; it prints its
figures. They run against a throwaway test database, never the developer's own.
"""
