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
    """Per-process counters. Memory is bounded: expired windows are dropped as it fills."""

    def __init__(self, max_keys: int = 100_000) -> None:
        self._windows: dict[str, tuple[float, int]] = {}
        self._max_keys = max_keys

    async def hit(self, key: str, limit: int, window_seconds: int) -> int | None:
        now = time.monotonic()
        start, count = self._windows.get(key, (now, 0))
        if now - start >= window_seconds:
            start, count = now, 0
        count += 1
        if len(self._windows) >= self._max_keys and key not in self._windows:
            self._evict(now, window_seconds)
        self._windows[key] = (start, count)
        if count > limit:
            return max(1, math.ceil(start + window_seconds - now))
        return None

    def _evict(self, now: float, window_seconds: int) -> None:
        self._windows = {k: v for k, v in self._windows.items() if now - v[0] < window_seconds}
        if len(self._windows) >= self._max_keys:
            self._windows.clear()  # under a flood, forgetting beats growing without bound


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
