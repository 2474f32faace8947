"""Column and field types shared by every resource: ids, UTC timestamps, safe text."""

import os
import re
import time
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field, PlainSerializer
from sqlalchemy import JSON, Column, DateTime, Table, Text
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine


def uuid7() -> uuid.UUID:
    """A time-ordered UUID (RFC 9562 v7), so new rows append to the primary-key index."""
    unix_ms = time.time_ns() // 1_000_000
    value = (unix_ms & 0xFFFF_FFFF_FFFF) << 80 | int.from_bytes(os.urandom(10))
    value = value & ~(0xF << 76) | 0x7 << 76  # version 7
    value = value & ~(0x3 << 62) | 0x2 << 62  # RFC 4122 variant
    return uuid.UUID(int=value)


def utc_now() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in, timezone-aware UTC out, on PostgreSQL and SQLite alike.

    SQLite has no timezone type and hands back naive values; they are stored as UTC,
    so the zone is restored on the way out.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def rfc3339(value: datetime) -> str:
    """UTC with `Z` and always six fraction digits, so the text sorts as the time does."""
    if value.utcoffset():
        value = value.astimezone(UTC)
    return value.isoformat(timespec="microseconds")[:26] + "Z"


UtcTimestamp = Annotated[
    datetime,
    PlainSerializer(rfc3339, return_type=str, when_used="json"),
    Field(json_schema_extra={"format": "date-time"}),
]
"""A timestamp rendered RFC 3339 with `Z`, whatever database it came from."""

# Control characters (C0, DEL, C1) never belong in user text. Titles are one line;
# descriptions may keep tabs and line breaks. The rules are `pattern`s, so they show in
# the OpenAPI schema and generated clients know them before sending.
_CONTROL = r"\x00-\x1f\x7f-\x9f"
_CONTROL_BUT_BREAKS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
_SURROUNDING = r"[\t\n\r ]*"  # white space that is stripped, tabs and line breaks included
ONE_LINE_VISIBLE = rf"^{_SURROUNDING}[^{_CONTROL}]*[^\s{_CONTROL}][^{_CONTROL}]*{_SURROUNDING}$"
"""One line with at least one visible character (surrounding white space is stripped)."""
MULTI_LINE = rf"^[^{_CONTROL_BUT_BREAKS}]*$"
"""Any text without control characters other than tab, LF and CR."""

PATTERN_MESSAGES: dict[str, str] = {}
"""What each published `pattern` means, in words: error messages never show a regex."""


def described(pattern: str, meaning: str) -> str:
    """`pattern`, registered with the sentence its validation errors say."""
    PATTERN_MESSAGES[pattern] = meaning
    return pattern


described(
    ONE_LINE_VISIBLE,
    "Must be one line with at least one visible character and no control characters.",
)
described(MULTI_LINE, "Must not contain control characters other than tabs and line breaks.")

strip = AfterValidator(str.strip)
"""Stored without surrounding white space (tabs and line breaks included). The length
limit counts the text as sent, so the published `maxLength` is exact."""


LOWER_ARRAY = "todo_lower_array"
"""PostgreSQL: text[] with each element lower-cased (migration 0005 creates it)."""
_FOLDS = "folds"  # `Column.info` key of a folded copy (see `folded`): the column it copies


class StringArray(TypeDecorator[list[str]]):
    """A list of strings: `text[]` on PostgreSQL (GIN-indexable), JSON on SQLite."""

    impl = JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.ARRAY(Text()))
        return dialect.type_descriptor(JSON())


def _utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00 is before year 1 in UTC
        raise ValueError("The time is out of range once converted to UTC.") from None


_RFC3339 = re.compile(r"^\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(\.\d{1,9})?([Zz]|[+-]\d\d:\d\d)$")


def _rfc3339_text(value: object) -> datetime:
    """Only RFC 3339 text, parsed here: no Unix numbers, no dates without a time (pydantic's
    lax parsing would take `0.5` in a query string as a time)."""
    if not isinstance(value, str) or not _RFC3339.match(value):
        raise ValueError("Must be an RFC 3339 time with an offset, e.g. `2026-12-24T18:00:00Z`.")
    return datetime.fromisoformat(value.upper())


TimeWithOffset = Annotated[AwareDatetime, BeforeValidator(_rfc3339_text), AfterValidator(_utc)]
"""An RFC 3339 time with an offset (`Z` or `+02:00`), kept as UTC; a naive time is refused."""


def _unique_ignoring_case(values: list[str]) -> list[str]:
    seen: set[str] = set()
    kept = []
    for value in values:
        key = value.lower()
        if key not in seen:
            seen.add(key)
            kept.append(value)
    return kept


LABEL_MAX = 50
Label = Annotated[str, Field(min_length=1, max_length=LABEL_MAX, pattern=ONE_LINE_VISIBLE), strip]
"""A tag: one line of visible characters, trimmed (the limit counts what is sent)."""
LABELS_MAX = 20
Labels = Annotated[list[Label], Field(max_length=LABELS_MAX), AfterValidator(_unique_ignoring_case)]
"""Tags: duplicates that differ only in case are dropped, keeping the first spelling and
the order."""


def folded(of: str) -> "Column[list[str]]":
    """`<of>_folded`: the string array column `of` with each value lower-cased, which
    filters that ignore case compare as it is (no function call per row) and an index can
    serve (GIN on PostgreSQL). The factory writes it with `of`, in the same statement; it
    is never read. (Not a generated column: SQLite's batch migrations copy every column,
    and a generated one refuses the copy.)"""
    return Column(f"{of}_folded", StringArray(), nullable=False, info={_FOLDS: of})


def folded_copies(table: Table) -> dict[str, str]:
    """{string array column: its lower-cased copy} of the table's `folded` columns."""
    return {column.info[_FOLDS]: column.name for column in table.columns if _FOLDS in column.info}
