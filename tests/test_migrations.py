"""Alembic owns the schema: migrating an empty database yields exactly the models' tables,
and the migrations run down and up again cleanly."""

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from psycopg import sql
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from api.db import alembic_config, normalize_url
from schemas.metadata import metadata
from tests.conftest import DEFAULT_PG


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database that has never been migrated: a new SQLite file, or a new PostgreSQL
    database dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    request.getfixturevalue("pg_template")  # skips (or fails in CI) without PostgreSQL
    admin_url = os.environ.get("TEST_DATABASE_URL", DEFAULT_PG)
    name = f"todo_migrations_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def _inspect(database_url: str) -> tuple[list[Any], set[str]]:
    """Differences between the database and the models, and the tables it has."""
    url = make_url(normalize_url(database_url))
    sync_driver = "sqlite" if url.get_backend_name() == "sqlite" else "postgresql+psycopg"
    engine = create_engine(url.set(drivername=sync_driver), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "compare_server_default": True}
            )
            return list(compare_metadata(context, metadata)), set(inspect(conn).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_head_matches_the_models(empty_database_url: str) -> None:
    command.upgrade(alembic_config(empty_database_url), "head")
    diffs, tables = _inspect(empty_database_url)
    assert diffs == [], "migrations and models disagree; add a migration for these differences"
    assert {t.name for t in metadata.sorted_tables} <= tables


def test_downgrade_to_base_and_upgrade_again(empty_database_url: str) -> None:
    config = alembic_config(empty_database_url)
    command.upgrade(config, "head")
    command.downgrade(config, "base")
    diffs, tables = _inspect(empty_database_url)
    assert tables <= {"alembic_version"}, tables
    assert diffs, "after downgrading to base the model tables must be missing"
    command.upgrade(config, "head")
    diffs, _ = _inspect(empty_database_url)
    assert diffs == []


def _execute(database_url: str, *statements: str | tuple[str, dict[str, Any]]) -> list[Any]:
    """Run statements (text, or text and parameters) in one transaction; the rows of the
    last one."""
    url = make_url(normalize_url(database_url))
    sync_driver = "sqlite" if url.get_backend_name() == "sqlite" else "postgresql+psycopg"
    engine = create_engine(url.set(drivername=sync_driver), poolclass=NullPool)
    try:
        with engine.begin() as conn:
            rows: list[Any] = []
            for statement in statements:
                query, params = statement if isinstance(statement, tuple) else (statement, {})
                result = conn.execute(text(query), params)
                rows = list(result) if result.returns_rows else []
            return rows
    finally:
        engine.dispose()


def _task(owner: str, *, tags: str | None = None) -> tuple[str, dict[str, Any]]:
    """A task row as of revision 0003; at head, `tags` (an empty list in the database's
    own spelling), written to the tags and their lower-cased copy."""
    columns = "id, user_id, title, completed, created_at, updated_at, version"
    values = ":id, :owner, 't', false, '2026-01-01 00:00:00', '2026-01-01 00:00:00', 1"
    params: dict[str, Any] = {"id": uuid.uuid4().hex, "owner": owner}
    if tags is not None:
        columns, values = f"{columns}, tags, tags_folded", f"{values}, :tags, :tags"
        params["tags"] = tags
    return f"INSERT INTO task ({columns}) VALUES ({values})", params  # noqa: S608 (constants)


def test_item_counts_are_backfilled_and_kept_by_triggers(empty_database_url: str) -> None:
    config = alembic_config(empty_database_url)
    command.upgrade(config, "0003")
    _execute(empty_database_url, *(_task(owner) for owner in ("ann", "ann", "ann", "ben")))
    command.upgrade(config, "head")
    counts = "SELECT owner, total FROM item_count WHERE resource = 'task' ORDER BY owner"
    assert _execute(empty_database_url, counts) == [("ann", 3), ("ben", 1)]

    tags = "{}" if empty_database_url.startswith("postgresql") else "[]"
    _execute(
        empty_database_url,
        _task("cat", tags=tags),
        _task("ben", tags=tags),
        "DELETE FROM task WHERE id IN (SELECT id FROM task WHERE user_id = 'ann' LIMIT 2)",
        "UPDATE task SET user_id = 'cat' WHERE user_id = 'ann'",  # moves the last of ann's
        "UPDATE task SET title = 'renamed' WHERE user_id = 'ben'",  # not a move
    )
    assert _execute(empty_database_url, counts) == [("ann", 0), ("ben", 2), ("cat", 2)]
    actual = "SELECT user_id, count(*) FROM task GROUP BY user_id ORDER BY user_id"
    assert _execute(empty_database_url, actual) == [("ben", 2), ("cat", 2)]
    if empty_database_url.startswith("postgresql"):
        _execute(empty_database_url, "TRUNCATE task")
        assert _execute(empty_database_url, counts) == []
