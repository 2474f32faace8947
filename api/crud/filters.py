"""List filters, one kind per kind of column, declared by name: never hand-written SQL.

| column kind | query parameters |
|---|---|
| boolean | `name=true|false` |
| enum | `name=` repeatable: any of |
| string array | `name=` repeatable: all of, ignoring case (needs a `folded` copy) |
| timestamp | `name_before=`, `name_after=` (RFC 3339 with an offset; exclusive) |
| reference | `name=<id>` or `name=none` |

plus, when declared, `status=all|pending|completed` over a boolean flag and
`overdue=true|false` over a due time and a done flag.
Each filter contributes its query fields, and when a request uses it, a variant name
and values for one condition (statements are cached per set of variants).
"""

import uuid
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field
from sqlalchemy import (
    BindParameter,
    Boolean,
    Column,
    ColumnElement,
    DateTime,
    Enum,
    Table,
    Uuid,
    bindparam,
    or_,
)

from api.crud.expressions import AnyOf, ContainsAll, list_param, storage_type
from schemas.types import (
    Label,
    StringArray,
    TimeWithOffset,
    UTCDateTime,
    described,
    folded_copies,
    utc_now,
)

MAX_VALUES = 20  # repeatable parameters: values per request
REFERENCE_OR_NONE = described(
    r"^(none|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$",
    "Must be an id, or `none` for items without one.",
)
Variant = tuple[str, dict[str, Any]]  # (shape name, bound values)
TrueOrFalse = Literal["true", "false"]


class ListFilter(Protocol):
    @property
    def name(self) -> str: ...

    def query_fields(self) -> dict[str, Any]:
        """The query parameters it reads: {name: (type, Field)}."""
        ...

    def use(self, query: BaseModel) -> Variant | None:
        """None when the request does not use it."""
        ...

    def condition(self, table: Table, variant: str) -> ColumnElement[bool]: ...


def _param(name: str) -> str:
    return f"f_{name}"


@dataclass(frozen=True)
class BooleanFilter:
    name: str
    column: str

    def query_fields(self) -> dict[str, Any]:
        described_as = f"Only items whose {self.column} is this."
        return {self.name: (TrueOrFalse | None, Field(None, description=described_as))}

    def use(self, query: BaseModel) -> Variant | None:
        value = getattr(query, self.name)
        return None if value is None else ("", {_param(self.name): value == "true"})

    def condition(self, table: Table, variant: str) -> ColumnElement[bool]:
        return table.c[self.column] == bindparam(_param(self.name))


@dataclass(frozen=True)
class StatusFilter(BooleanFilter):
    """`status=pending|completed` over a boolean flag; `all` (the default) filters nothing."""

    def query_fields(self) -> dict[str, Any]:
        kind = Literal["all", "pending", "completed"]
        return {self.name: (kind, Field("all", description=f"By {self.column}."))}

    def use(self, query: BaseModel) -> Variant | None:
        value = getattr(query, self.name)
        return None if value == "all" else ("", {_param(self.name): value == "completed"})


@dataclass(frozen=True)
class AnyOfFilter:
    name: str
    column: str
    values: tuple[str, ...]

    def query_fields(self) -> dict[str, Any]:
        kind = list[Literal.__getitem__(self.values)] | None  # type: ignore[misc,valid-type]
        text = f"Any of these {self.column} values (repeat the parameter)."
        return {self.name: (kind, Field(None, max_length=MAX_VALUES, description=text))}

    def use(self, query: BaseModel) -> Variant | None:
        values = getattr(query, self.name)
        return None if not values else ("", {_param(self.name): sorted(set(values))})

    def condition(self, table: Table, variant: str) -> ColumnElement[bool]:
        return AnyOf(table.c[self.column], list_param(_param(self.name)))


@dataclass(frozen=True)
class AllOfFilter:
    """Items whose array holds every value, ignoring case: compared on the column's
    lower-cased copy (`folded`). One value is its own variant: its total can be read
    from the kept per-value counts (api.crud.facet_counting)."""

    name: str
    column: str
    folded: str

    def query_fields(self) -> dict[str, Any]:
        text = f"Items with every one of these {self.column}, ignoring case (repeatable)."
        field = Field(None, max_length=MAX_VALUES, description=text)
        return {self.name: (list[Label] | None, field)}

    def use(self, query: BaseModel) -> Variant | None:
        values = getattr(query, self.name)
        wanted = sorted({value.lower() for value in values or ()})
        if not wanted:
            return None
        return ("one" if len(wanted) == 1 else "all", {_param(self.name): wanted})

    def condition(self, table: Table, variant: str) -> ColumnElement[bool]:
        return ContainsAll(table.c[self.folded], self.values_param())

    def values_param(self) -> BindParameter[Any]:
        return list_param(_param(self.name))


@dataclass(frozen=True)
class TimeBoundFilter:
    name: str  # e.g. due_before
    column: str
    before: bool

    def query_fields(self) -> dict[str, Any]:
        edge = "before" if self.before else "after"
        text = f"Only items whose {self.column} is strictly {edge} this time."
        return {self.name: (TimeWithOffset | None, Field(None, description=text))}

    def use(self, query: BaseModel) -> Variant | None:
        value = getattr(query, self.name)
        return None if value is None else ("", {_param(self.name): value})

    def condition(self, table: Table, variant: str) -> ColumnElement[bool]:
        bound = bindparam(_param(self.name), type_=UTCDateTime())
        column = table.c[self.column]
        return column < bound if self.before else column > bound


@dataclass(frozen=True)
class ReferenceFilter:
    name: str
    column: str

    def query_fields(self) -> dict[str, Any]:
        text = f"Only items in this {self.column.removesuffix('_id')}, or `none` for none."
        return {self.name: (str | None, Field(None, pattern=REFERENCE_OR_NONE, description=text))}

    def use(self, query: BaseModel) -> Variant | None:
        value = getattr(query, self.name)
        if value is None:
            return None
        if value == "none":
            return ("none", {})
        return ("id", {_param(self.name): uuid.UUID(value)})

    def condition(self, table: Table, variant: str) -> ColumnElement[bool]:
        column = table.c[self.column]
        if variant == "none":
            return column.is_(None)
        return column == bindparam(_param(self.name), type_=column.type)


@dataclass(frozen=True)
class OverdueFilter:
    """`overdue=true`: due in the past and not done; `false`: the others."""

    due: str
    done: str
    name: str = "overdue"

    def query_fields(self) -> dict[str, Any]:
        text = f"Whether {self.due} has passed while {self.done} is false."
        return {self.name: (TrueOrFalse | None, Field(None, description=text))}

    def use(self, query: BaseModel) -> Variant | None:
        value = getattr(query, self.name)
        return None if value is None else (value, {"now": utc_now()})

    def condition(self, table: Table, variant: str) -> ColumnElement[bool]:
        due, done = table.c[self.due], table.c[self.done]
        late = (due < bindparam("now", type_=UTCDateTime())) & (done == False)  # noqa: E712
        return late if variant == "true" else or_(due.is_(None), ~late)


def filters_for(
    table: Table,
    declared: dict[str, str],
    *,
    status: str | None = None,
    overdue: tuple[str, str] | None = None,
) -> tuple[ListFilter, ...]:
    """The filters of a declaration ({parameter: column}), each by its column's kind."""
    found: list[ListFilter] = []
    for name, column_name in declared.items():
        found += _by_kind(name, table, table.c[column_name])
    if status is not None:
        found.append(StatusFilter("status", status))
    if overdue is not None:
        found.append(OverdueFilter(*overdue))
    return tuple(found)


def _by_kind(name: str, table: Table, column: Column[Any]) -> list[ListFilter]:
    kind = storage_type(column)
    if isinstance(column.type, StringArray):
        copy = folded_copies(table).get(column.name)
        if copy is None:
            raise TypeError(
                f"array filter {name!r} ignores case, so column {column.name!r} needs its"
                f" lower-cased copy: a column `folded({column.name!r})` (schemas.types)"
            )
        return [AllOfFilter(name, column.name, copy)]
    if isinstance(kind, Boolean):
        return [BooleanFilter(name, column.name)]
    if isinstance(kind, Enum):
        return [AnyOfFilter(name, column.name, tuple(kind.enums))]
    if isinstance(kind, DateTime):
        return [
            TimeBoundFilter(f"{name}_before", column.name, before=True),
            TimeBoundFilter(f"{name}_after", column.name, before=False),
        ]
    if isinstance(kind, Uuid):
        return [ReferenceFilter(name, column.name)]
    raise TypeError(f"no filter for column {column.name!r} of type {column.type!r}")
