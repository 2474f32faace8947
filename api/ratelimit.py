"""Fixed-window request counters: in memory per process, or shared through Redis."""

import logging
import math
import time
from typing import Protocol

import redis.asyncio as redis
from redis.exceptions import RedisError

log = logging.getLogger("todo_api.ratelimit")


class RateLimiter(Protocol):
    async def hit(self, key: str, limit: int, window_seconds: int) -> int | None:
        """Count one request; None if within `limit`, else seconds until the window ends."""
        ...


class MemoryRateLimiter:
    """Per-process counters, at most `max_keys` of them.

    The windows are kept in the order they started (a window that starts again moves to
    the end), so the oldest is always first: expired ones are dropped from the front as
    the table fills, and under a flood of new keys the oldest windows, the nearest to
    ending anyway, make room. Every other counter survives the flood.
    """

    def __init__(self, max_keys: int = 100_000) -> None:
        self._windows: dict[str, tuple[float, int, int]] = {}  # start, count, length
        self._max_keys = max_keys

    async def hit(self, key: str, limit: int, window_seconds: int) -> int | None:
        now = time.monotonic()
        start, count, _ = self._windows.get(key, (now, 0, window_seconds))
        if now - start >= window_seconds:
            start, count = now, 0
            self._windows.pop(key, None)  # a new window: to the end of the order
        count += 1
        if key not in self._windows and len(self._windows) >= self._max_keys:
            self._evict(now)
        self._windows[key] = (start, count, window_seconds)
        if count > limit:
            return max(1, math.ceil(start + window_seconds - now))
        return None

    def _evict(self, now: float) -> None:
        """Room for one more: the expired windows at the front go, else the oldest one."""
        windows = self._windows
        while windows:
            oldest = next(iter(windows))
            start, _, length = windows[oldest]
            if now - start < length and len(windows) < self._max_keys:
                return
            del windows[oldest]
            if now - start < length:
                return  # an active window made room: one is enough


class RedisRateLimiter:
    """Counters shared by every API process: windows aligned to the clock, one round
    trip per request. If Redis is unreachable the request is let through (and logged):
    an outage of the limiter must not become an outage of the API."""

    def __init__(self, url: str) -> None:
        self._redis = redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)

    async def hit(self, key: str, limit: int, window_seconds: int) -> int | None:
        now = time.time()
        window = int(now // window_seconds)
        name = f"todo-api:ratelimit:{key}:{window}"
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.incr(name)
                pipe.expire(name, window_seconds + 1)
                count, _ = await pipe.execute()
        except (RedisError, OSError) as exc:
            log.warning("rate limiter unavailable: %s", type(exc).__name__)
            return None
        if int(count) > limit:
            return max(1, math.ceil((window + 1) * window_seconds - now))
        return None

    async def close(self) -> None:
        await self._redis.aclose()
