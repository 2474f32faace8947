"""The six operations, generic over the resource: validated input in, committed rows out."""

import uuid
from typing import Any

import orjson
from fastapi import Request, Response
from pydantic import BaseModel
from sqlalchemy import Row

from api.crud import idempotency
from api.crud.declaration import CrudResource
from api.crud.preconditions import etag, if_match_versions, none_match
from api.crud.statements import OwnedStatements
from api.errors import Conflict, NotFound, PreconditionFailed
from api.runtime import Runtime, runtime_of
from schemas.types import utc_now, uuid7

JSON = "application/json"
Params = dict[str, Any]


class Operations:
    """Single statements run in autocommit mode: the response is sent only after the
    database committed, in one round trip. Idempotent creates use a transaction."""

    _stale = "The item changed since you read it; fetch it again and retry."

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
        return self._respond_item(self._item(row), status)

    def _respond_item(self, item: BaseModel, status: int = 200) -> Response:
        headers = {"ETag": etag(_version_of(item))}
        return Response(self._serialize_item(item), status, headers, media_type=JSON)

    async def list_items(self, request: Request, params: Params) -> Response:
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

    async def create(self, request: Request, params: Params) -> Response:
        runtime, owner = runtime_of(request), params["user_id"]
        fields = params["payload"].model_dump()
        now = utc_now()
        values = {
            **fields,
            **self._derived(fields, now, on_update=False),
            "id": uuid7(),
            self._resource.owner: owner,
            "created_at": now,
            "updated_at": now,
            "version": 1,
        }
        insert = self._sql.insert(values, owner=owner, cap=runtime.settings.max_items_per_user)
        created = idempotency.StoredResponse(
            201,
            self._serialize_item(self._item(values)),
            f"{request.url.path}/{values['id']}",
        )
        key = params.get("idempotency_key")
        if key is None:
            async with runtime.engine.connect() as conn:
                inserted = (await conn.execute(insert)).first() is not None
            self._check_cap(inserted, runtime)
            return self._created(created, replayed=False)
        digest = idempotency.fingerprint(request.url.path, fields)
        async with runtime.transactional.begin() as conn:
            earlier = await idempotency.claim(conn, owner, key, request.url.path, digest, now)
            if earlier is None:
                self._check_cap((await conn.execute(insert)).first() is not None, runtime)
                await idempotency.remember(conn, owner, key, created)
        return self._created(earlier or created, replayed=earlier is not None)

    def _created(self, stored: idempotency.StoredResponse, *, replayed: bool) -> Response:
        version = orjson.loads(stored.body)["version"]
        headers = {"ETag": etag(version)}
        if stored.location:
            headers["Location"] = stored.location
        if replayed:
            headers["Idempotency-Replayed"] = "true"
        return Response(stored.body, stored.status_code, headers, media_type=JSON)

    def _check_cap(self, inserted: bool, runtime: Runtime) -> None:
        if not inserted:
            cap = runtime.settings.max_items_per_user
            raise Conflict(f"You have reached the limit of {cap} {self._resource.plural}.")

    async def get(self, request: Request, params: Params) -> Response:
        owner, item_id = params["user_id"], self._item_id(params)
        async with runtime_of(request).engine.connect() as conn:
            row = (await conn.execute(self._sql.get(owner, item_id))).first()
        if row is None:
            raise NotFound(self._not_found)
        item = self._item(row)
        if none_match(params.get("if_none_match"), _version_of(item)):
            return Response(status_code=304, headers={"ETag": etag(_version_of(item))})
        return self._respond_item(item)

    async def replace(self, request: Request, params: Params) -> Response:
        return await self._update(request, params, params["payload"].model_dump())

    async def patch(self, request: Request, params: Params) -> Response:
        fields = params["payload"].model_dump(exclude_unset=True)
        if fields:
            return await self._update(request, params, fields)
        # `{}` changes nothing, not even updated_at; If-Match still applies.
        versions = self._versions(params)
        response = await self.get(request, {**params, "if_none_match": None})
        if versions is not None and response.headers["ETag"] not in map(etag, versions):
            raise PreconditionFailed(self._stale)
        return response

    async def _update(self, request: Request, params: Params, fields: dict[str, Any]) -> Response:
        versions = self._versions(params)
        now = utc_now()
        values = {**fields, **self._derived(fields, now, on_update=True), "updated_at": now}
        owner, item_id = params["user_id"], self._item_id(params)
        statement = self._sql.update(owner, item_id, values, versions)
        async with runtime_of(request).engine.connect() as conn:
            row = (await conn.execute(statement)).first()
            if row is None:
                await self._explain_miss(conn, owner, item_id, versions)
        assert row is not None
        return self._respond(row)

    async def delete(self, request: Request, params: Params) -> Response:
        versions = self._versions(params)
        owner, item_id = params["user_id"], self._item_id(params)
        async with runtime_of(request).engine.connect() as conn:
            deleted = (await conn.execute(self._sql.delete(owner, item_id, versions))).rowcount
            if not deleted:
                await self._explain_miss(conn, owner, item_id, versions)
        return Response(status_code=204)

    async def _explain_miss(
        self, conn: Any, owner: str, item_id: uuid.UUID, versions: list[int] | None
    ) -> None:
        """No row touched: 412 if it exists at another version, else 404 (failure path
        only, so a successful write stays one statement)."""
        if versions is not None:
            current = (await conn.execute(self._sql.version(owner, item_id))).first()
            if current is not None:
                raise PreconditionFailed(self._stale)
        raise NotFound(self._not_found)

    def _versions(self, params: Params) -> list[int] | None:
        return if_match_versions(params.get("if_match"), required=self._resource.require_if_match)

    def _item_id(self, params: Params) -> uuid.UUID:
        item_id = params[self._resource.item_id]
        assert isinstance(item_id, uuid.UUID)
        return item_id

    def _derived(self, fields: dict[str, Any], now: Any, *, on_update: bool) -> dict[str, Any]:
        derive = self._resource.derive
        if derive is None:
            return {}
        return dict(derive(fields, now, self._resource.sql_table if on_update else None))


def _version_of(item: BaseModel) -> int:
    version = getattr(item, "version")  # noqa: B009 (the declaration checked it exists)
    assert isinstance(version, int)
    return version
