"""Database engines: URL normalisation (Neon, SQLite), driver options, schema migration,
and the one mapping of database failures to problems (`database_problem`)."""

import asyncio
from pathlib import Path
from typing import Any

import psycopg
from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import (
    DBAPIError,
    DisconnectionError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from api.errors import ApiError, Conflict, DatabaseError, ServiceUnavailable
from api.pgpool import PoolTimeoutError, severed
from api.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
USERS_POOL_SIZE = 4


def normalize_url(url: str) -> str:
    """Accept URLs as users paste them and pick the async driver.

    `postgres://` and `postgresql://` (Neon's console) become psycopg 3; libpq options such
    as `sslmode` and `channel_binding` pass through. `sqlite:///file` becomes aiosqlite.
    """
    scheme, _, rest = url.partition("://")
    base = scheme.split("+", 1)[0]
    if base in ("postgres", "postgresql"):
        return f"postgresql+psycopg://{rest}"
    if base == "sqlite":
        return f"sqlite+aiosqlite://{rest}"
    raise ValueError(f"unsupported DATABASE_URL scheme {scheme!r}: use postgresql:// or sqlite://")


def is_sqlite(url: str) -> bool:
    return normalize_url(url).startswith("sqlite")


def _is_pgbouncer(url: str) -> bool:
    host = make_url(url).host or ""
    return "-pooler" in host


def postgres_connect_args(settings: Settings) -> dict[str, object]:
    """psycopg connection options, shared by the request pool and SQLAlchemy's engine."""
    url = normalize_url(settings.database_url)
    connect_args: dict[str, object] = {"connect_timeout": settings.db_connect_timeout_seconds}
    if _is_pgbouncer(url):
        # PgBouncer in transaction mode cannot keep server-side prepared statements, and
        # it refuses startup parameters it does not know (`options`), so no statement
        # timeout from here: set it on the role (ALTER ROLE ... SET statement_timeout).
        connect_args["prepare_threshold"] = None
    elif settings.db_statement_timeout_ms:
        # A query stuck on a lock or a slow plan is canceled by the server (QueryCanceled,
        # an OperationalError: 503) instead of holding a pooled connection indefinitely.
        # Options already in the URL (Neon's `endpoint=...`) are kept and, coming later, win.
        timeout = f"-c statement_timeout={settings.db_statement_timeout_ms}"
        pasted = make_url(url).query.get("options")
        connect_args["options"] = f"{timeout} {pasted}" if isinstance(pasted, str) else timeout
    return connect_args


def libpq_url(url: str) -> str:
    """The URL as libpq reads it (no SQLAlchemy driver suffix)."""
    return "postgresql://" + normalize_url(url).partition("://")[2]


def create_engine(settings: Settings) -> AsyncEngine:
    url = normalize_url(settings.database_url)
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    engine = create_async_engine(
        url,
        # On PostgreSQL this engine serves Alembic and the built-in user routes only (the
        # task endpoints have their own pool, `api.pgpool`); logins are bound by password
        # hashing, so a few connections are plenty, opened on first use.
        pool_size=min(settings.db_pool_size, USERS_POOL_SIZE),
        max_overflow=0,
        pool_timeout=settings.db_pool_timeout_seconds,
        pool_recycle=300,
        connect_args=postgres_connect_args(settings),
        hide_parameters=True,
    )

    @event.listens_for(engine.sync_engine, "checkout")
    def _not_severed(dbapi_connection: Any, _record: object, _proxy: object) -> None:
        # The request pool's check (`api.pgpool.severed`) for this pool too: a connection
        # the server closed while idle is replaced before use (SQLAlchemy reconnects on
        # DisconnectionError), without pool_pre_ping's round trip per checkout.
        if severed(dbapi_connection.driver_connection):
            raise DisconnectionError("the server closed this idle connection")

    return engine


def _sqlite_engine(url: str) -> AsyncEngine:
    # `timeout`: how long a writer waits for another writer's lock before "database is
    # locked" (reported as 503, retryable).
    engine = create_async_engine(
        url, pool_size=5, connect_args={"timeout": 5}, hide_parameters=True
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _pragmas(dbapi_connection: object, _record: object) -> None:
        cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
        # WAL lets readers run beside the writer; FULL sync makes an acknowledged write
        # survive a crash; foreign keys are off by default in SQLite.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine


def alembic_config(database_url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    # ConfigParser treats % as interpolation; URL-encoded passwords contain it.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def _upgrade(database_url: str) -> None:
    command.upgrade(alembic_config(database_url), "head")


async def migrate(database_url: str) -> None:
    """Bring the schema to the newest revision (Alembic runs its own event loop)."""
    await asyncio.to_thread(_upgrade, database_url)


# SQLite reports a missing table or a bad statement as OperationalError too (SQLITE_ERROR);
# only these primary result codes mean "cannot be used right now, retry": BUSY, LOCKED,
# NOMEM, IOERR, FULL, CANTOPEN, PROTOCOL.
_SQLITE_UNAVAILABLE = frozenset({5, 6, 7, 10, 13, 14, 15})


def _is_unavailable(exc: SQLAlchemyError) -> bool:
    if isinstance(exc, InterfaceError | SQLAlchemyTimeoutError) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated
    ):
        return True
    if not isinstance(exc, OperationalError):
        return False
    sqlite_code = getattr(exc.orig, "sqlite_errorcode", None)
    return sqlite_code is None or sqlite_code & 0xFF in _SQLITE_UNAVAILABLE


# The exceptions `database_problem` maps; the app's handlers catch exactly these.
DATABASE_ERRORS: tuple[type[Exception], ...] = (SQLAlchemyError, psycopg.Error, PoolTimeoutError)
_UNAVAILABLE = "The database is unavailable; retry shortly."
_FAILED = "The database could not complete the request."
_CONFLICT = "The change conflicts with existing data."


def database_problem(exc: Exception) -> ApiError:
    """The problem for a database failure, from SQLAlchemy or psycopg: 409 for a conflict
    with existing data, 503 (with Retry-After) when the database cannot be used right now,
    else 500 DATABASE_ERROR. Raise it `from exc`: whoever renders it logs the cause once,
    with the request id (`api.errors`); the driver's text never reaches the client."""
    if isinstance(exc, SQLAlchemyError):
        return database_error(exc)
    if isinstance(exc, psycopg.Error | PoolTimeoutError):
        return postgres_error(exc)
    raise TypeError(f"not a database error: {type(exc).__name__}")


def postgres_error(exc: psycopg.Error | PoolTimeoutError) -> ApiError:
    """psycopg failures in the taxonomy, as `database_error` does for SQLAlchemy's."""
    if isinstance(exc, psycopg.IntegrityError):
        return Conflict(_CONFLICT)
    if isinstance(exc, PoolTimeoutError | psycopg.OperationalError | psycopg.InterfaceError):
        return ServiceUnavailable(_UNAVAILABLE)
    return DatabaseError(_FAILED)


def database_error(exc: SQLAlchemyError) -> ApiError:
    """SQLAlchemy failures in the taxonomy."""
    if isinstance(exc, IntegrityError):
        return Conflict(_CONFLICT)
    if _is_unavailable(exc):
        return ServiceUnavailable(_UNAVAILABLE)
    return DatabaseError(_FAILED)
