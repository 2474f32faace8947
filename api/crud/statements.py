"""SQL for a resource. Every statement is filtered by owner: other rows do not exist."""

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Delete,
    Insert,
    Select,
    String,
    Update,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy import delete as sql_delete
from sqlalchemy import insert as sql_insert
from sqlalchemy import update as sql_update
from sqlalchemy.types import TypeDecorator

from api.crud.declaration import CrudResource


class OwnedStatements:
    def __init__(self, resource: CrudResource) -> None:
        table = resource.sql_table
        self._table = table
        self._owner = table.c[resource.owner]
        self._id = table.c["id"]
        self._version = table.c["version"]
        self.read_columns = [table.c[name] for name in resource.read.model_fields]
        self._search = [table.c[name] for name in resource.search]

    def _owned(
        self, owner: str, item_id: uuid.UUID | None = None, versions: list[int] | None = None
    ) -> ColumnElement[bool]:
        """The one filter every statement starts from: rows of others do not exist."""
        condition = self._owner == owner
        if item_id is not None:
            condition &= self._id == item_id
        if versions is not None:
            condition &= self._version.in_(versions)
        return condition

    def get(self, owner: str, item_id: uuid.UUID) -> Select[Any]:
        return select(*self.read_columns).where(self._owned(owner, item_id))

    def _filtered(self, stmt: Select[Any], owner: str, query: Mapping[str, Any]) -> Select[Any]:
        stmt = stmt.where(self._owned(owner))
        for name, value in query["filters"].items():
            stmt = stmt.where(self._table.c[name] == value)
        if query["search"]:
            term = query["search"]
            stmt = stmt.where(or_(*(c.icontains(term, autoescape=True) for c in self._search)))
        return stmt

    def page(self, owner: str, query: Mapping[str, Any]) -> Select[Any]:
        """One page plus the total count in one round trip (a window over the matches)."""
        total = func.count().over().label("_total")
        stmt = self._filtered(select(*self.read_columns, total), owner, query)
        return (
            stmt.order_by(*self._order(query["sort"])).limit(query["limit"]).offset(query["offset"])
        )

    def count(self, owner: str, query: Mapping[str, Any]) -> Select[Any]:
        return self._filtered(select(func.count()).select_from(self._table), owner, query)

    def _order(self, sort: str) -> list[ColumnElement[Any]]:
        name = sort.removeprefix("-")
        descending = sort.startswith("-")
        column: ColumnElement[Any] = self._table.c[name]
        if _is_text(column):
            column = func.lower(column)  # people expect "apple" before "Banana"
        # `id` breaks ties, so equal keys never shuffle between pages.
        keys = [column, self._id]
        return [k.desc() if descending else k.asc() for k in keys]

    def insert(self, values: Mapping[str, Any], *, owner: str, cap: int) -> Insert:
        """Insert unless the owner already has `cap` items (0: no cap), in one statement.
        Concurrent creates at the edge may overshoot by a few: the cap is a guard rail."""
        if not cap:
            return sql_insert(self._table).values(**values).returning(self._id)
        names = list(values)
        row = select(*(literal(values[n], self._table.c[n].type) for n in names))
        owned = select(func.count()).select_from(self._table).where(self._owned(owner))
        capped = row.where(owned.scalar_subquery() < cap)
        # RETURNING tells reliably whether a row went in (rowcount is -1 for psycopg here).
        return sql_insert(self._table).from_select(names, capped).returning(self._id)

    def version(self, owner: str, item_id: uuid.UUID) -> Select[Any]:
        return select(self._version).where(self._owned(owner, item_id))

    def update(
        self,
        owner: str,
        item_id: uuid.UUID,
        values: Mapping[str, Any],
        versions: list[int] | None,
    ) -> Update:
        """Change the row only if it is the owner's and, with `If-Match`, still at one of
        `versions`: the check and the write are one atomic statement."""
        return (
            sql_update(self._table)
            .where(self._owned(owner, item_id, versions))
            .values(**values, version=self._version + 1)
            .returning(*self.read_columns)
        )

    def delete(self, owner: str, item_id: uuid.UUID, versions: list[int] | None) -> Delete:
        return sql_delete(self._table).where(self._owned(owner, item_id, versions))


def _is_text(column: ColumnElement[Any]) -> bool:
    """String columns, including SQLModel's AutoString (a TypeDecorator over String)."""
    column_type = column.type
    if isinstance(column_type, TypeDecorator):
        column_type = column_type.impl_instance
    return isinstance(column_type, String)
