import os

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer


def flush_channel_layer() -> None:
    """Empty the channel layer between tests.

    On Redis the keys are dropped directly: the layer's flush() also closes every
    event loop's connection pool, including the long-lived publisher loop's
    (chats/realtime/events.py), from the wrong loop.
    """
    layer = get_channel_layer()
    if type(layer).__module__.startswith("channels_redis"):
        import redis

        redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()
    else:
        async_to_sync(layer.flush)()
