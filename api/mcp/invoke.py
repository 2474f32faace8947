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

from api.errors import PROBLEM_MEDIA_TYPE, request_id_of
from api.mcp.tools import OWNER, ToolSpec

log = logging.getLogger("todo_api.mcp")
_SOURCES = ("body", "query", "path", "header")


@dataclass
class _Answer:
    status: int = 500
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    chunks: list[bytes] = field(default_factory=list)

    def header(self, name: bytes) -> str | None:
        return next((v.decode("latin-1") for k, v in self.headers if k == name), None)


class ArgumentError(Exception):
    """Arguments that cannot even be placed in a request (the request has no slot)."""

    def __init__(self, loc: list[str | int], msg: str) -> None:
        super().__init__(msg)
        self.error = {"loc": loc, "msg": msg}


async def call(
    app: ASGIApp, spec: ToolSpec, arguments: Mapping[str, Any], outer: Request, subject: str
) -> dict[str, Any]:
    """The `CallToolResult` of running the tool's REST operation, in wire form."""
    try:
        scope, body = _request(spec, arguments, outer, subject)
    except ArgumentError as exc:
        return _error(
            "The request does not match the schema.",
            {"code": "VALIDATION_ERROR", "status": 422, "errors": [exc.error]},
        )
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
        # to log); logged here instead, the caller gets the problem it rendered.
        log.exception("tool %s failed", spec.tool.name)
    return _result(spec, answer)


def _request(
    spec: ToolSpec, arguments: Mapping[str, Any], outer: Request, subject: str
) -> tuple[dict[str, Any], bytes]:
    path_values = {OWNER: subject}
    query: list[tuple[str, str]] = []
    headers: list[tuple[bytes, bytes]] = []
    fields: dict[str, Any] = {}
    for name, value in arguments.items():
        parameter = spec.parameters.get(name)
        if parameter is None:
            if not spec.takes_body and not any(
                p.source == "query" for p in spec.parameters.values()
            ):
                raise ArgumentError([name], f"Unknown argument `{name}`.")
            # Unknown names go where REST judges them: the body or the query string.
            if spec.takes_body:
                fields[name] = value
            else:
                query += [(name, _text(v)) for v in _values(value)]
        elif value is None:
            continue  # a parameter left out (null cannot travel in a URL or header)
        elif parameter.source == "path":
            path_values[parameter.key] = _segment(name, value)
        elif parameter.source == "query":
            query += [(parameter.key, _text(v)) for v in _values(value)]
        else:
            headers.append((parameter.key.lower().encode(), _text(value).encode()))
    for name in sorted(
        spec.required_parameters - {n for n, v in arguments.items() if v is not None}
    ):
        raise ArgumentError([name], "Field required")
    body = orjson.dumps(fields) if fields or spec.body_required else b""
    if body:
        headers += [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    raw_path = spec.path.format_map({k: quote(v, safe="") for k, v in path_values.items()})
    headers += [
        (b"host", (outer.headers.get("host") or "localhost").encode("latin-1")),
        (b"authorization", outer.headers["authorization"].encode("latin-1")),
        (b"x-request-id", request_id_of(outer).encode()),  # one id for both log lines
    ]
    scope = {
        "type": "http",
        "asgi": outer.scope.get("asgi", {"version": "3.0"}),
        "http_version": outer.scope.get("http_version", "1.1"),
        "method": spec.method,
        "scheme": outer.scope.get("scheme", "http"),
        "server": outer.scope.get("server"),
        "client": outer.scope.get("client"),
        "root_path": outer.scope.get("root_path", ""),
        "path": spec.path.format_map(path_values),
        "raw_path": raw_path.encode(),
        "query_string": urlencode(query).encode(),
        "headers": headers,
        "state": {},
    }
    return scope, body


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


def _result(spec: ToolSpec, answer: _Answer) -> dict[str, Any]:
    body = b"".join(answer.chunks)
    if 200 <= answer.status < 300:
        if not body:
            return {"content": [_text_block(spec.done)], "resultType": "complete"}
        # The body twice, as the spec asks: as text (for clients that show only text)
        # and as structured content (what the output schema describes).
        return {
            "content": [_text_block(body.decode())],
            "structuredContent": orjson.loads(body),
            "resultType": "complete",
        }
    problem: Any = None
    if (answer.header(b"content-type") or "").startswith(PROBLEM_MEDIA_TYPE):
        problem = orjson.loads(body)
    if not isinstance(problem, dict):  # the app renders every error as a problem
        problem = {"code": "INTERNAL_ERROR", "detail": "An unexpected error occurred."}
    details: dict[str, Any] = {
        "code": problem.get("code"),
        "status": answer.status,
        "request_id": problem.get("request_id"),
    }
    if "errors" in problem:
        details["errors"] = [
            {**error, "loc": _located(spec, error.get("loc", []))} for error in problem["errors"]
        ]
    retry_after = answer.header(b"retry-after")
    if retry_after is not None and retry_after.isdigit():
        details["retry_after"] = int(retry_after)
    return _error(str(problem.get("detail", "")), details)


def _located(spec: ToolSpec, loc: list[str | int]) -> list[str | int]:
    """A REST location (`["header", "Idempotency-Key"]`) as the argument it came from
    (`["idempotency_key"]`); body fields are arguments under their own names."""
    if not loc or loc[0] not in _SOURCES:
        return loc
    source, rest = str(loc[0]), list(loc[1:])
    if rest and source != "body":
        rest[0] = spec.argument_for(source, str(rest[0])) or rest[0]
    return rest


def _error(detail: str, details: dict[str, Any]) -> dict[str, Any]:
    """A tool error: the problem's `detail` as text (and each field error on a line of
    its own, for clients that show the model only text), its `code` and field errors
    as structured content."""
    content = [_text_block(detail)]
    if details.get("errors"):
        lines = [
            f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}" for e in details["errors"]
        ]
        content.append(_text_block("\n".join(lines)))
    return {
        "content": content,
        "structuredContent": details,
        "isError": True,
        "resultType": "complete",
    }


def _text_block(text: str) -> dict[str, str]:
    return {"type": "text", "text": text}
