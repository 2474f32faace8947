"""A list filtered by one tag reads its total from counts kept per (owner, tag), generated
from the declaration (`facets` of a counted resource), and compares the tags' lower-cased
copy: the totals stay right through every kind of write, on both databases."""

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Column, Connection, MetaData, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from api.crud import CrudResource, DeclarationError
from api.crud.counting import CountTriggersMissing, ensure_count_triggers, missing_count_triggers
from api.crud.facet_counting import FacetCountTriggers
from api.crud.statements import OwnedStatements
from api.db import alembic_config, migrate, normalize_url
from api.main import create_app
from api.resources import tasks
from schemas.types import StringArray
from tests.conftest import test_settings
from tests.support import User, list_page, serve
from tests.test_factory import NOTE, note_table
from tests.test_migrations import _execute, empty_database_url  # noqa: F401
from tests.throwaway import PREFIX

TASK_TAGS = FacetCountTriggers("task", "task", "user_id", "tags")
KEPT = "SELECT owner, value, total FROM facet_count WHERE total > 0 ORDER BY owner, value"


async def _totals(user: User, tag: str) -> tuple[int, int]:
    """A one-tag list's total (the kept count) and how many tasks it really returns."""
    page = await list_page(user, tag=tag, limit=1000)
    return page["count"], len(page["tasks"])


async def test_one_tag_totals_follow_every_write(alice: User, bob: User) -> None:
    first = await alice.create(title="a", tags=["Work", "home"])
    second = await alice.create(title="b", tags=["work"])
    third = await alice.create(title="c", tags=["WORK", "x"])
    await bob.create(title="theirs", tags=["work"])
    assert await _totals(alice, "work") == (3, 3)
    assert await _totals(alice, "Home") == (1, 1)
    assert await _totals(alice, "nothing") == (0, 0)

    patched = await alice.request("PATCH", alice.url(item_id=first["id"]), json={"tags": ["home"]})
    assert patched.status_code == 200, patched.text
    assert await _totals(alice, "work") == (2, 2)
    replaced = await alice.request(
        "PUT", alice.url(item_id=second["id"]), json={"title": "b", "completed": False}
    )  # tags go back to their default: none
    assert replaced.status_code == 200, replaced.text
    assert await _totals(alice, "work") == (1, 1)
    toggled = await alice.request("PATCH", alice.url(item_id=third["id"]) + "/complete")
    assert toggled.status_code == 200, toggled.text
    assert await _totals(alice, "work") == (1, 1)  # a write that keeps the tags
    assert (await alice.request("DELETE", alice.url(item_id=third["id"]))).status_code == 204
    assert await _totals(alice, "work") == (0, 0)
    assert await _totals(alice, "home") == (1, 1)
    assert await _totals(bob, "work") == (1, 1)


async def test_several_tags_and_other_filters_still_count_the_matches(alice: User) -> None:
    await alice.create(title="a", tags=["Work", "home"], completed=True)
    await alice.create(title="b", tags=["work"])
    both = await list_page(alice, tag=["work", "HOME"])
    assert (both["count"], [t["title"] for t in both["tasks"]]) == (1, ["a"])
    pending = await list_page(alice, tag="work", status="pending")
    assert (pending["count"], [t["title"] for t in pending["tasks"]]) == (1, ["b"])
    searched = await list_page(alice, tag="work", search="a")
    assert searched["count"] == 1


def test_one_tag_reads_the_kept_count_and_pages_read_rows_in_order() -> None:
    statements = OwnedStatements(tasks)
    one = statements.page((("tag", "one"),), False, "-created_at", None).postgres()[0]
    several = statements.page((("tag", "all"),), False, "-created_at", None).postgres()[0]
    assert "facet_count" in one
    assert "facet_count" not in several
    assert "count(*)" in several
    # The page's rows test the array on each row read in order (no index); the count
    # of several tags keeps the indexable test.
    page_where = several.rsplit("WHERE", 1)[1]
    count_where = several.split("count(*)")[1].split("AS _total")[0]
    assert "coalesce(task.tags_folded" in page_where, page_where
    assert "coalesce" not in count_where, count_where


@contextmanager
def _connection(url: str) -> Iterator[Connection]:
    """A connection to the database at `url`, committed at the end."""
    sync_url = make_url(normalize_url(url))
    driver = "sqlite" if sync_url.get_backend_name() == "sqlite" else "postgresql+psycopg"
    engine = create_engine(sync_url.set(drivername=driver), poolclass=NullPool)
    try:
        with engine.begin() as conn:
            yield conn
    finally:
        engine.dispose()


def _missing(url: str) -> list[str]:
    with _connection(url) as conn:
        return missing_count_triggers(conn, TASK_TAGS)


def _spelled(values: list[str], postgres: bool) -> Any:
    """A list as the database takes it: an array, or JSON text on SQLite."""
    return values if postgres else json.dumps(values)


def _row(owner: str, tags: list[str], postgres: bool) -> tuple[str, dict[str, Any]]:
    folded = [tag.lower() for tag in tags]
    return (
        "INSERT INTO task (id, user_id, title, completed, created_at, updated_at, version,"
        " tags, tags_folded) VALUES (:id, :owner, 't', false, '2026-01-01 00:00:00',"
        " '2026-01-01 00:00:00', 1, :tags, :folded)",
        {
            "id": uuid.uuid4().hex,
            "owner": owner,
            "tags": _spelled(tags, postgres),
            "folded": _spelled(folded, postgres),
        },
    )


def test_triggers_keep_counts_through_moves_and_are_restored_with_a_recount(
    empty_database_url: str,  # noqa: F811 (the imported fixture)
) -> None:
    url = empty_database_url
    postgres = url.startswith("postgresql")
    command.upgrade(alembic_config(url), "head")
    retag = "UPDATE task SET tags = :tags, tags_folded = :folded WHERE user_id = 'ben'"
    _execute(
        url,
        _row("ann", ["A", "b"], postgres),
        _row("ann", ["a"], postgres),
        _row("ben", ["b"], postgres),
        (retag, {"tags": _spelled(["b", "C"], postgres), "folded": _spelled(["b", "c"], postgres)}),
        "UPDATE task SET user_id = 'cat' WHERE user_id = 'ben'",  # a move
        "UPDATE task SET title = 'renamed'",  # no trigger work
    )
    expected = [("ann", "a", 2), ("ann", "b", 1), ("cat", "b", 1), ("cat", "c", 1)]
    assert _execute(url, KEPT) == expected
    dialect = "postgresql" if postgres else "sqlite"
    trigger = TASK_TAGS.trigger_names(dialect)[0]
    _execute(url, f"DROP TRIGGER {trigger} ON task" if postgres else f"DROP TRIGGER {trigger}")
    _execute(url, _row("dan", ["d"], postgres))  # not counted while the trigger is gone
    assert ("dan", "d", 1) not in _execute(url, KEPT)
    assert _missing(url) == [trigger]
    with _connection(url) as conn:
        assert ensure_count_triggers(conn, TASK_TAGS) is True
    assert _missing(url) == []
    assert _execute(url, KEPT) == [*expected, ("dan", "d", 1)]
    _execute(url, "DELETE FROM task WHERE user_id = 'ann'")
    assert [row for row in _execute(url, KEPT) if row[0] == "ann"] == []
    if postgres:
        _execute(url, "TRUNCATE task")
        assert _execute(url, "SELECT count(*) FROM facet_count") == [(0,)]


def test_migration_fills_the_copy_and_the_counts(
    empty_database_url: str,  # noqa: F811 (the imported fixture)
) -> None:
    url = empty_database_url
    postgres = url.startswith("postgresql")
    config = alembic_config(url)
    command.upgrade(config, "0005")
    insert = (
        "INSERT INTO task (id, user_id, title, completed, created_at, updated_at, version, tags)"
        " VALUES (:id, 'ann', 't', false, '2026-01-01 00:00:00', '2026-01-01 00:00:00', 1, :tags)"
    )
    for tags in (["Work", "Home"], ["WORK"], []):
        _execute(url, (insert, {"id": uuid.uuid4().hex, "tags": _spelled(tags, postgres)}))
    command.upgrade(config, "head")
    assert _execute(url, KEPT) == [("ann", "home", 1), ("ann", "work", 2)]
    folded = _execute(url, "SELECT tags_folded FROM task ORDER BY tags_folded")
    spelled = [row[0] if postgres else json.loads(row[0]) for row in folded]
    assert sorted(spelled) == [[], ["work"], ["work", "home"]]
    command.downgrade(config, "0005")
    item_counts = "SELECT total FROM item_count WHERE resource = 'task'"
    _execute(url, (insert, {"id": uuid.uuid4().hex, "tags": _spelled([], postgres)}))
    assert _execute(url, item_counts) == [(4,)]  # the item count triggers survived


async def test_missing_tag_count_trigger_is_refused_or_restored(
    empty_database_url: str,  # noqa: F811 (the imported fixture)
) -> None:
    url = empty_database_url
    await migrate(url)
    postgres = url.startswith("postgresql")
    trigger = TASK_TAGS.trigger_names("postgresql" if postgres else "sqlite")[0]
    _execute(url, f"DROP TRIGGER {trigger} ON task" if postgres else f"DROP TRIGGER {trigger}")
    settings = test_settings(url)
    if postgres:
        with pytest.raises(CountTriggersMissing, match=rf"resource 'task' .*{trigger}"):
            async with serve(create_app(settings)):
                pass
        await migrate(url)  # the fix the message names
    async with serve(create_app(settings)):
        pass  # SQLite migrates itself at start-up, which restores it
    assert _execute(url, "SELECT count(*) FROM facet_count") == [(0,)]


def test_array_filter_without_a_folded_copy_is_refused() -> None:
    table = note_table.to_metadata(MetaData(), name=f"{PREFIX}labelled")
    table.append_column(Column("labels", StringArray(), nullable=False))
    with pytest.raises(DeclarationError, match=r"column 'labels' needs its lower-cased copy"):
        CrudResource(**{**NOTE, "table": table, "filters": {"label": "labels"}})
