"""Item counts come from the declaration: generated triggers, re-created after SQLite
rebuilds them away, and an app whose counted resource lacks them refuses to start."""

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from api.crud import CrudResource, DeclarationError
from api.crud.counting import (
    CountTriggers,
    CountTriggersMissing,
    create_count_triggers,
    drop_count_triggers,
    ensure_count_triggers,
    missing_count_triggers,
)
from api.db import ROOT, alembic_config, migrate, normalize_url
from api.main import create_app
from api.resources import RESOURCES
from tests import throwaway
from tests.conftest import test_settings
from tests.support import serve
from tests.test_factory import NOTE, note_metadata
from tests.test_migrations import _execute, _task, empty_database_url  # noqa: F401

NOTES = CountTriggers("zz_test_note", "zz_test_note", "author")
COUNTS = "SELECT owner, total FROM item_count WHERE resource = :resource ORDER BY owner"


@pytest.fixture
def migrated_url(empty_database_url: str) -> str:  # noqa: F811 (the imported fixture)
    command.upgrade(alembic_config(empty_database_url), "head")
    return empty_database_url


@pytest.fixture
def sync_connection(migrated_url: str) -> Iterator[Connection]:
    """A connection to the migrated database, committed at the end; the throwaway note
    table exists meanwhile."""
    url = make_url(normalize_url(migrated_url))
    driver = "sqlite" if url.get_backend_name() == "sqlite" else "postgresql+psycopg"
    engine = create_engine(url.set(drivername=driver), poolclass=NullPool)
    throwaway.assert_disjoint(note_metadata)
    note_metadata.create_all(engine)
    try:
        with engine.begin() as connection:
            yield connection
    finally:
        note_metadata.drop_all(engine)
        engine.dispose()


def _note(connection: Connection, author: str) -> None:
    connection.exec_driver_sql(
        "INSERT INTO zz_test_note (id, author, body, pinned, created_at, updated_at, version)"  # noqa: S608
        f" VALUES ('{uuid.uuid4().hex}', '{author}', '{uuid.uuid4().hex}', false,"
        " '2026-01-01 00:00:00', '2026-01-01 00:00:00', 1)"
    )


def _counts(connection: Connection, resource: str) -> list[tuple[Any, ...]]:
    rows = connection.exec_driver_sql(COUNTS.replace(":resource", f"'{resource}'"))
    return [tuple(row) for row in rows]


def test_task_trigger_names_are_those_existing_databases_have() -> None:
    """Databases migrated before the DDL was generated carry these names."""
    task = CountTriggers("task", "task", "user_id")
    assert task.trigger_names("postgresql") == (
        "task_count_rows",
        "task_count_moves",
        "task_count_truncate",
    )
    assert task.trigger_names("sqlite") == (
        "task_count_insert",
        "task_count_delete",
        "task_count_moves",
    )


def test_helper_keeps_counts_for_any_table(sync_connection: Connection) -> None:
    conn = sync_connection
    _note(conn, "ann")  # before the triggers: counted by the backfill
    create_count_triggers(conn, resource=NOTES.resource, table=NOTES.table, owner=NOTES.owner)
    assert missing_count_triggers(conn, NOTES) == []
    for author in ("ann", "ben", "ben"):
        _note(conn, author)
    conn.exec_driver_sql("UPDATE zz_test_note SET author = 'cat' WHERE author = 'ann'")
    conn.exec_driver_sql("UPDATE zz_test_note SET body = 'x' || body WHERE author = 'ben'")
    assert _counts(conn, NOTES.resource) == [("ann", 0), ("ben", 2), ("cat", 2)]

    drop_count_triggers(conn, resource=NOTES.resource, table=NOTES.table, owner=NOTES.owner)
    dialect = conn.dialect.name
    assert missing_count_triggers(conn, NOTES) == list(NOTES.trigger_names(dialect))
    _note(conn, "dan")  # not counted while the triggers are gone
    assert ensure_count_triggers(conn, NOTES) is True  # re-created, and recounted
    assert _counts(conn, NOTES.resource) == [("ben", 2), ("cat", 2), ("dan", 1)]
    assert ensure_count_triggers(conn, NOTES) is False  # idempotent
    _note(conn, "dan")
    assert _counts(conn, NOTES.resource)[-1] == ("dan", 2)


@pytest.mark.parametrize(
    ("names", "problem"),
    [
        (("Note", "note", "author"), "name 'Note' is not a plain lowercase SQL identifier"),
        (("note", "note; drop", "author"), "table 'note; drop' is not a plain lowercase"),
        (("n" * 49, "note", "author"), "longer than 48 characters"),
    ],
    ids=["upper-case", "not-an-identifier", "too-long"],
)
def test_unusable_names_are_refused(names: tuple[str, str, str], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        CountTriggers(*names)


def test_counted_declaration_needs_usable_names() -> None:
    with pytest.raises(DeclarationError) as caught:
        CrudResource(**{**NOTE, "name": "zz-test-note", "counted": True})
    assert "counted: name 'zz-test-note' is not a plain lowercase SQL identifier" in str(
        caught.value
    )
    CrudResource(**{**NOTE, "name": "zz-test-note"})  # uncounted: any name will do


def _with_extra_migration(url: str, tmp_path: Path, upgrade: str) -> Config:
    """The project's migrations plus one more on top (in a copy), for `url`."""
    location = tmp_path / "migrations"
    shutil.copytree(ROOT / "migrations", location, ignore=shutil.ignore_patterns("__pycache__"))
    config = alembic_config(url)
    config.set_main_option("script_location", str(location))
    head = ScriptDirectory.from_config(config).get_current_head()
    (location / "versions" / "zz_test_rebuild.py").write_text(
        "import sqlalchemy as sa\nfrom alembic import op\n\n"
        f"revision = 'zz_test_rebuild'\ndown_revision = {head!r}\n"
        "branch_labels = None\ndepends_on = None\n\n\n"
        f"def upgrade() -> None:\n{upgrade}\n\n\ndef downgrade() -> None:\n    pass\n"
    )
    return config


def test_table_rebuilt_by_batch_mode_gets_its_triggers_back(
    empty_database_url: str,  # noqa: F811 (the imported fixture)
    tmp_path: Path,
) -> None:
    """SQLite's batch mode copies a table into a new one and drops the old one with its
    triggers; after the migration run, env.py re-creates them from the declarations and
    recounts what changed meanwhile. (On PostgreSQL nothing is rebuilt: the same holds.)"""
    url = empty_database_url
    command.upgrade(alembic_config(url), "0004")
    _execute(url, _task("ann"), _task("ann"), _task("ben"), _task("ben"))
    config = _with_extra_migration(
        url,
        tmp_path,
        '    with op.batch_alter_table("task", recreate="always") as batch:\n'
        '        batch.alter_column("title", existing_type=sa.String(200), nullable=False)\n'
        "    op.execute(\"DELETE FROM task WHERE user_id = 'ben'\")  # no trigger counts it\n",
    )
    command.upgrade(config, "head")
    counts = COUNTS.replace(":resource", "'task'")
    assert _execute(url, counts) == [("ann", 2)]
    _execute(url, "DELETE FROM task WHERE id IN (SELECT id FROM task LIMIT 1)")
    assert _execute(url, counts) == [("ann", 1)]  # the triggers are there again


async def test_counted_resource_without_triggers_refuses_to_start(
    migrated_url: str,
) -> None:
    engine = create_async_engine(normalize_url(migrated_url))
    await throwaway.create(engine, note_metadata)  # a table, but no count triggers
    counted = CrudResource(**{**NOTE, "counted": True})
    try:
        app = create_app(test_settings(migrated_url), (*RESOURCES, counted))
        with pytest.raises(CountTriggersMissing) as caught:
            async with serve(app):
                pass
        message = str(caught.value)
        assert "resource 'zz_test_note'" in message, message
        assert "zz_test_note_count_" in message, message
        assert "alembic upgrade head" in message, message
        async with serve(create_app(test_settings(migrated_url), (*RESOURCES, NOTE_UNCOUNTED))):
            pass  # the same table, not counted: nothing to keep
    finally:
        await throwaway.drop(engine, note_metadata)
        await engine.dispose()


NOTE_UNCOUNTED = CrudResource(**NOTE)


async def test_dropped_task_trigger_is_refused_or_restored(migrated_url: str) -> None:
    """PostgreSQL (migrated explicitly) refuses to start, naming the fix, which works;
    the embedded SQLite migrates itself at start-up, which re-creates the trigger."""
    postgresql = migrated_url.startswith("postgresql")
    trigger = "task_count_rows ON task" if postgresql else "task_count_insert"
    _execute(migrated_url, f"DROP TRIGGER {trigger}")
    settings = test_settings(migrated_url)
    if postgresql:
        with pytest.raises(CountTriggersMissing, match=r"resource 'task' .* \(task_count_rows\)"):
            async with serve(create_app(settings)):
                pass
        await migrate(migrated_url)  # `alembic upgrade head`: the fix the message names
    async with serve(create_app(settings)):
        pass
    task = CountTriggers("task", "task", "user_id")
    engine = create_async_engine(normalize_url(migrated_url))
    async with engine.connect() as connection:
        assert await connection.run_sync(missing_count_triggers, task) == []
    await engine.dispose()
