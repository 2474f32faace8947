"""`CrudResource`: what a resource is, checked once when it is declared."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Boolean, Column, DateTime, Table
from sqlalchemy.types import TypeDecorator, TypeEngine

from api.crud.models import ApiModels, derive

_SERVER_OWNED = ("id", "created_at", "updated_at", "version")
_PAGE_FIELDS = ("count", "limit", "offset", "next_cursor")


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
    # {timestamp column: boolean field}: set to the time the field became true (kept while
    # it stays true), cleared when it becomes false. E.g. {"completed_at": "completed"}.
    stamps: Mapping[str, str] = field(default_factory=dict)
    # The owner's total is kept in `item_count` by triggers on the table (see migration
    # 0004): lists and the item cap read it instead of counting rows.
    counted: bool = False
    require_if_match: bool = False  # writes without `If-Match` get 428
    tags: tuple[str, ...] = field(default=())
    # {old name: field}: accepted on input, mirrored on output, published as deprecated.
    aliases: Mapping[str, str] = field(default_factory=dict)
    # The models the endpoints speak: the schemas plus aliases and PATCH's minimum.
    api: ApiModels = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        problems = list(self._problems())
        if problems:
            raise DeclarationError(f"resource {self.name!r}: " + "; ".join(problems))
        models = derive(
            create=self.create,
            replace=self.replace,
            patch=self.patch,
            read=self.read,
            page=self.page,
            plural=self.plural,
            aliases=self.aliases,
        )
        object.__setattr__(self, "api", models)

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
        if self.page.model_fields.keys() != {self.plural, *_PAGE_FIELDS}:
            yield f"page schema {self.page.__name__} must have {self.plural}, " + ", ".join(
                _PAGE_FIELDS
            )
        for name in self.sort:
            if name not in columns:
                yield f"sort field {name!r} is not a column"
        if self.default_sort.removeprefix("-") not in self.sort:
            yield f"default sort {self.default_sort!r} is not in sort"
        for name in self.search:
            if name not in columns:
                yield f"search field {name!r} is not a column"
        for name in self.filters:
            if name not in columns or not isinstance(storage_type(columns[name]), Boolean):
                yield f"filter {name!r} is not a boolean column"
        for stamp, flag in self.stamps.items():
            if stamp not in columns or not isinstance(storage_type(columns[stamp]), DateTime):
                yield f"stamp {stamp!r} is not a timestamp column"
            if flag not in columns or not isinstance(storage_type(columns[flag]), Boolean):
                yield f"stamp flag {flag!r} is not a boolean column"
            if flag not in self.create.model_fields:
                yield f"stamp flag {flag!r} is not a field of {self.create.__name__}"
        for alias, target in self.aliases.items():
            if alias in columns:
                yield f"alias {alias!r} is a column name"
            for role in ("create", "replace", "patch", "read"):
                schema = getattr(self, role)
                if target not in schema.model_fields:
                    yield f"alias {alias!r} names {target!r}, not a field of {schema.__name__}"


def storage_type(column: Column[Any]) -> TypeEngine[Any]:
    """The column's SQL type, seen through decorators such as SQLModel's AutoString."""
    column_type: TypeEngine[Any] = column.type
    return column_type.impl_instance if isinstance(column_type, TypeDecorator) else column_type
