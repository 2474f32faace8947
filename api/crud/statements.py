"""SQL for a resource. Every statement is filtered by owner: other rows do not exist.

Statements are built once per shape (which fields, filters, sort...) with named
parameters and cached, so a request only picks one and supplies values. Parameters:
`k_owner`, `k_id`, `now`, `p_<column>` for written values, `v<n>` for `If-Match` versions,
`f_<column>` for filters, `search`, `limit`, `offset`, `after_key`/`after_id` (cursor),
`cap` (the names of the keys start with `k_`: a column may be called `id` or `key`).
"""

import functools
from typing import Any

from sqlalchemy import (
    BindParameter,
    Column,
    ColumnElement,
    DateTime,
    Select,
    String,
    bindparam,
    false,
    func,
    null,
    or_,
    select,
    tuple_,
)
from sqlalchemy import delete as sql_delete
from sqlalchemy import insert as sql_insert
from sqlalchemy import update as sql_update
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler

from api.crud.declaration import CrudResource, storage_type
from api.crud.store import Statement
from schemas.counter import ItemCount
from schemas.types import UTCDateTime

LIKE_ESCAPE = "/"
_COUNTS = ItemCount.__table__  # type: ignore[attr-defined]


def like_pattern(term: str) -> str:
    """`term` as a literal substring pattern: `%` and `_` match themselves."""
    for special in (LIKE_ESCAPE, "%", "_"):
        term = term.replace(special, LIKE_ESCAPE + special)
    return f"%{term}%"


class OwnedStatements:
    def __init__(self, resource: CrudResource) -> None:
        table = resource.sql_table
        self._resource = resource
        self._table = table
        self._id = table.c["id"]
        self._version = table.c["version"]
        self.read_columns = [_readable(table.c[name]) for name in resource.read.model_fields]
        self._now = bindparam("now", type_=UTCDateTime())
        self.get = Statement(select(*self.read_columns).where(self._owned(with_id=True)))
        self.version = Statement(select(self._version).where(self._owned(with_id=True)))

    def _owned(self, *, with_id: bool = False, versions: int | None = None) -> ColumnElement[bool]:
        """The one filter every statement starts from: rows of others do not exist."""
        condition = self._table.c[self._resource.owner] == bindparam("k_owner")
        if with_id:
            condition &= self._id == bindparam("k_id")
        if versions is not None:
            matches = [bindparam(f"v{n}", type_=self._version.type) for n in range(versions)]
            condition &= self._version.in_(matches) if matches else false()
        return condition

    def _matching(self, filters: tuple[str, ...], search: bool) -> list[ColumnElement[bool]]:
        conditions = [self._owned()]
        conditions += [self._table.c[name] == bindparam(f"f_{name}") for name in filters]
        if search:
            pattern = func.lower(bindparam("search", type_=String()))
            columns = (self._table.c[name] for name in self._resource.search)
            conditions.append(or_(*(func.lower(c).like(pattern, LIKE_ESCAPE) for c in columns)))
        return conditions

    def _total(self, filters: tuple[str, ...], search: bool) -> Select[Any]:
        """The number of matches: the trigger-kept count when nothing narrows the list
        (flat however many items there are), else counted from the owner's rows."""
        if self._resource.counted and not filters and not search:
            kept = select(_COUNTS.c.total).where(
                _COUNTS.c.resource == self._resource.name, _COUNTS.c.owner == bindparam("k_owner")
            )
            return select(func.coalesce(kept.scalar_subquery(), 0))
        matches = select(func.count()).select_from(self._table)
        # Never correlated with the page's own FROM: it counts all of the owner's matches.
        return matches.where(*self._matching(filters, search)).correlate(None)

    @functools.cache  # noqa: B019 (one instance per resource, kept for the app's life)
    def page(self, filters: tuple[str, ...], search: bool, sort: str, after: bool) -> Statement:
        """`limit` rows of a page and, on each, the total matching count. `after`: keyset
        pagination, the rows that sort after (`after_key`, `after_id`)."""
        key = self.sort_key(sort)
        total = self._total(filters, search).scalar_subquery().label("_total")
        stmt = select(*self.read_columns, total).where(*self._matching(filters, search))
        descending = sort.startswith("-")
        if after:
            column = self._table.c[sort.removeprefix("-")]
            bound: ColumnElement[Any] = bindparam("after_key", type_=column.type)
            if _is_text(column):
                bound = func.lower(bound)
            row = tuple_(key, self._id)
            bound_row = tuple_(bound, bindparam("after_id", type_=self._id.type))
            stmt = stmt.where(row < bound_row if descending else row > bound_row)
        order = [key.desc(), self._id.desc()] if descending else [key.asc(), self._id.asc()]
        limited = stmt.order_by(*order).limit(bindparam("limit")).offset(bindparam("offset"))
        return Statement(limited)

    @functools.cache  # noqa: B019
    def count(self, filters: tuple[str, ...], search: bool) -> Statement:
        return Statement(self._total(filters, search))

    def sort_key(self, sort: str) -> ColumnElement[Any]:
        column: ColumnElement[Any] = self._table.c[sort.removeprefix("-")]
        if _is_text(column):
            column = func.lower(column)  # people expect "apple" before "Banana"
        return column

    @functools.cache  # noqa: B019
    def insert(self, columns: tuple[str, ...], capped: bool) -> Statement:
        """Insert `p_<column>` values, unless (`capped`) the owner already has `cap`
        items, in one statement. Concurrent creates at the edge may overshoot by a few:
        the cap is a guard rail. RETURNING says whether a row went in."""
        values = {name: self._value(name) for name in columns}
        if not capped:
            return Statement(sql_insert(self._table).values(values).returning(self._id))
        row = select(*values.values()).where(
            self._total((), False).scalar_subquery() < bindparam("cap")
        )
        return Statement(
            sql_insert(self._table).from_select(list(columns), row).returning(self._id)
        )

    @functools.cache  # noqa: B019
    def update(
        self, fields: tuple[str, ...], stamps: tuple[tuple[str, bool], ...], versions: int | None
    ) -> Statement:
        """Set `p_<field>` values (`stamps`: timestamp columns set to `now` when their
        flag became true, kept if it already was, cleared when false) if the row is the
        owner's and, with `If-Match`, still at one of `versions`: check and write are
        one atomic statement."""
        values: dict[str, Any] = {name: self._value(name) for name in fields}
        for column, flag in stamps:
            values[column] = func.coalesce(self._table.c[column], self._now) if flag else null()
        values["updated_at"] = self._now
        values["version"] = self._version + 1
        return Statement(
            sql_update(self._table)
            .where(self._owned(with_id=True, versions=versions))
            .values(values)
            .returning(*self.read_columns)
        )

    @functools.cache  # noqa: B019
    def delete(self, versions: int | None) -> Statement:
        return Statement(
            sql_delete(self._table)
            .where(self._owned(with_id=True, versions=versions))
            .returning(self._id)
        )

    def _value(self, column: str) -> BindParameter[Any]:
        return bindparam(f"p_{column}", type_=self._table.c[column].type)


class _Rfc3339(ColumnElement[Any]):
    """A timestamp column as read: on PostgreSQL, rendered by the server as RFC 3339 text
    (six fraction digits, `Z`), which spares a Python call per timestamp of every page;
    elsewhere the column itself."""

    inherit_cache = True

    def __init__(self, column: Column[Any]) -> None:
        self.column = column
        self.type = column.type


@compiles(_Rfc3339)
def _plain(element: _Rfc3339, compiler: SQLCompiler, **kw: Any) -> str:
    return str(compiler.process(element.column, **kw))


@compiles(_Rfc3339, "postgresql")
def _as_text(element: _Rfc3339, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    return f"""to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""


def _readable(column: Column[Any]) -> ColumnElement[Any]:
    if isinstance(storage_type(column), DateTime):
        return _Rfc3339(column).label(column.name)
    return column


def _is_text(column: ColumnElement[Any]) -> bool:
    return isinstance(column, Column) and isinstance(storage_type(column), String)
