"""Redis connection pools and clients shared by every cache object of a process."""
import threading

import redis
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient


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


class SharedClientRedisCacheClient(RedisCacheClient):
    """Django's client, keeping one redis-py client per pool instead of building one per call.

    `redis.Redis(...)` builds its response-callback tables each time: in a profile of the
    webhook acknowledgement it cost more than the `SET NX` it was built for. A client over a
    shared pool holds no connection of its own, so one per pool is safe across threads.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients: dict = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None or client.connection_pool is not pool:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(DjangoRedisCache):
    """Django's Redis cache backend with SharedClientRedisCacheClient."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = SharedClientRedisCacheClient
