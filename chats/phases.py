"""Where a drain's batch spends its time: a bench's instrument, off in production.

Off unless the environment variable RAPPORT_DRAIN_PHASES_FILE names a file (the WebSocket bench,
tests/bench/websocket.py, sets it for its worker); then each batch a drain processes appends one
JSON line to it: the batch's size and the milliseconds of each named phase, wall clock, on the
drain's own thread. Off, every call below returns at once.
"""
from __future__ import annotations

import json
import os
import threading
import time
from contextlib import contextmanager

PHASES_FILE = os.environ.get("RAPPORT_DRAIN_PHASES_FILE", "")
_state = threading.local()


def _totals() -> dict[str, float]:
    totals = getattr(_state, "totals", None)
    if totals is None:
        totals = _state.totals = {}
    return totals


@contextmanager
def phase(name: str):
    """Time the block as `name` (added up when a batch passes through it more than once)."""
    if not PHASES_FILE:
        yield
        return
    begin(name)
    try:
        yield
    finally:
        end(name)


def begin(name: str) -> None:
    """Start `name` where a block cannot hold it (the commit: it ends in an on_commit callback)."""
    if PHASES_FILE:
        _totals()[f"begun:{name}"] = time.perf_counter()


def end(name: str) -> None:
    if PHASES_FILE:
        totals = _totals()
        started = totals.pop(f"begun:{name}", None)
        if started is not None:
            totals[name] = totals.get(name, 0.0) + time.perf_counter() - started


@contextmanager
def batch(size: int):
    """One batch of `size` bodies: its phases, and the claim that fetched it, written as one line."""
    if not PHASES_FILE:
        yield
        return
    started = time.perf_counter()
    try:
        yield
    finally:
        totals, _state.totals = _totals(), {}
        line = {name: round(seconds * 1000, 3) for name, seconds in totals.items() if not name.startswith("begun:")}
        line.update(bodies=size, batch=round((time.perf_counter() - started) * 1000, 3))
        with open(PHASES_FILE, "a", encoding="utf-8") as out:
            out.write(json.dumps(line) + "\n")
