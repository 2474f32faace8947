"""The per-value counts of a counted resource's facet, generated from its declaration.

A facet is a string-array column (`facets={"tags": "tags"}`). For each owner and each
value (lower-cased: the tag filter ignores case), `facet_count` (schemas/counter.py)
holds how many of the owner's items carry it, kept by triggers like the item counts
(api.crud.counting), so a list filtered by one tag reads its total in one row instead of
counting every match. The triggers fire only when an item with values comes or goes, or
its values or owner change (their WHEN clauses), so other writes pay nothing for them:

    create_facet_count_triggers(op, resource="task", table="task", owner="user_id", column="tags")
"""

from dataclasses import dataclass

from sqlalchemy.engine import Connection

from api.crud.counting import (
    CountingOps,
    create_kept_counts,
    drop_kept_counts,
    is_identifier,
    is_postgres,
    naming_problems,
)

# PostgreSQL truncates names past 63 bytes; the longest is `<resource>_<column>_facet_truncate`.
_MAX_NAME = 63 - len("__facet_truncate")


@dataclass(frozen=True)
class FacetCountTriggers:
    """The triggers (and PostgreSQL functions) that keep one facet's per-value counts."""

    resource: str
    table: str
    owner: str
    column: str

    def __post_init__(self) -> None:
        problems = naming_problems(self.resource, self.table, self.owner)
        if not is_identifier(self.column):
            problems.append(f"column {self.column!r} is not a plain lowercase SQL identifier")
        if len(self.resource) + len(self.column) > _MAX_NAME:
            problems.append(f"name and column together are longer than {_MAX_NAME} characters")
        if problems:
            raise ValueError(f"facet counts for {self.resource!r}: " + "; ".join(problems))

    @property
    def _prefix(self) -> str:
        return f"{self.resource}_{self.column}_facet"

    def trigger_names(self, dialect: str) -> tuple[str, ...]:
        suffixes = ["insert", "delete", "update"]
        if is_postgres(dialect):
            suffixes.append("truncate")
        return tuple(f"{self._prefix}_{suffix}" for suffix in suffixes)

    def create(self, dialect: str) -> list[str]:
        return self._postgresql() if is_postgres(dialect) else self._sqlite()

    def drop(self, dialect: str, *, if_exists: bool = False) -> list[str]:
        maybe = "IF EXISTS " if if_exists else ""
        names = self.trigger_names(dialect)
        if not is_postgres(dialect):
            return [f"DROP TRIGGER {maybe}{name}" for name in names]
        return [
            *(f"DROP TRIGGER {maybe}{name} ON {self.table}" for name in names),
            f"DROP FUNCTION {maybe}{self._prefix}_truncate()",
            f"DROP FUNCTION {maybe}{self._prefix}_rows()",
        ]

    def recount(self, dialect: str) -> list[str]:
        table, owner, column = self.table, self.owner, self.column
        # One count per item and value, whatever spellings of it the item holds.
        if is_postgres(dialect):
            values = f"SELECT DISTINCT id, {owner} AS owner, lower(v) AS value FROM {table}, unnest({column}) AS v"  # noqa: E501, S608
        else:
            values = f"SELECT DISTINCT {table}.id, {table}.{owner} AS owner, lower(v.value) AS value FROM {table}, json_each({table}.{column}) AS v"  # noqa: E501, S608
        return [
            f"DELETE FROM facet_count WHERE {self._key}",  # noqa: S608
            "INSERT INTO facet_count (resource, facet, owner, value, total)"  # noqa: S608
            f" SELECT '{self.resource}', '{column}', owner, value, count(*)"
            f" FROM ({values}) AS each_value GROUP BY owner, value",
        ]

    def migration_call(self, *, create: bool) -> tuple[str, str]:
        verb = "create" if create else "drop"
        names = (
            f'resource="{self.resource}", table="{self.table}", owner="{self.owner}",'
            f' column="{self.column}"'
        )
        return (
            "from api.crud.facet_counting import"
            " create_facet_count_triggers, drop_facet_count_triggers",
            f"{verb}_facet_count_triggers(op, {names})",
        )

    @property
    def _key(self) -> str:
        return f"resource = '{self.resource}' AND facet = '{self.column}'"

    def _add(self, source: str, value: str, *, ordered: bool) -> str:
        # In order on PostgreSQL, so two concurrent writes lock count rows in one order.
        order = " ORDER BY 4" if ordered else ""
        return f"""INSERT INTO facet_count (resource, facet, owner, value, total)
            SELECT DISTINCT '{self.resource}', '{self.column}', NEW.{self.owner}, lower({value}), 1
            FROM {source} WHERE true{order}
            ON CONFLICT (resource, facet, owner, value) DO UPDATE
            SET total = facet_count.total + 1"""  # noqa: S608

    def _remove(self, source: str, value: str) -> str:
        return f"""UPDATE facet_count SET total = total - 1
            WHERE {self._key} AND owner = OLD.{self.owner}
            AND value IN (SELECT lower({value}) FROM {source})"""  # noqa: S608

    def _changed(self, differ: str) -> str:
        owner, column = self.owner, self.column
        return f"OLD.{column} {differ} NEW.{column} OR OLD.{owner} {differ} NEW.{owner}"

    def _postgresql(self) -> list[str]:
        prefix, table, column = self._prefix, self.table, self.column
        add = self._add(f"unnest(NEW.{column}) AS v", "v", ordered=True)
        remove = self._remove(f"unnest(OLD.{column}) AS v", "v")
        return [
            f"""CREATE FUNCTION {prefix}_rows() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP IN ('DELETE', 'UPDATE') THEN
            {remove};
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
            {add};
        END IF;
        RETURN NULL;
    END $$""",
            f"""CREATE FUNCTION {prefix}_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        DELETE FROM facet_count WHERE {self._key};
        RETURN NULL;
    END $$""",  # noqa: S608
            f"""CREATE TRIGGER {prefix}_insert AFTER INSERT ON {table} FOR EACH ROW
    WHEN (cardinality(NEW.{column}) > 0) EXECUTE FUNCTION {prefix}_rows()""",
            f"""CREATE TRIGGER {prefix}_delete AFTER DELETE ON {table} FOR EACH ROW
    WHEN (cardinality(OLD.{column}) > 0) EXECUTE FUNCTION {prefix}_rows()""",
            f"""CREATE TRIGGER {prefix}_update AFTER UPDATE OF {column}, {self.owner} ON {table}
    FOR EACH ROW WHEN ({self._changed("IS DISTINCT FROM")}) EXECUTE FUNCTION {prefix}_rows()""",
            f"""CREATE TRIGGER {prefix}_truncate AFTER TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION {prefix}_truncate()""",
        ]

    def _sqlite(self) -> list[str]:
        prefix, table, column = self._prefix, self.table, self.column
        add = self._add(f"json_each(NEW.{column}) AS v", "v.value", ordered=False)
        remove = self._remove(f"json_each(OLD.{column}) AS v", "v.value")
        return [
            f"""CREATE TRIGGER {prefix}_insert AFTER INSERT ON {table}
    WHEN json_array_length(NEW.{column}) > 0 BEGIN {add}; END""",
            f"""CREATE TRIGGER {prefix}_delete AFTER DELETE ON {table}
    WHEN json_array_length(OLD.{column}) > 0 BEGIN {remove}; END""",
            f"""CREATE TRIGGER {prefix}_update AFTER UPDATE OF {column}, {self.owner} ON {table}
    WHEN {self._changed("IS NOT")} BEGIN {remove}; {add}; END""",
        ]


def create_facet_count_triggers(
    op: CountingOps | Connection,
    *,
    resource: str,
    table: str,
    owner: str,
    column: str,
    backfill: bool = True,
) -> None:
    """Create the triggers (in a migration: pass `op`) and, with `backfill`, count the
    values of the rows already in the table."""
    create_kept_counts(op, FacetCountTriggers(resource, table, owner, column), backfill=backfill)


def drop_facet_count_triggers(
    op: CountingOps | Connection, *, resource: str, table: str, owner: str, column: str
) -> None:
    """Drop the triggers (and functions); the facet's rows in `facet_count` stay."""
    drop_kept_counts(op, FacetCountTriggers(resource, table, owner, column))
