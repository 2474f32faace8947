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
        self._slots = asyncio.Semaphore(size)
        self._idle: list[tuple[psycopg.AsyncConnection[Any], float]] = []
        self._closed = False

    async def get(self) -> psycopg.AsyncConnection[Any]:
        """A connection for one caller; hand it back with `put`, whatever happens."""
        if self._slots.locked():
            try:
                async with asyncio.timeout(self._timeout):  # a timer, not a task per wait
                    await self._slots.acquire()
            except TimeoutError:
                raise PoolTimeoutError(f"no connection free within {self._timeout} s") from None
        else:
            await self._slots.acquire()
        try:
            return self._take_idle() or await self._connect()
        except BaseException:
            self._slots.release()
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
            self._slots.release()

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
