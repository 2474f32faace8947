"""Where the generated endpoints' SQL runs.

Statements are SQLAlchemy expressions with named parameters, built once per shape (see
`statements.py`). On PostgreSQL, the hot path, each is compiled to text once and run by
psycopg on a small pool (`api.pgpool`), without SQLAlchemy's per-execution machinery.
On SQLite, the embedded default, SQLAlchemy runs them. Both answer rows as tuples and
report database failures in the error taxonomy (409, 503, 500), never as driver errors.
"""

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from typing import Any, Protocol

import psycopg
from psycopg.pq import TransactionStatus
from sqlalchemy import Select
from sqlalchemy.dialects.postgresql.psycopg import dialect as psycopg_dialect
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import UpdateBase

from api.db import database_error, is_sqlite, libpq_url, postgres_connect_args, postgres_error
from api.pgpool import ConnectionPool, PoolTimeoutError
from api.settings import Settings

Rows = Sequence[Sequence[Any]]
Params = Mapping[str, Any]
_POSTGRES = psycopg_dialect()  # type: ignore[no-untyped-call]


class Statement:
    """One statement, built once and run many times with different parameters."""

    __slots__ = ("_compiled", "_postgres", "query")

    def __init__(
        self,
        query: Select[Any] | UpdateBase,
        *,
        postgres: Select[Any] | UpdateBase | None = None,
    ) -> None:
        self.query = query  # the portable form, run by SQLAlchemy
        self._postgres = postgres  # where PostgreSQL needs its own dialect's construct
        self._compiled: tuple[str, dict[str, Any]] | None = None

    def postgres(self) -> tuple[str, dict[str, Any]]:
        """psycopg's text (`%(name)s` placeholders) and the values of the parameters the
        expression fixed itself (e.g. the `1` of `version + 1`)."""
        if self._compiled is None:
            query = self.query if self._postgres is None else self._postgres
            compiled = query.compile(dialect=_POSTGRES)
            assert isinstance(compiled, SQLCompiler)
            fixed = {
                name: bind.effective_value
                for name, bind in compiled.binds.items()
                if not bind.required
            }
            self._compiled = (compiled.string, fixed)
        return self._compiled


class Session(Protocol):
    async def rows(self, statement: Statement, params: Params) -> Rows: ...


class Store(Protocol):
    async def rows(self, statement: Statement, params: Params, *, read: bool = False) -> Rows:
        """Run one statement in its own autocommit transaction. `read`: it changes
        nothing, so it is run again once if the connection turns out to be severed."""
        ...

    def transaction(self) -> AbstractAsyncContextManager[Session]:
        """Several statements committed together when the block ends without error."""
        ...

    async def close(self) -> None: ...


class PostgresStore:
    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool

    async def rows(self, statement: Statement, params: Params, *, read: bool = False) -> Rows:
        query, fixed = statement.postgres()
        if fixed:
            params = {**fixed, **params}
        try:
            return await self._run(query, params, attempts=2 if read else 1)
        except (psycopg.Error, PoolTimeoutError) as exc:
            raise postgres_error(exc) from exc

    async def _run(self, query: str, params: Params, *, attempts: int) -> Rows:
        # The pool hands out only connections it found open (`pgpool.severed`), so a
        # connection the server closed while idle is replaced before anything is sent,
        # for writes as for reads. A connection that breaks after the statement left may
        # have run it: only a read is sent again.
        for attempt in range(1, attempts + 1):
            conn = await self._pool.get()
            try:
                cursor = await conn.execute(query, params)
                return await cursor.fetchall()
            except psycopg.OperationalError:
                if not conn.broken:
                    raise
                # The database restarted (or a proxy dropped us) while the connection
                # sat idle: its siblings are severed too.
                self._pool.discard_idle()
                if attempt == attempts:
                    raise
            finally:
                self._pool.put(conn)
        raise AssertionError("unreachable")

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Session]:
        try:
            conn = await self._begin()
            try:
                yield _PostgresSession(conn)
                await conn.execute(b"COMMIT")
            except BaseException:
                if conn.info.transaction_status != TransactionStatus.IDLE and not conn.broken:
                    with suppress(psycopg.Error):  # the connection is then discarded
                        await conn.execute(b"ROLLBACK")
                raise
            finally:
                self._pool.put(conn)
        except (psycopg.Error, PoolTimeoutError) as exc:
            raise postgres_error(exc) from exc

    async def _begin(self) -> psycopg.AsyncConnection[Any]:
        """A connection inside a new transaction. BEGIN changes nothing, so when it finds
        the connection severed it is sent again, once, on a fresh one."""
        for attempt in (1, 2):
            conn = await self._pool.get()
            try:
                await conn.execute(b"BEGIN")
                return conn
            except psycopg.OperationalError:
                self._pool.put(conn)
                if not conn.broken or attempt == 2:
                    raise
                self._pool.discard_idle()
            except BaseException:
                self._pool.put(conn)
                raise
        raise AssertionError("unreachable")

    async def close(self) -> None:
        await self._pool.close()


class _PostgresSession:
    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self._conn = conn

    async def rows(self, statement: Statement, params: Params) -> Rows:
        query, fixed = statement.postgres()
        cursor = await self._conn.execute(query, {**fixed, **params})
        return await cursor.fetchall()


class SqlAlchemyStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")

    async def rows(self, statement: Statement, params: Params, *, read: bool = False) -> Rows:
        try:
            try:
                return await self._run(statement, params)
            except DBAPIError as exc:
                # A pooled connection the database dropped fails on first use, and the
                # pool then renews them all: a read is safe to run again, once.
                if not (read and exc.connection_invalidated):
                    raise
                return await self._run(statement, params)
        except SQLAlchemyError as exc:
            raise database_error(exc) from exc

    async def _run(self, statement: Statement, params: Params) -> Rows:
        async with self._autocommit.connect() as conn:
            return (await conn.execute(statement.query, dict(params))).all()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Session]:
        try:
            async with self._engine.begin() as conn:
                yield _SqlAlchemySession(conn)
        except SQLAlchemyError as exc:
            raise database_error(exc) from exc

    async def close(self) -> None:
        await self._engine.dispose()


class _SqlAlchemySession:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def rows(self, statement: Statement, params: Params) -> Rows:
        return (await self._conn.execute(statement.query, dict(params))).all()


def open_store(settings: Settings, engine: AsyncEngine) -> Store:
    """psycopg on its own pool for PostgreSQL; the engine itself for SQLite (which the
    built-in users share, as one writer at a time is all SQLite allows anyway)."""
    if is_sqlite(settings.database_url):
        return SqlAlchemyStore(engine)
    pool = ConnectionPool(
        libpq_url(settings.database_url),
        size=settings.db_pool_size,
        timeout=settings.db_pool_timeout_seconds,
        connect_kwargs=postgres_connect_args(settings),
    )
    return PostgresStore(pool)
