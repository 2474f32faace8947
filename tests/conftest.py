"""Fixtures: every API test runs on a fresh SQLite file and on a real PostgreSQL."""

import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from fastapi import FastAPI
from psycopg import sql
from sqlalchemy.engine import make_url

from api.db import _upgrade
from api.main import create_app
from api.settings import Settings
from schemas.metadata import metadata
from tests.support import TEST_SECRET, User, make_token

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
ENGINES = ["sqlite", "postgresql"]


def _pg_admin_url() -> str:
    return os.environ.get("TEST_DATABASE_URL", DEFAULT_PG)


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A migrated, throwaway PostgreSQL database for this test session (or worker)."""
    admin_url = _pg_admin_url()
    try:
        admin = psycopg.connect(admin_url, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        message = f"PostgreSQL at {admin_url} is unavailable: {exc}"
        if os.environ.get("CI"):
            pytest.fail(message)  # in CI the PostgreSQL tests must run, never skip
        pytest.skip(message)
    name = f"todo_test_{uuid.uuid4().hex[:10]}"
    with admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    dsn = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    _upgrade(dsn)
    yield dsn
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    _upgrade(f"sqlite:///{path}")
    return path


def _truncate(dsn: str) -> None:
    tables = sql.SQL(", ").join(sql.Identifier(t.name) for t in metadata.sorted_tables)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("TRUNCATE {} CASCADE").format(tables))


@pytest.fixture(params=ENGINES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database holding nothing: a copy of the migrated SQLite file, or PostgreSQL
    emptied after the test."""
    if request.param == "sqlite":
        path = tmp_path / "todo.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
    else:
        dsn: str = request.getfixturevalue("pg_template")
        yield dsn
        _truncate(dsn)


def test_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "env": "test",
        "database_url": database_url,
        "jwt_secret": TEST_SECRET,
        "log_level": "WARNING",
        "rate_limit_per_minute": 0,
        "gc_freeze": False,  # many apps start in one test process; servers freeze (below)
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


test_settings.__test__ = False  # type: ignore[attr-defined]


@pytest.fixture
def settings(database_url: str) -> Settings:
    return test_settings(database_url)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
def alice(client: httpx.AsyncClient) -> User:
    return User(client, "alice", make_token("alice"))


@pytest.fixture
def bob(client: httpx.AsyncClient) -> User:
    return User(client, "bob", make_token("bob"))
