"""MCP tools at `/mcp`, generated like the REST routes from the resource declarations,
and served by running those routes (same auth, isolation, validation, limits, log)."""

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from api.crud.declaration import CrudResource
from api.mcp.discovery import metadata_routes
from api.mcp.endpoint import McpEndpoint
from api.settings import Settings

__all__ = ["install_mcp"]


def install_mcp(app: FastAPI, resources: Sequence[CrudResource], settings: Settings) -> None:
    endpoint = McpEndpoint(
        app, resources, telemetry=settings.telemetry, max_body=settings.max_body_bytes
    )
    # First in the router, so a call does not first try every route before it: the
    # generated REST routes never reach the router (api.crud.dispatch serves them
    # ahead of it); the discovery documents, fetched once per client, go last.
    app.router.routes.insert(0, endpoint.route)
    app.router.routes.extend(metadata_routes(settings))
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(application: Any) -> AsyncIterator[Any]:
        async with inner(application) as state:
            try:
                yield state
            finally:
                await endpoint.close()

    app.router.lifespan_context = lifespan
