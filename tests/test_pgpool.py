"""The task endpoints' PostgreSQL pool: bounded, fails fast when full, and never hands out
a connection that sat idle too long or was left inside a transaction."""

import asyncio
import time

import pytest

from api.db import libpq_url
from api.pgpool import ConnectionPool, PoolTimeoutError


def _pool(dsn: str, **options: float) -> ConnectionPool:
    settings = {"size": 2, "timeout": 1.0, **options}
    return ConnectionPool(
        libpq_url(dsn),
        size=int(settings["size"]),
        timeout=settings["timeout"],
        connect_kwargs={},
        max_idle=settings.get("max_idle", 300.0),
    )


async def test_connections_are_reused_until_idle_too_long(pg_template: str) -> None:
    pool = _pool(pg_template, max_idle=0.2)
    try:
        conn = await pool.get()
        first = conn.info.backend_pid
        pool.put(conn)
        conn = await pool.get()
        assert conn.info.backend_pid == first, "a fresh idle connection is reused"
        pool.put(conn)
        await asyncio.sleep(0.3)
        conn = await pool.get()
        assert conn.info.backend_pid != first, "an idle-too-long connection is replaced"
        pool.put(conn)
    finally:
        await pool.close()


async def test_a_full_pool_fails_after_its_timeout_then_recovers(pg_template: str) -> None:
    pool = _pool(pg_template, size=1, timeout=0.3)
    try:
        held = await pool.get()
        started = time.monotonic()
        with pytest.raises(PoolTimeoutError):
            await pool.get()
        assert 0.25 < time.monotonic() - started < 1.0
        waiter = asyncio.create_task(pool.get())
        await asyncio.sleep(0.05)
        pool.put(held)  # a waiting caller gets the slot as soon as it is free
        conn = await asyncio.wait_for(waiter, 1.0)
        pool.put(conn)
    finally:
        await pool.close()


async def test_a_connection_left_in_a_transaction_is_closed_not_reused(pg_template: str) -> None:
    pool = _pool(pg_template)
    try:
        conn = await pool.get()
        first = conn.info.backend_pid
        await conn.execute("BEGIN")
        pool.put(conn)
        assert conn.closed
        conn = await pool.get()
        assert conn.info.backend_pid != first
        pool.put(conn)
    finally:
        await pool.close()


async def test_a_freed_slot_goes_to_the_oldest_waiter_still_waiting(pg_template: str) -> None:
    pool = _pool(pg_template, size=1)
    try:
        held = await pool.get()
        gone, first, second = (asyncio.create_task(pool.get()) for _ in range(3))
        await asyncio.sleep(0.05)
        gone.cancel()  # gave up while waiting: skipped
        pool.put(held)
        first.cancel()  # handed the slot, then gave up before it ran: the slot moves on
        conn = await asyncio.wait_for(second, 1.0)
        assert gone.cancelled()
        assert first.cancelled()
        pool.put(conn)
        conn = await asyncio.wait_for(pool.get(), 1.0)  # the slot came back, once
        pool.put(conn)
    finally:
        await pool.close()
