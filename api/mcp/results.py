"""A REST answer as a tool result, in wire form: a 2xx body is the result (as structured
content and as JSON text), a problem is a tool error (`isError`) with its `detail` as
text and its `code` and field errors as structured content."""

from collections.abc import Sequence
from typing import Any

import orjson

from api.errors import PROBLEM_MEDIA_TYPE
from api.mcp.tools import ToolSpec

_SOURCES = ("body", "query", "path", "header")


def result(
    spec: ToolSpec, status: int, headers: Sequence[tuple[bytes, bytes]], body: bytes
) -> dict[str, Any]:
    """The `CallToolResult` for the REST answer to a tool's request."""
    if 200 <= status < 300:
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
    if (_header(headers, b"content-type") or "").startswith(PROBLEM_MEDIA_TYPE):
        problem = orjson.loads(body)
    if not isinstance(problem, dict):  # the app renders every error as a problem
        problem = {"code": "INTERNAL_ERROR", "detail": "An unexpected error occurred."}
    details: dict[str, Any] = {
        "code": problem.get("code"),
        "status": status,
        "request_id": problem.get("request_id"),
    }
    if "errors" in problem:
        details["errors"] = [
            {**field_error, "loc": _located(spec, field_error.get("loc", []))}
            for field_error in problem["errors"]
        ]
    retry_after = _header(headers, b"retry-after")
    if retry_after is not None and retry_after.isdigit():
        details["retry_after"] = int(retry_after)
    return error(str(problem.get("detail", "")), details)


def _located(spec: ToolSpec, loc: list[str | int]) -> list[str | int]:
    """A REST location (`["header", "Idempotency-Key"]`) as the argument it came from
    (`["idempotency_key"]`); body fields are arguments under their own names."""
    if not loc or loc[0] not in _SOURCES:
        return loc
    source, rest = str(loc[0]), list(loc[1:])
    if rest and source != "body":
        rest[0] = spec.argument_for(source, str(rest[0])) or rest[0]
    return rest


def error(detail: str, details: dict[str, Any]) -> dict[str, Any]:
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


def _header(headers: Sequence[tuple[bytes, bytes]], name: bytes) -> str | None:
    return next((v.decode("latin-1") for k, v in headers if k == name), None)
