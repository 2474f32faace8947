"""The six operations, generic over the resource: validated input in, committed rows out."""

import uuid
from collections.abc import Coroutine, Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from api.crud import idempotency, models
from api.crud.cursors import Cursors
from api.crud.declaration import CrudResource
from api.crud.preconditions import etag, if_match_versions, none_match
from api.crud.statements import OwnedStatements, like_pattern
from api.crud.store import Store
from api.errors import Conflict, FieldError, NotFound, PreconditionFailed, ValidationFailed
from api.runtime import runtime_of
from schemas.types import rfc3339, utc_now, uuid7

JSON = "application/json"
CANONICAL_UUID = "00000000-0000-0000-0000-000000000000"
Params = dict[str, Any]


class Operations:
    """Single statements run in autocommit mode: the response is sent only after the
    database committed, in one round trip. Idempotent creates use a transaction.

    Rows go to JSON directly (the response models document them; the database's
    column types already guarantee them)."""

    _stale = "The item changed since you read it; fetch it again and retry."

    def __init__(self, resource: CrudResource) -> None:
        self._resource = resource
        self._sql = OwnedStatements(resource)
        self._cursors = Cursors(resource.sql_table)
        self._fields = tuple(resource.read.model_fields)
        self._version_at = self._fields.index("version")
        self._not_found = f"No such {resource.name}."
        self._aliases = tuple(resource.aliases.items())
        self._required_on_replace = frozenset(
            target
            for target in resource.aliases.values()
            if resource.replace.model_fields[target].is_required()
        )

    def _item(self, row: Sequence[Any]) -> dict[str, Any]:
        """A row of the read columns (extra trailing columns are ignored) as a dict, with
        the declared aliases mirrored."""
        item = dict(zip(self._fields, row, strict=False))
        for alias, target in self._aliases:
            item[alias] = item[target]
        return item

    def _input(
        self, params: Params, *, partial: bool = False, allow_empty: bool = False
    ) -> dict[str, Any]:
        required = frozenset() if partial else self._required_on_replace
        return models.resolve(
            params["payload"],
            self._resource.aliases,
            partial=partial,
            required=required,
            allow_empty=allow_empty,
        )

    def _respond(self, row: Sequence[Any]) -> Response:
        return JsonResponse(to_json(self._item(row)), 200, etag(row[self._version_at]))

    async def list_items(self, request: Request, params: Params) -> Response:
        owner, query = params["user_id"], params["query"]
        filters: list[tuple[str, str]] = []
        matching: Params = {"k_owner": owner}
        for list_filter in self._resource.list_filters:
            used = list_filter.use(query)
            if used is not None:
                filters.append((list_filter.name, used[0]))
                matching.update(used[1])
        if query.search is not None:
            matching["search"] = like_pattern(query.search)
        page_args = {**matching, "limit": query.limit + 1, "offset": query.offset}
        after = None
        if query.cursor is not None:
            if query.offset:
                message = "Send either `cursor` or `offset`, not both."
                raise ValidationFailed(message, errors=[FieldError(loc=["query"], msg=message)])
            key, page_args["after_id"] = self._cursors.decode(query.cursor, query.sort)
            after = "null" if key is None else "value"
            if key is not None:
                page_args["after_key"] = key
        store, searched, shape = _store(request), query.search is not None, tuple(filters)
        statement = self._sql.page(shape, searched, query.sort, after)
        rows = await store.rows(statement, page_args, read=True)
        more, rows = len(rows) > query.limit, rows[: query.limit]
        if rows:
            total = rows[0][-1]
        elif query.offset == 0 and query.cursor is None:
            total = 0
        else:  # past the last page: no row carries the total
            count = self._sql.count(shape, searched)
            total = (await store.rows(count, matching, read=True))[0][0]
        items = [self._item(row) for row in rows]
        next_cursor = None
        if more:
            last = items[-1]
            key = last[query.sort.removeprefix("-")]
            next_cursor = self._cursors.encode(query.sort, key, last["id"])
        page = {
            self._resource.plural: items,
            "count": total,
            "limit": query.limit,
            "offset": query.offset,
            "next_cursor": next_cursor,
        }
        return JsonResponse(to_json(page))

    async def create(self, request: Request, params: Params) -> Response:
        runtime, owner = runtime_of(request), params["user_id"]
        fields = self._input(params)
        now = utc_now()
        values = {
            **fields,
            **self._stamped(fields, now),
            "id": uuid7(),
            self._resource.owner: owner,
            "created_at": now,
            "updated_at": now,
            "version": 1,
        }
        cap = runtime.settings.max_items_per_user
        checked = self._checked(fields)
        insert = self._sql.insert(tuple(sorted(values)), bool(cap), checked)
        args: Params = {_PARAM[name]: value for name, value in values.items()}
        args["k_owner"] = owner
        if cap:
            args["cap"] = cap
        body = to_json(self._item([values[name] for name in self._fields]))
        location = f"{request_path(request)}/{values['id']}"
        key = params.get("idempotency_key")
        if key is None:  # the common case: nothing to remember
            if not await runtime.store.rows(insert, args):
                await self._explain_refusal(request, args, checked, cap)
            return JsonResponse(body, 201, etag(values["version"]), location)
        created = idempotency.StoredResponse(201, body, location)
        path = request_path(request)
        digest = idempotency.fingerprint(path, fields)
        async with runtime.store.transaction() as session:
            earlier = await idempotency.claim(session, owner, key, path, digest, now)
            if earlier is None:
                if not await session.rows(insert, args):
                    await self._explain_refusal(request, args, checked, cap)
                await idempotency.remember(session, owner, key, created)
        if earlier is None:
            return self._created(created, version=values["version"])
        # A replay: the ETag of the response first given, whatever the item is now.
        response = self._created(earlier, version=orjson.loads(earlier.body)["version"])
        response.headers["Idempotency-Replayed"] = "true"
        return response

    @staticmethod
    def _created(stored: idempotency.StoredResponse, *, version: int) -> Response:
        return JsonResponse(stored.body, stored.status_code, etag(version), stored.location or None)

    def _checked(self, fields: Mapping[str, Any]) -> tuple[str, ...]:
        """The references a write sets to an id, which must name the caller's own items."""
        return tuple(c for c in self._resource.references if fields.get(c) is not None)

    async def _explain_refusal(
        self, request: Request, args: Params, checked: tuple[str, ...], cap: int
    ) -> None:
        """A create that inserted nothing: a reference to no item of theirs (422), else
        the cap (409). Failure path only, so a create stays one statement."""
        await self._check_references(request, args, checked)
        raise Conflict(f"You have reached the limit of {cap} {self._resource.plural}.")

    async def _check_references(
        self, request: Request, args: Params, checked: tuple[str, ...]
    ) -> None:
        """422 for a reference that names nothing of the caller's: another person's item
        and a missing one read the same."""
        errors = []
        for column in checked:
            probe = {"k_owner": args["k_owner"], f"p_{column}": args[f"p_{column}"]}
            if not await _store(request).rows(self._sql.reference_exists(column), probe):
                target = self._resource.references[column]
                message = f"No such {target.name}."
                errors.append(FieldError(loc=["body", column], msg=message))
        if errors:
            raise ValidationFailed("The request does not match the schema.", errors=errors)

    async def get(self, request: Request, params: Params) -> Response:
        args = {"k_owner": params["user_id"], "k_id": self._item_id(params)}
        rows = await _store(request).rows(self._sql.get, args, read=True)
        if not rows:
            raise NotFound(self._not_found)
        version = rows[0][self._version_at]
        if none_match(params.get("if_none_match"), version):
            return Response(status_code=304, headers={"ETag": etag(version)})
        return self._respond(rows[0])

    # Not coroutines themselves: the handler awaits `_update` directly, one coroutine
    # fewer for every await of the request to resume through.
    def replace(self, request: Request, params: Params) -> Coroutine[Any, Any, Response]:
        return self._update(request, params, self._input(params))

    def patch(self, request: Request, params: Params) -> Coroutine[Any, Any, Response]:
        return self._update(request, params, self._input(params, partial=True))

    async def _update(self, request: Request, params: Params, fields: dict[str, Any]) -> Response:
        versions = self._versions(params)
        stamps = tuple(
            (column, bool(fields[flag]))
            for column, flag in self._resource.stamps.items()
            if flag in fields
        )
        checked = self._checked(fields)
        # Sorted: the order the client wrote the fields in must not make a new statement.
        statement = self._sql.update(tuple(sorted(fields)), stamps, versions is not None, checked)
        args = self._target(params, versions)
        for name, value in fields.items():
            args[_PARAM[name]] = value
        args["now"] = utc_now()
        rows = await _store(request).rows(statement, args)
        if not rows:
            await self._check_references(request, args, checked)
            await self._explain_miss(request, params, versions)
        return self._respond(rows[0])

    async def toggle(self, request: Request, params: Params, flag: str) -> Response:
        """Flip `flag`, or set it from the body (`{flag: b}`, or an alias of it)."""
        payload = params.get("payload")
        fields = {} if payload is None else self._input(params, partial=True, allow_empty=True)
        versions = self._versions(params)
        setting = flag in fields
        statement = self._sql.toggle(flag, setting, versions is not None)
        args = self._target(params, versions)
        args["now"] = utc_now()
        if setting:
            args[f"p_{flag}"] = fields[flag]
        rows = await _store(request).rows(statement, args)
        if not rows:
            await self._explain_miss(request, params, versions)
        return self._respond(rows[0])

    async def facet(self, request: Request, params: Params, column: str, key: str) -> Response:
        rows = await _store(request).rows(
            self._sql.facet(column), {"k_owner": params["user_id"]}, read=True
        )
        body = {key: [{"name": name, "count": count} for name, count in rows]}
        return JsonResponse(to_json(body))

    async def delete(self, request: Request, params: Params) -> Response:
        versions = self._versions(params)
        statement = self._sql.delete(versions is not None)
        if not await _store(request).rows(statement, self._target(params, versions)):
            await self._explain_miss(request, params, versions)
        return Response(status_code=204)

    def _target(self, params: Params, versions: list[int] | None) -> Params:
        """Parameters naming one item of the owner, at one of `versions` if given."""
        args: Params = {"k_owner": params["user_id"], "k_id": self._item_id(params)}
        if versions is not None:
            args["k_versions"] = versions
        return args

    async def _explain_miss(
        self, request: Request, params: Params, versions: list[int] | None
    ) -> None:
        """No row touched: 412 if it exists at another version, else 404 (failure path
        only, so a successful write stays one statement)."""
        if versions is not None:
            args = {"k_owner": params["user_id"], "k_id": self._item_id(params)}
            if await _store(request).rows(self._sql.version, args, read=True):
                raise PreconditionFailed(self._stale)
        raise NotFound(self._not_found)

    def _versions(self, params: Params) -> list[int] | None:
        return if_match_versions(params.get("if_match"), required=self._resource.require_if_match)

    def _item_id(self, params: Params) -> uuid.UUID:
        """Ids are opaque to clients: one that is not an id names nothing, like a missing one."""
        text = params[self._resource.item_id]
        try:
            item_id = uuid.UUID(text)
        except ValueError:
            raise NotFound(self._not_found) from None
        if len(text) != len(CANONICAL_UUID):
            raise NotFound(self._not_found)  # `{...}`, `urn:uuid:`, no hyphens: not ours
        return item_id

    def _stamped(self, fields: Mapping[str, Any], now: datetime) -> dict[str, Any]:
        """Stamp columns of a new item: `now` where the flag is set."""
        return {
            column: now if fields.get(flag) else None
            for column, flag in self._resource.stamps.items()
        }


class _Params(dict[str, str]):
    """`p_<column>`, the statements' name of a written value, made once per column."""

    def __missing__(self, column: str) -> str:
        self[column] = name = f"p_{column}"
        return name


_PARAM = _Params()


class JsonResponse(Response):
    """A JSON body with its headers made directly: Starlette's `init_headers` takes a
    mapping and lower-cases, encodes and scans it on every response."""

    media_type = JSON

    def __init__(
        self,
        body: bytes,
        status_code: int = 200,
        etag: str | None = None,
        location: str | None = None,
    ) -> None:
        self.status_code = status_code
        self.background = None
        self.body = body
        headers = []
        if etag is not None:
            headers.append((b"etag", etag.encode("latin-1")))
        if location is not None:
            headers.append((b"location", location.encode("latin-1")))
        headers.append((b"content-length", str(len(body)).encode("latin-1")))
        headers.append((b"content-type", _JSON_BYTES))
        self.raw_headers = headers


_JSON_BYTES = JSON.encode("latin-1")


def request_path(request: Request) -> str:
    """`request.url.path` without building the URL: the path as Starlette's `URL` quotes
    it (the three characters that would end a path)."""
    path: str = request.scope["path"]
    if "?" in path or "#" in path or "\\" in path:
        return path.replace("?", "%3F").replace("#", "%23").replace("\\", "%5C")
    return path


def _encode(value: Any) -> str:
    if isinstance(value, datetime):
        return rfc3339(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def to_json(value: Any) -> bytes:
    """orjson, with timestamps always in six-digit RFC 3339 (orjson drops a zero fraction,
    and text that sorts as the time does is worth a callback per timestamp)."""
    return orjson.dumps(value, default=_encode, option=orjson.OPT_PASSTHROUGH_DATETIME)


def _store(request: Request) -> Store:
    return runtime_of(request).store
