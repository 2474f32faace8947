"""Database URLs as people paste them (Neon, SQLite) and the driver options they imply."""

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from api.db import create_engine, is_sqlite, normalize_url
from tests.conftest import test_settings

NEON = (
    "postgresql://neondb_owner:npg_p%40ss@ep-cool-darkness-123456-pooler.us-east-2.aws.neon.tech"
    "/neondb?sslmode=require&channel_binding=require"
)


@pytest.mark.parametrize(
    ("pasted", "expected"),
    [
        pytest.param(
            "postgres://u:p@h:5432/db", "postgresql+psycopg://u:p@h:5432/db", id="postgres"
        ),
        pytest.param("postgresql://u@h/db", "postgresql+psycopg://u@h/db", id="postgresql"),
        pytest.param(
            "postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db", id="postgresql+psycopg"
        ),
        pytest.param(
            "postgresql+asyncpg://u@h/db", "postgresql+psycopg://u@h/db", id="other-pg-driver"
        ),
        pytest.param(
            "postgresql://u@h/db?sslmode=require&channel_binding=require",
            "postgresql+psycopg://u@h/db?sslmode=require&channel_binding=require",
            id="libpq-options-kept",
        ),
        pytest.param("sqlite:///todo.db", "sqlite+aiosqlite:///todo.db", id="sqlite-relative"),
        pytest.param("sqlite:////var/x.db", "sqlite+aiosqlite:////var/x.db", id="sqlite-absolute"),
        pytest.param("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite:///x.db", id="sqlite-async"),
    ],
)
def test_normalize_url(pasted: str, expected: str) -> None:
    assert normalize_url(pasted) == expected
    assert is_sqlite(pasted) == expected.startswith("sqlite")


def test_neon_url_works_as_pasted() -> None:
    url = make_url(normalize_url(NEON))
    assert url.drivername == "postgresql+psycopg"
    assert url.query == {"sslmode": "require", "channel_binding": "require"}
    assert (url.username, url.password, url.database) == ("neondb_owner", "npg_p@ss", "neondb")
    engine = create_engine(test_settings(NEON))  # builds without connecting
    assert engine.url.query == url.query


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("mysql://u@h/db", id="mysql"),
        pytest.param("https://example.com/db", id="http"),
        pytest.param("todo.db", id="bare-path"),
        pytest.param("", id="empty"),
    ],
)
def test_unsupported_url_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="unsupported DATABASE_URL scheme"):
        normalize_url(url)


async def _driver_connection(engine: AsyncEngine) -> Any:
    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()
        return raw.driver_connection


@pytest.mark.parametrize(
    ("host", "prepared"),
    [
        pytest.param("ep-cool-darkness-123456-pooler.us-east-2.aws.neon.tech", False, id="pooler"),
        pytest.param("ep-cool-darkness-123456.us-east-2.aws.neon.tech", True, id="direct"),
    ],
)
async def test_pooler_host_disables_prepared_statements(
    pg_template: str, host: str, prepared: bool
) -> None:
    """A real connection made for a Neon-style host name (redirected to the local server)."""
    real = make_url(pg_template)
    pasted = real.set(host=host).render_as_string(hide_password=False)
    engine = create_engine(test_settings(pasted))

    @event.listens_for(engine.sync_engine, "do_connect")
    def _to_local_server(dialect: Any, record: Any, cargs: Any, cparams: dict[str, Any]) -> None:
        cparams["host"], cparams["port"] = real.host, real.port or 5432

    try:
        connection = await _driver_connection(engine)
        if prepared:
            assert connection.prepare_threshold is not None
        else:
            assert connection.prepare_threshold is None
    finally:
        await engine.dispose()


async def test_sqlite_uses_wal_and_full_sync(tmp_path: Path) -> None:
    engine = create_engine(test_settings(f"sqlite:///{tmp_path / 'pragmas.db'}"))
    try:
        async with engine.connect() as first, engine.connect() as second:
            for conn in (first, second):  # every pooled connection, not only the first
                journal = (await conn.execute(text("PRAGMA journal_mode"))).scalar_one()
                synchronous = (await conn.execute(text("PRAGMA synchronous"))).scalar_one()
                foreign_keys = (await conn.execute(text("PRAGMA foreign_keys"))).scalar_one()
                assert (journal, synchronous, foreign_keys) == ("wal", 2, 1)  # 2: FULL
    finally:
        await engine.dispose()
