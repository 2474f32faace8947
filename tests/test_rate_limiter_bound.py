"""The in-memory rate limiter stays bounded by evicting its oldest windows: a flood of new
keys cannot wipe the counters of everyone else."""

import asyncio

from api.ratelimit import MemoryRateLimiter

LIMIT = 3
WINDOW = 60


async def test_a_flood_of_new_keys_evicts_only_the_oldest_windows() -> None:
    limiter = MemoryRateLimiter(max_keys=100)
    for n in range(50):
        assert await limiter.hit(f"old-{n}", LIMIT, WINDOW) is None
    for _ in range(LIMIT):
        assert await limiter.hit("busy", LIMIT, WINDOW) is None
    for n in range(49):
        await limiter.hit(f"recent-{n}", LIMIT, WINDOW)
    assert len(limiter._windows) == 100

    for n in range(50):  # the flood: 50 keys never seen
        await limiter.hit(f"flood-{n}", LIMIT, WINDOW)

    assert len(limiter._windows) == 100
    assert not any(key.startswith("old-") for key in limiter._windows)  # the 50 oldest
    assert all(f"recent-{n}" in limiter._windows for n in range(49))
    # The busy caller's window survived: its next request is over the limit.
    retry_after = await limiter.hit("busy", LIMIT, WINDOW)
    assert retry_after is not None
    assert 0 < retry_after <= WINDOW


async def test_expired_windows_make_room_before_any_active_one() -> None:
    limiter = MemoryRateLimiter(max_keys=10)
    for n in range(5):
        await limiter.hit(f"short-{n}", LIMIT, 1)
    for n in range(5):
        await limiter.hit(f"long-{n}", LIMIT, WINDOW)
    await asyncio.sleep(1.05)  # the short windows end; the limiter reads the monotonic clock
    await limiter.hit("newcomer", LIMIT, WINDOW)
    assert set(limiter._windows) == {f"long-{n}" for n in range(5)} | {"newcomer"}


async def test_a_window_that_starts_again_counts_as_new() -> None:
    limiter = MemoryRateLimiter(max_keys=3)
    await limiter.hit("a", LIMIT, 1)
    await limiter.hit("b", LIMIT, WINDOW)
    await asyncio.sleep(1.05)
    await limiter.hit("a", LIMIT, 1)  # a new window: now the youngest
    await limiter.hit("c", LIMIT, WINDOW)
    await limiter.hit("d", LIMIT, WINDOW)  # full: the oldest window, b's, goes
    assert list(limiter._windows) == ["a", "c", "d"]
