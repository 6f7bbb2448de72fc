"""Redis connection pools shared by every cache object of a process."""
import threading

import redis


class SharedConnectionPool(redis.ConnectionPool):
    """One pool per URL and options per process.

    Django keeps cache objects in a context-local (not thread-local) store, so a request
    served on a thread pool gets a fresh cache object, and Django's Redis backend a fresh
    pool and connection: a TCP connect and redis-py's start-up per request, which cost
    more than the webhook's own work (docs/performance.md, "Inbound"). redis-py pools
    notice a fork and start over in the child.
    """

    _shared: dict = {}
    _lock = threading.Lock()

    @classmethod
    def from_url(cls, url, **kwargs):
        key = (url, tuple(sorted(kwargs.items())))
        with cls._lock:
            if key not in cls._shared:
                cls._shared[key] = super().from_url(url, **kwargs)
            return cls._shared[key]
