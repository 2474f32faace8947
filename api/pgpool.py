"""A small pool of autocommit psycopg connections for the generated endpoints.

Connections are opened on demand (up to `size`), so an unreachable database is noticed on
the request that needs it, bounded by the connect timeout, and a database that comes back
is used on the next request: no background reconnection schedule to wait for. Idle
connections are closed after `max_idle` seconds (servers and proxies drop them). A checkout
waits at most `timeout` for a free slot, then fails with `PoolTimeoutError` (503).

An idle connection the server has closed meanwhile (Neon suspending its compute, a
restart, `pg_terminate_backend`) is never handed out: `severed` notices it without a round
trip, so a statement is only ever sent on a connection that was open a moment before.
"""

import asyncio
import select
import time
from collections import deque
from collections.abc import Mapping
from typing import Any

import psycopg
from psycopg.pq import ConnStatus, TransactionStatus


class PoolTimeoutError(TimeoutError):
    """Every connection stayed busy for the whole checkout timeout."""


class ConnectionPool:
    def __init__(
        self,
        conninfo: str,
        *,
        size: int,
        timeout: float,
        connect_kwargs: Mapping[str, Any],
        max_idle: float = 300.0,
    ) -> None:
        self._conninfo = conninfo
        self._connect_kwargs = dict(connect_kwargs)
        self._timeout = timeout
        self._max_idle = max_idle
        self._size = size
        self._taken = 0  # slots held by callers (a connection each, or about to be)
        # Callers waiting for a slot, oldest first, with their deadlines. One timer
        # serves them all (the oldest's deadline), not a timer per wait: under load
        # nearly every checkout waits.
        self._waiters: deque[tuple[asyncio.Future[None], float]] = deque()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_loop: asyncio.AbstractEventLoop | None = None
        self._idle: list[tuple[psycopg.AsyncConnection[Any], float]] = []
        self._closed = False

    async def get(self) -> psycopg.AsyncConnection[Any]:
        """A connection for one caller; hand it back with `put`, whatever happens."""
        if self._taken < self._size and not self._waiters:
            self._taken += 1
        else:
            await self._wait_for_slot()
        try:
            return self._take_idle() or await self._connect()
        except BaseException:
            self._release()
            raise

    def put(self, conn: psycopg.AsyncConnection[Any]) -> None:
        try:
            reusable = (
                not self._closed
                and not conn.broken
                and conn.info.transaction_status == TransactionStatus.IDLE
            )
            if reusable:
                self._idle.append((conn, time.monotonic()))
            else:
                _close_quietly(conn)
        finally:
            self._release()

    async def _wait_for_slot(self) -> None:
        loop = asyncio.get_running_loop()
        slot = loop.create_future()
        deadline = loop.time() + self._timeout
        self._waiters.append((slot, deadline))
        if self._timer is None or self._timer_loop is not loop:
            self._timer, self._timer_loop = loop.call_at(deadline, self._expire), loop
        try:
            await slot  # `_release` hands a slot over by setting the result
        except asyncio.CancelledError:
            if slot.done() and not slot.cancelled() and slot.exception() is None:
                self._release()  # handed over as the caller gave up: pass it on
            raise

    def _release(self) -> None:
        """A slot is free: to the oldest caller still waiting, else back to the pool."""
        while self._waiters:
            slot, _ = self._waiters.popleft()
            if not slot.done():
                slot.set_result(None)
                return
        self._taken -= 1

    def _expire(self) -> None:
        """Fail the callers whose deadline passed; the timer then waits for the next."""
        self._timer = None
        waiters = self._waiters
        if not waiters:
            return
        loop = asyncio.get_running_loop()
        now = loop.time() + _EARLY  # timers may fire within the clock's resolution
        while waiters and (waiters[0][0].done() or waiters[0][1] <= now):
            slot, _ = waiters.popleft()
            if not slot.done():
                message = f"no connection free within {self._timeout} s"
                slot.set_exception(PoolTimeoutError(message))
        if waiters:
            self._timer = loop.call_at(waiters[0][1], self._expire)

    def discard_idle(self) -> None:
        """Close every idle connection: one was found severed (a database restart severs
        them all), so none is worth trying."""
        idle, self._idle = self._idle, []
        for conn, _ in idle:
            _close_quietly(conn)

    async def close(self) -> None:
        self._closed = True
        self.discard_idle()

    def _take_idle(self) -> psycopg.AsyncConnection[Any] | None:
        oldest_allowed = time.monotonic() - self._max_idle
        while self._idle:
            conn, since = self._idle.pop()
            if since >= oldest_allowed and not severed(conn):
                return conn
            _close_quietly(conn)
        return None

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        return await psycopg.AsyncConnection.connect(
            self._conninfo, autocommit=True, **self._connect_kwargs
        )


_EARLY = 0.001  # seconds: a waiter this close to its deadline has reached it


def severed(conn: psycopg.AsyncConnection[Any]) -> bool:
    """Whether the server has closed (or is closing) this idle connection.

    An idle connection has nothing to read: the server speaks only when asked. A socket
    that is readable anyway holds the server's goodbye (`FATAL: terminating connection`)
    and the end of the stream. The bytes are consumed so that a stray message (a notice,
    a TLS record) does not condemn a healthy connection; what is still readable after
    that is the end of the stream. One non-blocking poll, no round trip.
    """
    pgconn = conn.pgconn
    if conn.closed or pgconn.status != ConnStatus.OK:
        return True
    try:
        if not _readable(pgconn.socket):
            return False
        pgconn.consume_input()
        return pgconn.status != ConnStatus.OK or _readable(pgconn.socket)
    except (psycopg.Error, OSError, ValueError):
        return True


def _readable(fd: int) -> bool:
    if _poll is None:  # no poll(2) (Windows): select, fine for its socket handles
        return bool(select.select([fd], [], [], 0)[0])
    poller = _poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))


_poll = getattr(select, "poll", None)


def _close_quietly(conn: psycopg.AsyncConnection[Any]) -> None:
    # The socket is closed at once; a graceful termination would need a round trip to a
    # server that may be gone.
    conn.pgconn.finish()
