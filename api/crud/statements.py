"""SQL for a resource. Every statement is filtered by owner: other rows do not exist."""

import uuid
from collections.abc import Mapping
from typing import Any, Literal

from sqlalchemy import ColumnElement, Delete, Insert, Select, String, Update, func, or_, select
from sqlalchemy import delete as sql_delete
from sqlalchemy import insert as sql_insert
from sqlalchemy import update as sql_update

from api.crud.declaration import CrudResource

Direction = Literal["asc", "desc"]


class OwnedStatements:
    def __init__(self, resource: CrudResource) -> None:
        table = resource.sql_table
        self._table = table
        self._owner = table.c[resource.owner]
        self._id = table.c["id"]
        self.read_columns = [table.c[name] for name in resource.read.model_fields]
        self._search = [table.c[name] for name in resource.search]

    def _owned(self, owner: str, item_id: uuid.UUID | None = None) -> ColumnElement[bool]:
        if item_id is None:
            return self._owner == owner
        return (self._owner == owner) & (self._id == item_id)

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
        if isinstance(self._table.c[name].type, String):
            column = func.lower(column)  # people expect "apple" before "Banana"
        # `id` breaks ties, so equal keys never shuffle between pages.
        keys = [column, self._id]
        return [k.desc() if descending else k.asc() for k in keys]

    def insert(self, values: Mapping[str, Any]) -> Insert:
        return sql_insert(self._table).values(**values)

    def update(self, owner: str, item_id: uuid.UUID, values: Mapping[str, Any]) -> Update:
        return (
            sql_update(self._table)
            .where(self._owned(owner, item_id))
            .values(**values)
            .returning(*self.read_columns)
        )

    def delete(self, owner: str, item_id: uuid.UUID) -> Delete:
        return sql_delete(self._table).where(self._owned(owner, item_id))
