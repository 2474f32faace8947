"""`CrudResource`: what a resource is, checked once when it is declared."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Boolean, DateTime, Float, Integer, String, Table

from api.crud.counting import CountTriggers, KeptCounts, naming_problems
from api.crud.expressions import storage_type
from api.crud.facet_counting import FacetCountTriggers
from api.crud.filters import ListFilter, filters_for
from api.crud.models import ApiModels, derive
from schemas.types import StringArray

_SERVER_OWNED = ("id", "created_at", "updated_at", "version")
_PAGE_FIELDS = ("count", "limit", "offset", "next_cursor")
KEYSET_KINDS = (String, DateTime, Boolean, Integer, Float)  # what a cursor can carry


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
    # Query filters by column kind (api.crud.filters): column names, or {parameter: column}
    # where the parameter is named otherwise (e.g. {"tag": "tags"}).
    filters: tuple[str, ...] | Mapping[str, str] = ()
    status: str | None = None  # `status=all|pending|completed` over this boolean column
    overdue: tuple[str, str] | None = None  # (due time, done flag): `overdue=true|false`
    # {column: resource}: the column names one of the caller's own items of that resource.
    references: Mapping[str, "CrudResource"] = field(default_factory=dict)
    # {action: boolean column}: `PATCH …/{id}/{action}` toggles it, or sets `{column: b}`.
    toggles: Mapping[str, str] = field(default_factory=dict)
    # {path: array column}: `GET /api/{user_id}/{path}` lists the distinct values, counted.
    facets: Mapping[str, str] = field(default_factory=dict)
    # {timestamp column: boolean field}: set to the time the field became true (kept while
    # it stays true), cleared when it becomes false. E.g. {"completed_at": "completed"}.
    stamps: Mapping[str, str] = field(default_factory=dict)
    # The owner's total is kept in `item_count` by triggers on the table (see migration
    # 0004): lists and the item cap read it instead of counting rows. The facets' values
    # are counted too (`facet_count`): a list filtered by one value reads its total there.
    counted: bool = False
    require_if_match: bool = False  # writes without `If-Match` get 428
    tags: tuple[str, ...] = field(default=())
    # {old name: field}: accepted on input, mirrored on output, published as deprecated.
    aliases: Mapping[str, str] = field(default_factory=dict)
    # The models the endpoints speak: the schemas plus aliases and PATCH's minimum.
    api: ApiModels = field(init=False, repr=False, compare=False)
    list_filters: tuple[ListFilter, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        problems = list(self._problems())
        if not problems:
            try:
                found = filters_for(
                    self.sql_table, self.filter_columns, status=self.status, overdue=self.overdue
                )
                object.__setattr__(self, "list_filters", found)
            except (KeyError, TypeError) as exc:
                problems.append(f"filter: {exc}")
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
    def filter_columns(self) -> dict[str, str]:
        """{parameter: column} of the declared filters."""
        if isinstance(self.filters, Mapping):
            return dict(self.filters)
        return {name: name for name in self.filters}

    @property
    def sql_table(self) -> Table:
        table = (
            self.table if isinstance(self.table, Table) else getattr(self.table, "__table__", None)
        )
        if not isinstance(table, Table):
            raise DeclarationError(f"resource {self.name!r}: {self.table!r} is not a table")
        return table

    @property
    def kept_facets(self) -> tuple[str, ...]:
        """The facet columns whose per-value counts are kept: a counted resource's."""
        return tuple(dict.fromkeys(self.facets.values())) if self.counted else ()

    @property
    def kept_counts(self) -> list[KeptCounts]:
        """The count triggers the declaration calls for (api.crud.counting)."""
        if not self.counted:
            return []
        table, owner = self.sql_table.name, self.owner
        return [
            CountTriggers(self.name, table, owner),
            *(FacetCountTriggers(self.name, table, owner, column) for column in self.kept_facets),
        ]

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
            elif not isinstance(storage_type(columns[name]), KEYSET_KINDS):
                yield f"sort field {name!r} cannot be keyset-paged (type {columns[name].type})"
        if self.default_sort.removeprefix("-") not in self.sort:
            yield f"default sort {self.default_sort!r} is not in sort"
        for name in self.search:
            if name not in columns:
                yield f"search field {name!r} is not a column"
        for name in self.filter_columns.values():
            if name not in columns:
                yield f"filter {name!r} is not a column"
        yield from self._kind_problems(columns)
        for stamp, flag in self.stamps.items():
            if stamp not in columns or not isinstance(storage_type(columns[stamp]), DateTime):
                yield f"stamp {stamp!r} is not a timestamp column"
            if flag not in columns or not isinstance(storage_type(columns[flag]), Boolean):
                yield f"stamp flag {flag!r} is not a boolean column"
            if flag not in self.create.model_fields:
                yield f"stamp flag {flag!r} is not a field of {self.create.__name__}"
        if self.counted:  # its names go into generated trigger DDL (api.crud.counting)
            table = self.sql_table.name
            yield from (f"counted: {p}" for p in naming_problems(self.name, table, self.owner))
            for column in self.facets.values():
                try:
                    FacetCountTriggers(self.name, table, self.owner, column)
                except ValueError as exc:
                    yield f"counted: {exc}"
        for alias, target in self.aliases.items():
            if alias in columns:
                yield f"alias {alias!r} is a column name"
            for role in ("create", "replace", "patch", "read"):
                schema = getattr(self, role)
                if target not in schema.model_fields:
                    yield f"alias {alias!r} names {target!r}, not a field of {schema.__name__}"

    def _kind_problems(self, columns: Any) -> Any:
        def is_kind(name: str, kind: type[Any] | tuple[type[Any], ...]) -> bool:
            return name in columns and isinstance(storage_type(columns[name]), kind)

        if self.status is not None and not is_kind(self.status, Boolean):
            yield f"status {self.status!r} is not a boolean column"
        if self.overdue is not None:
            due, done = self.overdue
            if not is_kind(due, DateTime) or not is_kind(done, Boolean):
                yield f"overdue {self.overdue!r} is not (timestamp column, boolean column)"
        for column, target in self.references.items():
            keys = (
                {fk.column.table.name for fk in columns[column].foreign_keys}
                if (column in columns)
                else set()
            )
            if target.sql_table.name not in keys:
                yield f"reference {column!r} has no foreign key to {target.sql_table.name!r}"
            if column not in self.create.model_fields:
                yield f"reference {column!r} is not a field of {self.create.__name__}"
        for action, flag in self.toggles.items():
            if not is_kind(flag, Boolean) or flag not in self.create.model_fields:
                yield f"toggle {action!r}: {flag!r} is not a boolean field"
        for path, column in self.facets.items():
            if column not in columns or not isinstance(columns[column].type, StringArray):
                yield f"facet {path!r}: {column!r} is not a string-array column"
