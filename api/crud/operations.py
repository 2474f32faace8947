"""The six operations, generic over the resource: validated input in, committed rows out."""

import uuid
from typing import Any

from fastapi import Request, Response
from pydantic import BaseModel
from sqlalchemy import Row

from api.crud.declaration import CrudResource
from api.crud.statements import OwnedStatements
from api.errors import NotFound
from api.runtime import runtime_of
from schemas.types import utc_now, uuid7

JSON = "application/json"


class Operations:
    """Statements run in autocommit mode: each operation is one atomic statement, so a
    2xx is sent only after the database committed it, in one round trip."""

    def __init__(self, resource: CrudResource) -> None:
        self._resource = resource
        self._sql = OwnedStatements(resource)
        self._fields = list(resource.read.model_fields)
        self._serialize_item = resource.read.__pydantic_serializer__.to_json
        self._serialize_page = resource.page.__pydantic_serializer__.to_json
        self._not_found = f"No such {resource.name}."

    def _item(self, row: Row[Any] | dict[str, Any]) -> BaseModel:
        values = row if isinstance(row, dict) else dict(zip(self._fields, row, strict=False))
        return self._resource.read.model_validate(values)

    def _respond(self, row: Row[Any] | dict[str, Any], status: int = 200) -> Response:
        return Response(self._serialize_item(self._item(row)), status, media_type=JSON)

    async def list(self, request: Request, params: dict[str, Any]) -> Response:
        owner, query = params["user_id"], params["query"].model_dump()
        query["filters"] = {
            name: query.pop(name) == "true"
            for name in self._resource.filters
            if query.get(name) is not None
        }
        async with runtime_of(request).engine.connect() as conn:
            rows = (await conn.execute(self._sql.page(owner, query))).all()
            if rows:
                total = rows[0][-1]
            elif query["offset"] == 0:
                total = 0
            else:  # past the last page: the window had no row to carry the total
                total = (await conn.execute(self._sql.count(owner, query))).scalar_one()
        page = self._resource.page.model_validate(
            {
                self._resource.plural: [self._item(row) for row in rows],
                "count": total,
                "limit": query["limit"],
                "offset": query["offset"],
            }
        )
        return Response(self._serialize_page(page), media_type=JSON)

    async def create(self, request: Request, params: dict[str, Any]) -> Response:
        payload: BaseModel = params["payload"]
        fields = payload.model_dump()
        now = utc_now()
        values = {
            **fields,
            **self._derived(fields, now, on_update=False),
            "id": uuid7(),
            self._resource.owner: params["user_id"],
            "created_at": now,
            "updated_at": now,
        }
        async with runtime_of(request).engine.connect() as conn:
            await conn.execute(self._sql.insert(values))
        response = self._respond(values, 201)
        response.headers["Location"] = f"{request.url.path}/{values['id']}"
        return response

    async def get(self, request: Request, params: dict[str, Any]) -> Response:
        owner, item_id = params["user_id"], self._item_id(params)
        async with runtime_of(request).engine.connect() as conn:
            row = (await conn.execute(self._sql.get(owner, item_id))).first()
        if row is None:
            raise NotFound(self._not_found)
        return self._respond(row)

    async def replace(self, request: Request, params: dict[str, Any]) -> Response:
        return await self._update(request, params, params["payload"].model_dump())

    async def patch(self, request: Request, params: dict[str, Any]) -> Response:
        fields = params["payload"].model_dump(exclude_unset=True)
        if not fields:  # `{}` changes nothing, not even updated_at
            return await self.get(request, params)
        return await self._update(request, params, fields)

    async def _update(
        self, request: Request, params: dict[str, Any], fields: dict[str, Any]
    ) -> Response:
        now = utc_now()
        values = {**fields, **self._derived(fields, now, on_update=True), "updated_at": now}
        statement = self._sql.update(params["user_id"], self._item_id(params), values)
        async with runtime_of(request).engine.connect() as conn:
            row = (await conn.execute(statement)).first()
        if row is None:
            raise NotFound(self._not_found)
        return self._respond(row)

    async def delete(self, request: Request, params: dict[str, Any]) -> Response:
        statement = self._sql.delete(params["user_id"], self._item_id(params))
        async with runtime_of(request).engine.connect() as conn:
            deleted = (await conn.execute(statement)).rowcount
        if not deleted:
            raise NotFound(self._not_found)
        return Response(status_code=204)

    def _item_id(self, params: dict[str, Any]) -> uuid.UUID:
        item_id = params[self._resource.item_id]
        assert isinstance(item_id, uuid.UUID)
        return item_id

    def _derived(self, fields: dict[str, Any], now: Any, *, on_update: bool) -> dict[str, Any]:
        derive = self._resource.derive
        if derive is None:
            return {}
        return dict(derive(fields, now, self._resource.sql_table if on_update else None))
