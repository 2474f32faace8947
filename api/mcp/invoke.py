"""A tool call is its REST request, served in-process by the whole app.

The call becomes the request a REST client would send (the caller's own bearer token,
`{user_id}` = the token's subject, the arguments as path, query, headers and JSON
body) and goes through the same middleware and generated route: authentication, the
owner guard, rate limit, body limit, validation, idempotency, the request log. The
answer is read back: a 2xx body is the tool's result, a problem is a tool error.
"""

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import orjson
from starlette.requests import Request
from starlette.types import ASGIApp, Message

from api.errors import request_id_of
from api.mcp.results import ToolResult, error, result
from api.mcp.tools import OWNER, ToolSpec

log = logging.getLogger("todo_api.mcp")


@dataclass
class _Answer:
    status: int = 500
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    chunks: list[bytes] = field(default_factory=list)


class ArgumentError(Exception):
    """Arguments that cannot even be placed in a request (the request has no slot)."""

    def __init__(self, loc: list[str | int], msg: str) -> None:
        super().__init__(msg)
        self.error = {"loc": loc, "msg": msg}


async def call(
    app: ASGIApp, spec: ToolSpec, arguments: Mapping[str, Any], outer: Request, subject: str
) -> ToolResult:
    """The `CallToolResult` of running the tool's REST operation, in wire form."""
    try:
        request = _place(spec, arguments, subject)
    except ArgumentError as exc:
        return error(
            "The request does not match the schema.",
            {"code": "VALIDATION_ERROR", "status": 422, "errors": [exc.error]},
        )
    answer = await _serve(app, spec, _scope(spec, outer, request), request.body)
    return result(spec, answer.status, answer.headers, b"".join(answer.chunks))


@dataclass
class _Request:
    """Where the arguments go in the REST request."""

    path: dict[str, str]
    query: list[tuple[str, str]] = field(default_factory=list)
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytes = b""


def _place(spec: ToolSpec, arguments: Mapping[str, Any], subject: str) -> _Request:
    request = _Request(path={OWNER: subject})
    fields: dict[str, Any] = {}
    for name, value in arguments.items():
        parameter = spec.parameters.get(name)
        if parameter is None:
            # An unknown name goes where REST judges it (it refuses unknown fields and
            # query parameters); a request with neither has no place for it.
            if spec.takes_body:
                fields[name] = value
            elif any(p.source == "query" for p in spec.parameters.values()):
                request.query += [(name, _text(v)) for v in _values(value)]
            else:
                raise ArgumentError([name], f"Unknown argument `{name}`.")
        elif value is None:
            continue  # a parameter left out (null cannot travel in a URL or header)
        elif parameter.source == "path":
            request.path[parameter.key] = _segment(name, value)
        elif parameter.source == "query":
            request.query += [(parameter.key, _text(v)) for v in _values(value)]
        else:
            request.headers.append((parameter.key.lower().encode(), _text(value).encode()))
    given = {name for name, value in arguments.items() if value is not None}
    for name in sorted(spec.required_parameters - given):
        raise ArgumentError([name], "Field required")
    if fields or spec.body_required:
        request.body = orjson.dumps(fields)
        request.headers += [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(request.body)).encode()),
        ]
    return request


def _scope(spec: ToolSpec, outer: Request, request: _Request) -> dict[str, Any]:
    """The ASGI scope of the REST request, from the MCP request that carries the call:
    its server, client, host, bearer token and request id."""
    scope = outer.scope
    root = scope.get("root_path", "")
    path = spec.path.format_map(request.path)
    quoted = {k: quote(v, safe="") for k, v in request.path.items()}
    raw_path = path if quoted == request.path else spec.path.format_map(quoted)
    host, authorization = b"localhost", b""
    for key, value in reversed(scope["headers"]):  # the first of duplicates wins
        if key == b"host" and value:
            host = value
        elif key == b"authorization":
            authorization = value
    headers = [
        *request.headers,
        (b"host", host),
        (b"authorization", authorization),
        (b"x-request-id", request_id_of(outer).encode()),  # one id for both log lines
    ]
    return {
        "type": "http",
        "asgi": scope.get("asgi", {"version": "3.0"}),
        "http_version": scope.get("http_version", "1.1"),
        "method": spec.method,
        "scheme": scope.get("scheme", "http"),
        "server": scope.get("server"),
        "client": scope.get("client"),
        "root_path": root,
        "path": root + path,
        "raw_path": (root + raw_path).encode(),
        "query_string": urlencode(request.query).encode() if request.query else b"",
        "headers": headers,
        "state": {},
    }


async def _serve(app: ASGIApp, spec: ToolSpec, scope: dict[str, Any], body: bytes) -> _Answer:
    answer = _Answer()
    delivered = False

    async def receive() -> Message:
        nonlocal delivered
        if delivered:
            return {"type": "http.disconnect"}
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            answer.status, answer.headers = message["status"], list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            answer.chunks.append(message.get("body", b""))

    try:
        await app(scope, receive, send)
    except Exception:
        # The app answered 500 already (its error middleware re-raises for the server
        # to log); logged here instead, and the caller gets the problem it rendered.
        log.exception("tool %s failed", spec.tool.name)
    return answer


def _segment(name: str, value: Any) -> str:
    """A path argument, which must stay one path segment (or it would name another route)."""
    text = _text(value)
    if not text or "/" in text:
        raise ArgumentError([name], "Must be a non-empty string without `/`.")
    return text


def _values(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


def _text(value: Any) -> str:
    """A JSON value as REST clients write it in a URL or header."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    return orjson.dumps(value).decode()
