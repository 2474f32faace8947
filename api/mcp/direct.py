"""A tool call at a per-request protocol version (2026-07-28: one POST, one JSON answer,
no session), answered without the SDK's message pipeline.

That pipeline (models to validate the message, a context per call, then the result
validated, dumped and serialized twice) costs about as much CPU as the REST request the
tool runs (bench/README.md, "MCP tool call cost"). A call is answered here only once
every check the SDK makes on it has passed, each with the SDK's own function (content
type, `Accept`, routing headers, the `_meta` envelope, the `tools/call` params), and
the answer is the one the SDK sends, built as bytes around the REST body. Whatever
fails a check, or is not such a call, is the SDK's to answer (`None` here).
"""

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from mcp.server.streamable_http import check_accept_headers
from mcp.server.transport_security import TransportSecurityMiddleware
from mcp.shared.inbound import (
    ERROR_CODE_HTTP_STATUS,
    MCP_METHOD_HEADER,
    MCP_PROTOCOL_VERSION_HEADER,
    InboundModernRoute,
    classify_inbound_request,
    find_duplicated_routing_header,
)
from mcp_types import INTERNAL_ERROR, SERVER_INFO_META_KEY
from mcp_types.methods import validate_client_request
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from starlette.requests import Request
from starlette.types import Message, Receive

from api.mcp.results import ToolResult
from api.mcp.tools import ToolSpec

CALL = "tools/call"
log = logging.getLogger("todo_api.mcp")


@dataclass(frozen=True, slots=True)
class Call:
    """A `tools/call` message the SDK would hand to its handler as it is."""

    request_id: int | str
    spec: ToolSpec
    arguments: Mapping[str, Any]


class DirectCalls:
    def __init__(self, server_info: Mapping[str, Any]) -> None:
        # The SDK stamps every per-request-version result with the server's identity.
        self._meta = b',"_meta":' + orjson.dumps({SERVER_INFO_META_KEY: server_info})
        self._security = TransportSecurityMiddleware(None)  # the session manager's default

    @staticmethod
    def wanted(request: Request) -> bool:
        """A tool call at a per-request version, by its headers (the SDK serves a
        handshake version's messages on its session path, and so do we)."""
        version = request.headers.get(MCP_PROTOCOL_VERSION_HEADER)
        return (
            request.headers.get(MCP_METHOD_HEADER) == CALL
            and version is not None
            and version not in HANDSHAKE_PROTOCOL_VERSIONS
        )

    async def accepted(
        self, request: Request, body: bytes, tools: Mapping[str, ToolSpec]
    ) -> Call | None:
        """The call, if the SDK would accept it and run our handler with it."""
        try:
            message = orjson.loads(body)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
            return None
        request_id, params = message.get("id"), message.get("params")
        if not isinstance(request_id, int | str) or isinstance(request_id, bool):
            return None  # the id: a strict int or a string, as the SDK's model says
        if message.get("method") != CALL:
            return None
        if not isinstance(params, dict) or not isinstance(params.get("name"), str):
            return None
        spec = tools.get(params["name"])
        if spec is None or spec.header_annotated:
            return None  # an unknown tool, or `Mcp-Param-*` headers to check
        if not await self._sdk_accepts(request, message, params):
            return None
        return Call(request_id, spec, params.get("arguments") or {})

    async def _sdk_accepts(
        self, request: Request, message: dict[str, Any], params: dict[str, Any]
    ) -> bool:
        """The SDK's checks of such a message, in its order (a body that is not JSON,
        or is no request, fails the caller's own)."""
        if await self._security.validate_request(request, is_post=True) is not None:
            return False
        if not check_accept_headers(request)[0]:
            return False
        if find_duplicated_routing_header(request.headers.items()) is not None:
            return False
        verdict = classify_inbound_request(message, headers=_header_map(request))
        if not isinstance(verdict, InboundModernRoute):
            return False
        try:
            validate_client_request(CALL, verdict.protocol_version, params)
        except (KeyError, ValueError):  # pydantic's ValidationError is a ValueError
            return False
        return True

    def answer(self, call: Call, outcome: ToolResult) -> bytes:
        """The JSON-RPC response carrying the result, stamped as the SDK stamps it."""
        head = b'{"jsonrpc":"2.0","id":' + orjson.dumps(call.request_id) + b',"result":'
        return head + outcome.wire(self._meta) + b"}"

    @staticmethod
    def failure(call: Call) -> tuple[int, bytes]:
        """As the SDK answers a handler that raised: logged, no detail on the wire."""
        log.exception("tool %s failed", call.spec.tool.name)
        error = {"code": INTERNAL_ERROR, "message": "Internal server error"}
        message = {"jsonrpc": "2.0", "id": call.request_id, "error": error}
        return ERROR_CODE_HTTP_STATUS.get(INTERNAL_ERROR, 200), orjson.dumps(message)


def _header_map(request: Request) -> dict[str, str]:
    """`dict(request.headers)` (lowercase names, the first of duplicates winning),
    without a lookup per name."""
    raw: list[tuple[bytes, bytes]] = request.scope["headers"]
    return {key.decode("latin-1"): value.decode("latin-1") for key, value in reversed(raw)}


def replay(body: bytes, receive: Receive) -> Receive:
    """`receive` that delivers the body, already read, again first."""
    pending = True

    async def replayed() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
