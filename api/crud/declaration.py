"""`CrudResource`: what a resource is, checked once when it is declared."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Boolean, Table

Derive = Callable[[Mapping[str, Any], datetime, Table | None], Mapping[str, Any]]
"""Columns computed from the written fields: (fields, now, table on update / None on
insert) -> extra column values, which may be SQL expressions over the current row."""

_SERVER_OWNED = ("id", "created_at", "updated_at", "version")


class DeclarationError(ValueError):
    """A resource declaration is inconsistent; raised at import time, never per request."""


@dataclass(frozen=True, kw_only=True)
class CrudResource:
    """One resource type. The table needs `id`, `created_at`, `updated_at`, `version`
    (optimistic concurrency) and the owner column."""

    name: str  # singular, e.g. "task": operation ids and messages
    plural: str  # e.g. "tasks": path segment and the list key of `page`
    table: Table | type[Any]  # a Table, or a mapped class (SQLModel) that has one
    owner: str
    create: type[BaseModel]
    replace: type[BaseModel]
    patch: type[BaseModel]
    read: type[BaseModel]
    page: type[BaseModel]
    sort: tuple[str, ...]
    default_sort: str
    search: tuple[str, ...] = ()
    filters: tuple[str, ...] = ()
    derive: Derive | None = None
    require_if_match: bool = False  # writes without `If-Match` get 428
    tags: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        problems = list(self._problems())
        if problems:
            raise DeclarationError(f"resource {self.name!r}: " + "; ".join(problems))

    @property
    def sql_table(self) -> Table:
        table = (
            self.table if isinstance(self.table, Table) else getattr(self.table, "__table__", None)
        )
        if not isinstance(table, Table):
            raise DeclarationError(f"resource {self.name!r}: {self.table!r} is not a table")
        return table

    @property
    def item_id(self) -> str:
        return f"{self.name}_id"

    def _problems(self) -> Any:
        columns = self.sql_table.columns
        for required in (*_SERVER_OWNED, self.owner):
            if required not in columns:
                yield f"table has no {required!r} column"
        for role in ("create", "replace", "patch"):
            schema: type[BaseModel] = getattr(self, role)
            exposed = set(schema.model_fields) & {*_SERVER_OWNED, self.owner}
            if exposed:
                yield f"{role} schema {schema.__name__} exposes server-owned {sorted(exposed)}"
            if schema.model_config.get("extra") != "forbid":
                yield f"{role} schema {schema.__name__} must forbid unknown fields"
            unknown = set(schema.model_fields) - set(columns.keys())
            if unknown:
                yield f"{role} schema {schema.__name__} has fields with no column {sorted(unknown)}"
        if "version" not in self.read.model_fields:
            yield f"read schema {self.read.__name__} must include version (for ETags)"
        missing = set(self.read.model_fields) - set(columns.keys())
        if missing:
            yield f"read schema {self.read.__name__} has fields without columns {sorted(missing)}"
        if self.page.model_fields.keys() != {self.plural, "count", "limit", "offset"}:
            yield f"page schema {self.page.__name__} must have {self.plural}, count, limit, offset"
        for name in self.sort:
            if name not in columns:
                yield f"sort field {name!r} is not a column"
        if self.default_sort.removeprefix("-") not in self.sort:
            yield f"default sort {self.default_sort!r} is not in sort"
        for name in self.search:
            if name not in columns:
                yield f"search field {name!r} is not a column"
        for name in self.filters:
            if name not in columns or not isinstance(columns[name].type, Boolean):
                yield f"filter {name!r} is not a boolean column"
