"""`/mcp`: the bearer token is checked as REST checks it, then the SDK's streamable HTTP
transport serves the request, stateless and in JSON (any worker can serve any call). A
tool call at a per-request protocol version, the most frequent request, is answered
without the SDK's message pipeline, as the SDK would answer it (api.mcp.direct).

The SDK's transport runs in a task group that must live as long as the app. It is
started on the first MCP request in a task of its own (a lifespan that enters it in one
task and leaves it in another, as test fixtures do, would break the task group) and
stopped with the app.
"""

import asyncio
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI
from mcp import types
from mcp.server.caching import CacheHint
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.shared.exceptions import MCPError
from starlette.requests import Request
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from api.auth.bearer import authenticate
from api.crud.declaration import CrudResource
from api.errors import ApiError, MethodNotAllowed, PayloadTooLarge, problem_response
from api.mcp import invoke
from api.mcp.direct import CALL, DirectCalls, replay
from api.mcp.discovery import MCP_PATH, challenge
from api.mcp.tools import ToolSpec, build_tools

LISTING_TTL_MS = 5 * 60 * 1000


class McpEndpoint:
    """The ASGI app mounted at `/mcp`."""

    def __init__(
        self, app: FastAPI, resources: Sequence[CrudResource], *, telemetry: bool, max_body: int
    ) -> None:
        self._app = app
        self._resources = tuple(resources)
        self._max_body = max_body
        self._tools: dict[str, ToolSpec] | None = None
        self._listing: types.ListToolsResult | None = None
        plurals = ", ".join(resource.plural for resource in self._resources)
        self._server: Server[Any] = Server(
            app.title,
            version=app.version,
            instructions=f"The caller's own {plurals}. Every tool acts as the user whose "
            "bearer token the connection sends; nobody else's data is reachable.",
            on_list_tools=self._list_tools,
            get_tool_input_schema=self._input_schema,
            # The same list for everyone, fixed until a deploy: clients may keep it a while.
            cache_hints={"tools/list": CacheHint(ttl_ms=LISTING_TTL_MS, scope="public")},
        )
        # Registered directly: results go out in wire form, built from the REST body
        # without a model to validate and dump on the way (see api.mcp.results).
        self._server.add_request_handler(CALL, types.CallToolRequestParams, self._call_tool)
        if not telemetry:  # the SDK's OpenTelemetry span per message, as TELEMETRY says
            self._server.middleware = []
        # Only while nothing of the SDK's (a span, a cache hint) would wrap the call.
        direct = not self._server.middleware and CALL not in self._server.cache_hints
        self._direct = DirectCalls(self._server.server_info_stamp) if direct else None
        self.route = Route(MCP_PATH, self, include_in_schema=False)
        self._manager: StreamableHTTPSessionManager | None = None
        self._runner: asyncio.Task[None] | None = None
        self._ready: asyncio.Event | None = None
        self._stop: asyncio.Event | None = None

    @property
    def tools(self) -> dict[str, ToolSpec]:
        # Read from the contract on first use, once every route (a declared action
        # included) is registered.
        if self._tools is None:
            self._tools = build_tools(self._app.openapi(), self._resources)
        return self._tools

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["route"] = self.route  # for the access log
        request = Request(scope, receive)
        try:
            await authenticate(request)
        except ApiError as exc:
            error = challenge(request, exc) if exc.status == 401 else exc
            await problem_response(request, error)(scope, receive, send)
            return
        if request.method != "POST":
            # Stateless: no session to end (DELETE), and no stream for the server to
            # speak first on (GET), which the spec answers with 405.
            error = MethodNotAllowed("Send MCP messages with POST.", headers={"Allow": "POST"})
            await problem_response(request, error)(scope, receive, send)
            return
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > self._max_body:
            # As REST answers it (api.limits); the SDK would answer in plain text.
            error = PayloadTooLarge(f"The body must not exceed {self._max_body} bytes.")
            await problem_response(request, error)(scope, receive, send)
            return
        if self._direct is not None and self._direct.wanted(request):
            body = await request.body()
            if await self._call_directly(self._direct, request, body, send):
                return
            receive = replay(body, receive)  # for the SDK to read it
        manager = await self._started()
        await manager.handle_request(scope, receive, send)

    async def _call_directly(
        self, direct: DirectCalls, request: Request, body: bytes, send: Send
    ) -> bool:
        """Answer a tool call the SDK would run as it is; False if it is the SDK's."""
        call = await direct.accepted(request, body, self.tools)
        if call is None:
            return False
        subject: str = request.state.user_id  # set by `authenticate`
        try:
            outcome = await invoke.call(self._app, call.spec, call.arguments, request, subject)
        except Exception:
            status, content = direct.failure(call)
        else:
            status, content = 200, direct.answer(call, outcome)
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(content)).encode()),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})
        return True

    async def _started(self) -> StreamableHTTPSessionManager:
        if self._runner is None:
            self._ready, self._stop = asyncio.Event(), asyncio.Event()
            self._manager = StreamableHTTPSessionManager(
                self._server,
                json_response=True,
                stateless=True,
                # Above the app's own limit (api.limits), which answers first, as for REST.
                max_request_body_size=self._max_body + 1,
            )
            self._runner = asyncio.create_task(self._run(self._manager, self._ready, self._stop))
        assert self._ready is not None
        assert self._manager is not None
        if not self._ready.is_set():
            waiting = asyncio.ensure_future(self._ready.wait())
            await asyncio.wait((waiting, self._runner), return_when=asyncio.FIRST_COMPLETED)
            waiting.cancel()
            if self._runner.done():
                self._runner.result()  # raises what stopped it
        return self._manager

    @staticmethod
    async def _run(
        manager: StreamableHTTPSessionManager, ready: asyncio.Event, stop: asyncio.Event
    ) -> None:
        async with manager.run():
            ready.set()
            await stop.wait()

    async def close(self) -> None:
        """Stop the transport (with the app); a later request starts a new one."""
        runner, stop = self._runner, self._stop
        self._runner = self._manager = self._ready = self._stop = None
        if runner is not None and stop is not None:
            stop.set()
            await runner

    async def _list_tools(
        self, ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        if self._listing is None:
            self._listing = types.ListToolsResult(tools=[spec.tool for spec in self.tools.values()])
        return self._listing

    async def _call_tool(
        self, ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> dict[str, Any]:
        spec = self.tools.get(params.name)
        if spec is None:
            raise MCPError(types.INVALID_PARAMS, f"Unknown tool: {params.name}")
        request = ctx.request
        assert isinstance(request, Request)  # the HTTP request that carried the call
        subject: str = request.state.user_id  # set by `authenticate`, above
        outcome = await invoke.call(self._app, spec, params.arguments or {}, request, subject)
        return outcome.as_dict()

    def _input_schema(self, name: str) -> dict[str, Any] | None:
        """For the SDK's check of `Mcp-Param-*` headers: only a schema that annotates
        arguments with `x-mcp-header` has anything to check (ours annotate none, so the
        SDK need not walk them on every call)."""
        spec = self.tools.get(name)
        return spec.tool.input_schema if spec is not None and spec.header_annotated else None
