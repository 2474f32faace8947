"""The item-count triggers of a `counted=True` resource, generated from its declaration.

Each owner's total lives in `item_count` (schemas/counter.py), kept by triggers on the
resource's table, so a list reads one row instead of counting the owner's items. The DDL
is generated here for any (resource, table, owner), for PostgreSQL and SQLite, so no
migration carries hand-written trigger SQL:

    create_count_triggers(op, resource="project", table="project", owner="user_id")
    drop_count_triggers(op, resource="project", table="project", owner="user_id")

The counts per facet value (`api.crud.facet_counting`) follow the same protocol
(`KeptCounts`), so what follows applies to both. `ensure_count_triggers` re-creates
missing ones (and recounts): migrations/env.py runs it for every counted resource after
migrating to head, because SQLite's batch mode rebuilds tables and a rebuilt table has
lost its triggers. `missing_count_triggers` is what the app checks at start-up
(api.main): a counted resource without them must not serve.
"""

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from api.db import database_error
from api.errors import ServiceUnavailable

log = logging.getLogger("todo_api")

# Interpolated into DDL unquoted (and the resource into a string literal), so only plain
# lowercase identifiers (checked here: the S608 exemptions below rest on it). PostgreSQL
# truncates names past 63 bytes; `_count_truncate` is 15.
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
MAX_RESOURCE_NAME = 48


class KeptCounts(Protocol):
    """Triggers that keep counts of a resource's rows, and how to rebuild the counts."""

    @property
    def resource(self) -> str: ...
    @property
    def table(self) -> str: ...

    def trigger_names(self, dialect: str) -> tuple[str, ...]: ...
    def create(self, dialect: str) -> list[str]: ...
    def drop(self, dialect: str, *, if_exists: bool = False) -> list[str]: ...
    def recount(self, dialect: str) -> list[str]:
        """The counts recomputed from the rows (a backfill, or a repair)."""
        ...

    def migration_call(self, *, create: bool) -> tuple[str, str]:
        """(import line, call) that creates or drops them in a migration."""
        ...


class CountingOps(Protocol):
    """What is used of Alembic's `op` (inside a migration)."""

    def execute(self, sqltext: Any) -> Any: ...

    def get_bind(self) -> Connection: ...


def is_identifier(name: str) -> bool:
    """A plain lowercase SQL identifier, safe to interpolate into DDL."""
    return bool(_IDENTIFIER.match(name))


def naming_problems(resource: str, table: str, owner: str) -> list[str]:
    """Why these names cannot be given count triggers (empty when they can)."""
    problems = [
        f"{role} {value!r} is not a plain lowercase SQL identifier"
        for role, value in (("name", resource), ("table", table), ("owner", owner))
        if not is_identifier(value)
    ]
    if len(resource) > MAX_RESOURCE_NAME:
        problems.append(f"name {resource!r} is longer than {MAX_RESOURCE_NAME} characters")
    return problems


@dataclass(frozen=True)
class CountTriggers:
    """The triggers (and PostgreSQL functions) that keep one resource's counts."""

    resource: str
    table: str
    owner: str

    def __post_init__(self) -> None:
        problems = naming_problems(self.resource, self.table, self.owner)
        if problems:
            raise ValueError(f"count triggers for {self.resource!r}: " + "; ".join(problems))

    def trigger_names(self, dialect: str) -> tuple[str, ...]:
        postgres = is_postgres(dialect)
        suffixes = ("rows", "moves", "truncate") if postgres else ("insert", "delete", "moves")
        return tuple(f"{self.resource}_count_{suffix}" for suffix in suffixes)

    def create(self, dialect: str) -> list[str]:
        return self._postgresql() if is_postgres(dialect) else self._sqlite()

    def drop(self, dialect: str, *, if_exists: bool = False) -> list[str]:
        maybe = "IF EXISTS " if if_exists else ""
        name, table = self.resource, self.table
        if not is_postgres(dialect):
            return [f"DROP TRIGGER {maybe}{name}_count_{s}" for s in ("moves", "delete", "insert")]
        return [
            *(f"DROP TRIGGER {maybe}{name}_count_{s} ON {table}" for s in ("truncate", "moves")),
            f"DROP TRIGGER {maybe}{name}_count_rows ON {table}",
            f"DROP FUNCTION {maybe}{name}_count_truncate()",
            f"DROP FUNCTION {maybe}{name}_count_rows()",
        ]

    def migration_call(self, *, create: bool) -> tuple[str, str]:
        verb = "create" if create else "drop"
        names = f'resource="{self.resource}", table="{self.table}", owner="{self.owner}"'
        return (
            "from api.crud.counting import create_count_triggers, drop_count_triggers",
            f"{verb}_count_triggers(op, {names})",
        )

    def recount(self, dialect: str) -> list[str]:
        return [
            f"DELETE FROM item_count WHERE resource = '{self.resource}'",  # noqa: S608
            "INSERT INTO item_count (resource, owner, total)"  # noqa: S608
            f" SELECT '{self.resource}', {self.owner}, count(*) FROM {self.table}"
            f" GROUP BY {self.owner}",
        ]

    def _add(self) -> str:
        return f"""INSERT INTO item_count (resource, owner, total) VALUES ('{self.resource}', NEW.{self.owner}, 1)
        ON CONFLICT (resource, owner) DO UPDATE SET total = item_count.total + 1"""  # noqa: E501, S608

    def _remove(self) -> str:
        return (
            f"UPDATE item_count SET total = total - 1"  # noqa: S608
            f" WHERE resource = '{self.resource}' AND owner = OLD.{self.owner}"
        )

    def _postgresql(self) -> list[str]:
        # TRUNCATE fires no row triggers: a statement trigger forgets the resource's counts.
        name, table, owner = self.resource, self.table, self.owner
        return [
            f"""CREATE FUNCTION {name}_count_rows() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP IN ('DELETE', 'UPDATE') THEN
            {self._remove()};
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
            {self._add()};
        END IF;
        RETURN NULL;
    END $$""",
            f"""CREATE FUNCTION {name}_count_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        DELETE FROM item_count WHERE resource = '{name}';
        RETURN NULL;
    END $$""",  # noqa: S608
            f"""CREATE TRIGGER {name}_count_rows AFTER INSERT OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION {name}_count_rows()""",
            f"""CREATE TRIGGER {name}_count_moves AFTER UPDATE OF {owner} ON {table}
    FOR EACH ROW WHEN (OLD.{owner} IS DISTINCT FROM NEW.{owner})
    EXECUTE FUNCTION {name}_count_rows()""",
            f"""CREATE TRIGGER {name}_count_truncate AFTER TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION {name}_count_truncate()""",
        ]

    def _sqlite(self) -> list[str]:
        name, table, owner = self.resource, self.table, self.owner
        add, remove = self._add(), self._remove()
        return [
            f"CREATE TRIGGER {name}_count_insert AFTER INSERT ON {table} BEGIN {add}; END",
            f"CREATE TRIGGER {name}_count_delete AFTER DELETE ON {table} BEGIN {remove}; END",
            f"""CREATE TRIGGER {name}_count_moves AFTER UPDATE OF {owner} ON {table}
    WHEN OLD.{owner} IS NOT NEW.{owner} BEGIN {remove}; {add}; END""",
        ]


def is_postgres(dialect: str) -> bool:
    """The dialect's trigger SQL: PostgreSQL's, or SQLite's (no others are supported)."""
    if dialect not in ("postgresql", "sqlite"):
        raise ValueError(f"count triggers exist for postgresql and sqlite, not {dialect!r}")
    return dialect == "postgresql"


def create_count_triggers(
    op: CountingOps | Connection, *, resource: str, table: str, owner: str, backfill: bool = True
) -> None:
    """Create the triggers (in a migration: pass `op`) and, with `backfill`, count the
    rows already in the table."""
    create_kept_counts(op, CountTriggers(resource, table, owner), backfill=backfill)


def drop_count_triggers(
    op: CountingOps | Connection, *, resource: str, table: str, owner: str
) -> None:
    """Drop the triggers (and functions); the resource's rows in `item_count` stay."""
    drop_kept_counts(op, CountTriggers(resource, table, owner))


def create_kept_counts(
    op: CountingOps | Connection, triggers: KeptCounts, *, backfill: bool = True
) -> None:
    dialect, execute = _executor(op)
    for statement in (*triggers.create(dialect), *(triggers.recount(dialect) if backfill else ())):
        execute(statement)


def drop_kept_counts(op: CountingOps | Connection, triggers: KeptCounts) -> None:
    dialect, execute = _executor(op)
    for statement in triggers.drop(dialect):
        execute(statement)


def missing_count_triggers(connection: Connection, triggers: KeptCounts) -> list[str]:
    """The names of the triggers missing on the resource's table; [] also when the table
    does not exist (nothing to count: the schema is not migrated)."""
    dialect = connection.dialect.name
    if is_postgres(dialect):
        query = (
            "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgrelid = to_regclass(:table)"
        )
        exists = "SELECT to_regclass(:table) IS NOT NULL"
    else:
        query = "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :table"
        exists = "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = :table"
    if not connection.execute(text(exists), {"table": triggers.table}).scalar():
        return []
    present = set(connection.execute(text(query), {"table": triggers.table}).scalars())
    return [name for name in triggers.trigger_names(dialect) if name not in present]


def ensure_count_triggers(connection: Connection, triggers: KeptCounts) -> bool:
    """Idempotent: when any trigger is missing, replace them all and recount the rows
    (changes made while they were missing were not counted). True when it did."""
    if not missing_count_triggers(connection, triggers):
        return False
    dialect = connection.dialect.name
    for statement in (*triggers.drop(dialect, if_exists=True), *triggers.create(dialect)):
        connection.execute(text(statement))
    for statement in triggers.recount(dialect):
        connection.execute(text(statement))
    return True


def _executor(op: CountingOps | Connection) -> tuple[str, Any]:
    if isinstance(op, Connection):
        return op.dialect.name, lambda statement: op.execute(text(statement))
    return op.get_bind().dialect.name, op.execute


class CountedResource(Protocol):
    """What is read of a declaration (api.crud.CrudResource)."""

    @property
    def name(self) -> str: ...
    @property
    def owner(self) -> str: ...
    @property
    def kept_counts(self) -> list[KeptCounts]: ...


class CountTriggersMissing(RuntimeError):
    """A counted resource's table has no count triggers: its totals would drift."""


def triggers_of(resources: Iterable[CountedResource]) -> list[KeptCounts]:
    """The count triggers the declarations call for."""
    return [triggers for resource in resources for triggers in resource.kept_counts]


async def require_count_triggers(engine: AsyncEngine, resources: Iterable[CountedResource]) -> None:
    """Refuse to start (CountTriggersMissing) when a counted resource's table lacks its
    triggers. A database that cannot be reached is not checked: the app starts and answers
    503 (readiness says so) until it can, as without this check."""
    wanted = triggers_of(resources)
    if not wanted:
        return
    try:
        async with engine.connect() as connection:
            missing = await connection.run_sync(
                lambda sync: [(t, missing_count_triggers(sync, t)) for t in wanted]
            )
    except SQLAlchemyError as exc:
        if not isinstance(database_error(exc), ServiceUnavailable):
            raise
        log.warning("count triggers not checked: the database is unavailable (%s)", type(exc))
        return
    for triggers, names in missing:
        if names:
            raise CountTriggersMissing(
                f"resource {triggers.resource!r} is counted (counted=True) but table"
                f" {triggers.table!r} lacks its count triggers ({', '.join(names)}), so its"
                " totals would drift. Fix: run `alembic upgrade head` (it re-creates them"
                " from the declarations), or declare the resource without counted=True."
            )
