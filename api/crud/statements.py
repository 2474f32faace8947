"""SQL for a resource. Every statement is filtered by owner: other rows do not exist.

Statements are built once per shape (which fields, filters, sort...) with named
parameters and cached (bounded), so a request only picks one and supplies values.
Parameters: `k_owner`, `k_id`, `k_versions` (the `If-Match` versions, one list whatever
its length), `now`, `p_<column>` for written values, `f_<name>` for filters, `search`,
`limit`, `offset`, `after_key`/`after_id` (cursor), `cap` (the names of the keys start
with `k_`: a column may be called `id` or `key`).
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
    and_,
    bindparam,
    case,
    exists,
    false,
    func,
    literal,
    null,
    or_,
    select,
    true,
    tuple_,
)
from sqlalchemy import delete as sql_delete
from sqlalchemy import insert as sql_insert
from sqlalchemy import update as sql_update
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler

from api.crud.declaration import CrudResource
from api.crud.expressions import AnyOf, LowerCased, int_list_param, ranked, storage_type
from api.crud.filters import AllOfFilter
from api.crud.store import Statement
from schemas.counter import FacetCount, ItemCount
from schemas.types import UTCDateTime, folded_copies

LIKE_ESCAPE = "/"
SHAPES_PER_KIND = 512  # statements kept per kind of statement and resource
_COUNTS = ItemCount.__table__  # type: ignore[attr-defined]
_FACETS = FacetCount.__table__  # type: ignore[attr-defined]
FilterShape = tuple[tuple[str, str], ...]  # (filter name, variant) of the filters in use
shapes = functools.lru_cache(maxsize=SHAPES_PER_KIND)


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
        self._filters = {f.name: f for f in resource.list_filters}
        self._folded = folded_copies(table)  # {array column: its lower-cased copy}
        self.read_columns = [_readable(table.c[name]) for name in resource.read.model_fields]
        self._now = bindparam("now", type_=UTCDateTime())
        self.get = Statement(select(*self.read_columns).where(self._owned(with_id=True)))
        self.version = Statement(select(self._version).where(self._owned(with_id=True)))
        self.references = {
            column: self._reference_check(column, target.sql_table, target.owner)
            for column, target in resource.references.items()
        }

    def _owned(self, *, with_id: bool = False, versions: bool = False) -> ColumnElement[bool]:
        """The one filter every statement starts from: rows of others do not exist."""
        condition = self._table.c[self._resource.owner] == bindparam("k_owner")
        if with_id:
            condition &= self._id == bindparam("k_id")
        if versions:
            condition &= AnyOf(self._version, int_list_param("k_versions"))
        return condition

    def _reference_check(self, column: str, target: Any, owner: str) -> ColumnElement[bool]:
        """`p_<column>` is null, or names an item of the caller's in the target table."""
        value = self._value(column)
        owned = exists().where(target.c["id"] == value, target.c[owner] == bindparam("k_owner"))
        return or_(value.is_(None), owned)

    def _matching(
        self, filters: FilterShape, search: bool, *, in_order: bool = False
    ) -> list[ColumnElement[bool]]:
        """The rows of the owner that match. `in_order`: for a page, which reads the
        owner's rows in sort order until it has enough. An array filter is then written so
        that the planner neither uses its (GIN) index nor counts on it to match almost
        nothing: a prepared statement's plan, made for no values in particular, otherwise
        fetches every match of a common tag and sorts them all (14-20 ms for one tag on
        3,643 of 10,000 tasks, against 0.4 ms in order). The price: a tag on few of many
        items reads the owner's rows, as a search does (8.5 ms for 10,000). Counts keep
        the index."""
        conditions = [self._owned()]
        for name, variant in filters:
            condition = self._filters[name].condition(self._table, variant)
            if in_order and isinstance(self._filters[name], AllOfFilter):
                condition = func.coalesce(condition, false())  # the same test, unestimated
            conditions.append(condition)
        if search:
            pattern = func.lower(bindparam("search", type_=String()))
            columns = (self._table.c[name] for name in self._resource.search)
            conditions.append(or_(*(func.lower(c).like(pattern, LIKE_ESCAPE) for c in columns)))
        return conditions

    def _total(self, filters: FilterShape, search: bool) -> Select[Any]:
        """The number of matches: a trigger-kept count when nothing narrows the list, or
        only one value of a counted facet does (flat however many items match), else
        counted from the owner's rows."""
        owned: BindParameter[str] = bindparam("k_owner")
        if self._resource.counted and not filters and not search:
            kept = select(_COUNTS.c.total).where(
                _COUNTS.c.resource == self._resource.name, _COUNTS.c.owner == owned
            )
            return select(func.coalesce(kept.scalar_subquery(), 0))
        facet = self._counted_facet(filters) if not search else None
        if facet is not None:
            kept = select(_FACETS.c.total).where(
                _FACETS.c.resource == self._resource.name,
                _FACETS.c.facet == facet.column,
                _FACETS.c.owner == owned,
                AnyOf(_FACETS.c.value, facet.values_param()),  # the one value, lower-cased
            )
            return select(func.coalesce(kept.scalar_subquery(), 0))
        matches = select(func.count()).select_from(self._table)
        # Never correlated with the page's own FROM: it counts all of the owner's matches.
        return matches.where(*self._matching(filters, search)).correlate(None)

    def _counted_facet(self, filters: FilterShape) -> AllOfFilter | None:
        """The filter, when the only one is a single value of a facet with kept counts."""
        if len(filters) != 1 or not self._resource.counted:
            return None
        ((name, variant),) = filters
        found = self._filters[name]
        if isinstance(found, AllOfFilter) and variant == "one":
            return found if found.column in self._resource.kept_facets else None
        return None

    @shapes
    def page(self, filters: FilterShape, search: bool, sort: str, after: str | None) -> Statement:
        """`limit` rows of a page and, on each, the total matching count. `after`: keyset
        pagination, the rows that sort after (`after_key`, `after_id`); "null" when the
        cursor's key is null (nullable sorts put those last, both ways)."""
        name, descending = sort.removeprefix("-"), sort.startswith("-")
        column = self._table.c[name]
        key = self.sort_key(sort)
        total = self._total(filters, search).scalar_subquery().label("_total")
        stmt = select(*self.read_columns, total).where(
            *self._matching(filters, search, in_order=True)
        )
        if after is not None:
            stmt = stmt.where(self._after(column, key, descending, after_null=after == "null"))
        if column.nullable:
            order = [key.desc().nulls_last() if descending else key.asc().nulls_last()]
        else:
            order = [key.desc() if descending else key.asc()]
        order.append(self._id.desc() if descending else self._id.asc())
        limited = stmt.order_by(*order).limit(bindparam("limit")).offset(bindparam("offset"))
        return Statement(limited)

    def _after(
        self, column: Column[Any], key: ColumnElement[Any], descending: bool, *, after_null: bool
    ) -> ColumnElement[bool]:
        after_id = bindparam("after_id", type_=self._id.type)
        id_beyond = self._id < after_id if descending else self._id > after_id
        if after_null:  # only null keys remain, in id order
            return and_(column.is_(None), id_beyond)
        bound = self._key_of(column, bindparam("after_key", type_=column.type))
        if not column.nullable:
            row, bound_row = tuple_(key, self._id), tuple_(bound, after_id)
            return row < bound_row if descending else row > bound_row
        beyond = key < bound if descending else key > bound
        return or_(beyond, and_(key == bound, id_beyond), column.is_(None))

    @shapes
    def count(self, filters: FilterShape, search: bool) -> Statement:
        return Statement(self._total(filters, search))

    def sort_key(self, sort: str) -> ColumnElement[Any]:
        return self._key_of(self._table.c[sort.removeprefix("-")], None)

    def _key_of(self, column: Column[Any], value: ColumnElement[Any] | None) -> ColumnElement[Any]:
        """What a sort compares: enums by rank, text ignoring case ("apple" before
        "Banana"), the rest as stored; of the column itself, or of a bound value."""
        target: ColumnElement[Any] = column if value is None else value
        kind = storage_type(column)
        enums = getattr(kind, "enums", None)
        if enums:
            return ranked(target, tuple(enums))
        if isinstance(kind, String):
            return func.lower(target)
        return target

    @shapes
    def insert(self, columns: tuple[str, ...], capped: bool, checked: tuple[str, ...]) -> Statement:
        """Insert `p_<column>` values, unless (`capped`) the owner already has `cap`
        items, or a `checked` reference names no item of theirs, in one statement.
        Concurrent creates at the edge of the cap may overshoot by a few: it is a guard
        rail. RETURNING says whether a row went in."""
        values = self._written(columns)
        conditions = [self.references[column] for column in checked]
        if capped:
            conditions.append(self._total((), False).scalar_subquery() < bindparam("cap"))
        if not conditions:
            return Statement(sql_insert(self._table).values(values).returning(self._id))
        row = select(*values.values()).where(*conditions)
        return Statement(sql_insert(self._table).from_select(list(values), row).returning(self._id))

    @shapes
    def update(
        self,
        fields: tuple[str, ...],
        stamps: tuple[tuple[str, bool], ...],
        versions: bool,
        checked: tuple[str, ...] = (),
    ) -> Statement:
        """Set `p_<field>` values (`stamps`: timestamp columns set to `now` when their
        flag became true, kept if it already was, cleared when false) if the row is the
        owner's, every `checked` reference names an item of theirs and, with `If-Match`,
        the row is still at one of `k_versions`: check and write are one statement."""
        values: dict[str, Any] = self._written(fields)
        for column, flag in stamps:
            values[column] = func.coalesce(self._table.c[column], self._now) if flag else null()
        return self._write(values, versions, [self.references[c] for c in checked])

    @shapes
    def toggle(self, flag: str, setting: bool, versions: bool) -> Statement:
        """Flip `flag` (or set it to `p_<flag>` when `setting`), keeping its stamps right."""
        column = self._table.c[flag]
        new: ColumnElement[Any] = self._value(flag) if setting else ~column
        values: dict[str, Any] = {flag: new}
        for stamp, stamp_flag in self._resource.stamps.items():
            if stamp_flag == flag:
                kept = func.coalesce(self._table.c[stamp], self._now)
                values[stamp] = case((new, kept), else_=null())
        return self._write(values, versions, [])

    def _write(
        self, values: dict[str, Any], versions: bool, conditions: list[ColumnElement[bool]]
    ) -> Statement:
        values["updated_at"] = self._now
        values["version"] = self._version + 1
        return Statement(
            sql_update(self._table)
            .where(self._owned(with_id=True, versions=versions), *conditions)
            .values(values)
            .returning(*self.read_columns)
        )

    @shapes
    def delete(self, versions: bool) -> Statement:
        return Statement(
            sql_delete(self._table)
            .where(self._owned(with_id=True, versions=versions))
            .returning(self._id)
        )

    @shapes
    def reference_exists(self, column: str) -> Statement:
        """Whether `p_<column>` names an item of the caller's (failure path only)."""
        return Statement(select(literal(1)).where(self.references[column]))

    @shapes
    def facet(self, column: str) -> Statement:
        """The owner's distinct values of an array column, ignoring case (the first
        spelling in sort order shown), each with the number of items that have it."""
        array = self._table.c[column]

        def counted(values: Any) -> Select[Any]:
            value = values.c.value
            return (
                select(func.min(value), func.count())
                .select_from(self._table.join(values, true()))  # per row, its values
                .where(self._owned())
                .group_by(func.lower(value))
                .order_by(func.lower(value))
            )

        sqlite = counted(func.json_each(array).table_valued("value"))
        postgres = counted(func.unnest(array).table_valued("value").render_derived())
        return Statement(sqlite, postgres=postgres)

    def _written(self, columns: tuple[str, ...]) -> dict[str, ColumnElement[Any]]:
        """What a write sets: `p_<column>` for each column, and for an array column that
        has one, its lower-cased copy (`schemas.types.folded`) from the same value."""
        values: dict[str, ColumnElement[Any]] = {name: self._value(name) for name in columns}
        for name in columns:
            if name in self._folded:
                values[self._folded[name]] = LowerCased(self._value(name))
        return values

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
