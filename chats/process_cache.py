"""Values read from the database at most every few seconds per process, on hot paths."""
import time


class ProcessCache:
    """`load()`'s result, kept for `ttl` seconds in this process.

    `forget()` drops it at once (connect it to the model's save and delete signals); other
    processes see a change within the TTL. A race between two threads only loads twice.
    """

    def __init__(self, load, ttl: float):
        self._load, self._ttl = load, ttl
        self._value: tuple[float, object] | None = None

    def get(self):
        now = time.monotonic()
        if self._value is None or now - self._value[0] > self._ttl:
            self._value = (now, self._load())
        return self._value[1]

    def forget(self, **_signal_kwargs) -> None:
        self._value = None
