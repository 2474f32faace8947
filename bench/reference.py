"""Minimal reference: the API's six task endpoints in Starlette, raw SQL over psycopg 3."""

import base64
import os
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import jwt
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench import refdb
from schemas.types import rfc3339  # the API's cursor text for a timestamp

JSON = "application/json"
LEEWAY = 30
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_BUT_BREAKS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# `project_id` is not writable here (the workload never sets it; checking it would take an
# ownership subquery the reference has no use for); the API's other task fields are.
_WRITABLE = frozenset({"title", "description", "completed", "priority", "due_date", "tags"})
_PRIORITIES = frozenset({"low", "medium", "high"})
_VERSION = refdb.COLUMNS.index("version")


class Problem(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status


async def _problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    body = orjson.dumps({"status": exc.status, "detail": str(exc)})
    return Response(body, exc.status, media_type="application/problem+json")


def _uuid7() -> uuid.UUID:
    value = (time.time_ns() // 1_000_000) << 80 | int.from_bytes(os.urandom(10))
    value = value & ~(0xF << 76) | 0x7 << 76
    value = value & ~(0x3 << 62) | 0x2 << 62
    return uuid.UUID(int=value)


def _task(row: tuple[Any, ...]) -> dict[str, Any]:
    """A row as the API renders it: with `complete`, the alias the first front end reads."""
    task = dict(zip(refdb.COLUMNS, row, strict=False))
    task["complete"] = task["completed"]
    return task


def _item(row: tuple[Any, ...], status: int = 200, location: str | None = None) -> Response:
    headers = {"etag": f'"{row[_VERSION]}"'}
    if location:
        headers["location"] = location
    return Response(orjson.dumps(_task(row)), status, headers, media_type=JSON)


def _tags(value: Any) -> list[str]:
    """At most 20, each 1-50 visible characters, trimmed, duplicates (ignoring case) dropped."""
    if not isinstance(value, list) or len(value) > 20:
        raise Problem(422, "Invalid tags.")
    kept: dict[str, str] = {}
    for tag in value:
        if not isinstance(tag, str) or len(tag) > 50 or _CONTROL.search(tag):
            raise Problem(422, "Invalid tag.")
        tag = tag.strip()
        if not tag:
            raise Problem(422, "Blank tag.")
        kept.setdefault(tag.lower(), tag)
    return list(kept.values())


def _due(value: Any) -> datetime | None:
    if value is None:
        return None
    try:
        due = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        due = None
    if due is None or due.tzinfo is None:
        raise Problem(422, "Invalid due_date.")
    return due.astimezone(UTC)


def _fields(body: bytes, *, partial: bool) -> dict[str, Any]:
    """Types, lengths and control characters, checked by hand."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise Problem(400, "The body is not JSON.") from None
    if not isinstance(data, dict) or not data.keys() <= _WRITABLE:
        raise Problem(422, "Unknown fields.")
    fields: dict[str, Any] = {}
    if "title" in data or not partial:
        title = data.get("title")
        if not isinstance(title, str) or len(title) > 200 or _CONTROL.search(title):
            raise Problem(422, "Invalid title.")
        fields["title"] = title = title.strip()
        if not title:
            raise Problem(422, "Blank title.")
    if "description" in data or not partial:
        text = data.get("description")
        if text is not None and (
            not isinstance(text, str) or len(text) > 1000 or _CONTROL_BUT_BREAKS.search(text)
        ):
            raise Problem(422, "Invalid description.")
        fields["description"] = text
    if "completed" in data or not partial:
        completed = data.get("completed", False)
        if not isinstance(completed, bool):
            raise Problem(422, "Invalid completed.")
        fields["completed"] = completed
    if "priority" in data or not partial:
        priority = data.get("priority", "medium")
        if priority not in _PRIORITIES:
            raise Problem(422, "Invalid priority.")
        fields["priority"] = priority
    if "due_date" in data or not partial:
        fields["due_date"] = _due(data.get("due_date"))
    if "tags" in data or not partial:
        fields["tags"] = _tags(data.get("tags", []))
    return fields


def _bounded(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise Problem(422, f"Invalid {name}.")
    return int(raw)


def _hs256_key(secret: str) -> jwt.PyJWK:
    """The secret prepared once, rather than re-parsed by PyJWT on every decode."""
    k = base64.urlsafe_b64encode(secret.encode()).rstrip(b"=").decode()
    return jwt.PyJWK({"kty": "oct", "k": k}, algorithm="HS256")


class Reference:
    def __init__(self, pool: refdb.Pool, secret: str, cap: int) -> None:
        self.pool, self.key, self.cap = pool, _hs256_key(secret), cap
        # Like the API: a token verified once is trusted until it expires (bounded).
        self._verified: dict[str, tuple[str, float]] = {}

    def subject(self, token: str) -> str:
        """HS256, `exp` and `sub` required, 30 s leeway."""
        known = self._verified.get(token)
        if known is not None and time.time() < known[1]:
            return known[0]
        try:
            claims = jwt.decode(
                token,
                self.key,
                algorithms=["HS256"],
                leeway=LEEWAY,
                options={"require": ["exp", "sub"]},
            )
        except jwt.PyJWTError:
            raise Problem(401, "Invalid token.") from None
        if len(self._verified) >= 10_000:
            del self._verified[next(iter(self._verified))]
        self._verified[token] = (claims["sub"], claims["exp"] + LEEWAY)
        return str(claims["sub"])

    def owner(self, request: Request) -> str:
        """The caller, who must be the user in the path."""
        header = request.headers.get("authorization", "")
        if not header.startswith("Bearer "):
            raise Problem(401, "Missing token.")
        owner = request.path_params["user_id"]
        if self.subject(header[7:]) != owner:
            raise Problem(403, "Not yours.")
        return str(owner)

    async def collection(self, request: Request) -> Response:
        owner = self.owner(request)
        if request.method == "POST":
            return await self.create(request, owner)
        limit = _bounded(request, "limit", 20, 1, 100)
        offset = _bounded(request, "offset", 0, 0, 10_000)
        rows = await self.pool.rows(refdb.LIST, (owner, owner, limit + 1, offset))
        more, rows = len(rows) > limit, rows[:limit]
        if rows:
            total = rows[0][-1]
        elif offset:
            total = (await self.pool.rows(refdb.COUNT, (owner,)))[0][0]
        else:
            total = 0
        tasks = [_task(row) for row in rows]
        next_cursor = None
        if more:  # the same keyset cursor as the API's: sort, key (text from SQL), id
            last = tasks[-1]
            key = orjson.dumps(["-created_at", last["created_at"], str(last["id"])])
            next_cursor = base64.urlsafe_b64encode(key).rstrip(b"=").decode()
        page = {
            "tasks": tasks,
            "count": total,
            "limit": limit,
            "offset": offset,
            "next_cursor": next_cursor,
        }
        return Response(orjson.dumps(page), media_type=JSON)

    async def create(self, request: Request, owner: str) -> Response:
        fields = _fields(await request.body(), partial=False)
        now = datetime.now(UTC)
        done = now if fields["completed"] else None
        due = fields["due_date"]
        values = (
            _uuid7(),
            owner,
            fields["title"],
            fields["description"],
            fields["completed"],
            done,
            fields["priority"],
            due,
            fields["tags"],
            None,  # project_id
            now,
            now,
        )
        tags = fields["tags"]
        if self.cap:
            capped = (*values, tags, owner, self.cap)
            inserted = await self.pool.rowcount(refdb.INSERT_CAPPED, capped)
        else:
            inserted = await self.pool.rowcount(refdb.INSERT, (*values, tags))
        if not inserted:
            raise Problem(409, "Too many tasks.")
        # The body as a read renders it: timestamps as six-digit RFC 3339 text.
        stamp = rfc3339(now)
        due_text = rfc3339(due) if due else None
        row = (*values[:5], stamp if done else None, values[6], due_text, *values[8:10])
        return _item((*row, stamp, stamp, 1), 201, f"{request.scope['path']}/{values[0]}")

    async def item(self, request: Request) -> Response:
        owner = self.owner(request)
        try:
            item_id = uuid.UUID(request.path_params["task_id"])
        except ValueError:
            raise Problem(422, "Invalid task id.") from None
        method = request.method
        if method == "GET":
            rows = await self.pool.rows(refdb.GET, (owner, item_id))
        elif method == "DELETE":
            if not await self.pool.rowcount(refdb.DELETE, (owner, item_id)):
                raise Problem(404, "No such task.")
            return Response(status_code=204)
        else:
            fields = _fields(await request.body(), partial=method == "PATCH")
            if not fields:
                rows = await self.pool.rows(refdb.GET, (owner, item_id))
            else:
                params = {**fields, "now": datetime.now(UTC), "owner": owner, "id": item_id}
                rows = await self.pool.rows(refdb.update_sql(tuple(fields)), params)
        if not rows:
            raise Problem(404, "No such task.")
        return _item(rows[0])


def create_app() -> Starlette:
    pool = refdb.Pool(os.environ["DATABASE_URL"], int(os.environ.get("DB_POOL_SIZE", "10")))
    ref = Reference(pool, os.environ["JWT_SECRET"], int(os.environ.get("MAX_ITEMS_PER_USER", "0")))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await pool.open()
        yield
        await pool.close()

    handlers: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = {Problem: _problem}
    routes = [
        Route("/api/{user_id}/tasks", ref.collection, methods=["GET", "POST"]),
        Route(
            "/api/{user_id}/tasks/{task_id}", ref.item, methods=["GET", "PUT", "PATCH", "DELETE"]
        ),
    ]
    return Starlette(routes=routes, exception_handlers=handlers, lifespan=lifespan)
