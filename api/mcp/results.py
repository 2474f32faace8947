"""A REST answer as a tool result, in wire form: a 2xx body is the result (as structured
content and as JSON text), a problem is a tool error (`isError`) with its `detail` as
text and its `code` and field errors as structured content.

A result is built once, as the JSON it is sent as: a 2xx JSON body goes into it as the
bytes the route wrote (it is the app's own JSON), neither parsed nor serialized again.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from api.errors import PROBLEM_MEDIA_TYPE
from api.mcp.tools import ToolSpec

_SOURCES = ("body", "query", "path", "header")
_COMPLETE = b'"resultType":"complete"'


@dataclass(frozen=True, slots=True)
class ToolResult:
    """A `CallToolResult` in wire form: the members of its JSON object, without braces,
    so a transport can add its own (`_meta`) without parsing it."""

    members: bytes

    def wire(self, extra: bytes = b"") -> bytes:
        """The JSON object; `extra` is more members, each after a comma (`,"_meta":{}`)."""
        return b"{" + self.members + extra + b"}"

    def as_dict(self) -> dict[str, Any]:
        """For the SDK's own pipeline (which validates and serializes a mapping)."""
        value: dict[str, Any] = orjson.loads(self.wire())
        return value


def result(
    spec: ToolSpec, status: int, headers: Sequence[tuple[bytes, bytes]], body: bytes
) -> ToolResult:
    """The `CallToolResult` for the REST answer to a tool's request."""
    if 200 <= status < 300:
        if not body:
            return ToolResult(b'"content":[' + _text_block(spec.done) + b"]," + _COMPLETE)
        text = _text_block(body.decode())
        if _is_json_object(headers, body):
            # The body twice, as the spec asks: as text (for clients that show only text)
            # and as structured content (what the output schema describes).
            return ToolResult(
                b'"content":[' + text + b'],"structuredContent":' + body + b"," + _COMPLETE
            )
        return ToolResult(b'"content":[' + text + b"]," + _COMPLETE)
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


def _is_json_object(headers: Sequence[tuple[bytes, bytes]], body: bytes) -> bool:
    """Whether a success body can be structured content as it is: JSON, and an object
    (what every output schema describes)."""
    media_type = (_header(headers, b"content-type") or "").partition(";")[0].strip()
    is_json = media_type == "application/json" or media_type.endswith("+json")
    return is_json and body.lstrip()[:1] == b"{"


def _located(spec: ToolSpec, loc: list[str | int]) -> list[str | int]:
    """A REST location (`["header", "Idempotency-Key"]`) as the argument it came from
    (`["idempotency_key"]`); body fields are arguments under their own names."""
    if not loc or loc[0] not in _SOURCES:
        return loc
    source, rest = str(loc[0]), list(loc[1:])
    if rest and source != "body":
        rest[0] = spec.argument_for(source, str(rest[0])) or rest[0]
    return rest


def error(detail: str, details: dict[str, Any]) -> ToolResult:
    """A tool error: the problem's `detail` as text (and each field error on a line of
    its own, for clients that show the model only text), its `code` and field errors
    as structured content."""
    content = [{"type": "text", "text": detail}]
    if details.get("errors"):
        lines = [
            f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}" for e in details["errors"]
        ]
        content.append({"type": "text", "text": "\n".join(lines)})
    wire = orjson.dumps(
        {
            "content": content,
            "structuredContent": details,
            "isError": True,
            "resultType": "complete",
        }
    )
    return ToolResult(wire[1:-1])


def _text_block(text: str) -> bytes:
    return b'{"type":"text","text":' + orjson.dumps(text) + b"}"


def _header(headers: Sequence[tuple[bytes, bytes]], name: bytes) -> str | None:
    return next((v.decode("latin-1") for k, v in headers if k == name), None)
