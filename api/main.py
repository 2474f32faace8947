"""The application factory: `create_app(settings)`; `app` is what ASGI servers load."""

import gc
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from fastapi.telemetry import TelemetryConfig

from api.auth.setup import build_verifier, resolve_secret
from api.auth.users import install_builtin_users
from api.cors import install_cors
from api.crud import CrudResource, crud_router
from api.crud.counting import require_count_triggers
from api.crud.dispatch import GeneratedRoutes
from api.crud.store import open_store
from api.db import create_engine, is_sqlite, migrate
from api.docs import install_docs
from api.errors import install_error_handlers
from api.health import router as health_router
from api.limits import BodySizeLimitMiddleware
from api.mcp import install_mcp
from api.observability import RequestContextMiddleware, configure_logging
from api.openapi import contract
from api.ratelimit import MemoryRateLimiter, RedisRateLimiter
from api.resources import RESOURCES
from api.runtime import Runtime
from api.settings import Settings

log = logging.getLogger("todo_api")

API_VERSION = "1.0.0"
_NO_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


def create_app(
    settings: Settings | None = None, resources: Sequence[CrudResource] = RESOURCES
) -> FastAPI:
    settings = settings or Settings()
    configure_logging(settings.log_level)
    secret = resolve_secret(settings)
    engine = create_engine(settings)
    store = open_store(settings, engine)
    http = httpx.AsyncClient(timeout=httpx.Timeout(3.0), follow_redirects=False)
    verifier = build_verifier(settings, secret, http)
    limiter = RedisRateLimiter(settings.redis_url) if settings.redis_url else MemoryRateLimiter()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if is_sqlite(settings.database_url):
            await migrate(settings.database_url)  # the embedded default keeps itself current
        await require_count_triggers(engine, resources)  # else counts would drift silently
        if settings.gc_freeze:
            gc.collect()
            gc.freeze()  # see Settings.gc_freeze
        yield
        await http.aclose()
        await store.close()
        await engine.dispose()
        if isinstance(limiter, RedisRateLimiter):
            await limiter.close()

    app = FastAPI(
        title="todo-api",
        version=API_VERSION,
        description="Each person's tasks, behind their Better Auth (or built-in) JWT.",
        lifespan=lifespan,
        redirect_slashes=False,
        telemetry=None if settings.telemetry else _NO_TELEMETRY,
        docs_url=None,  # api.docs serves both pages without a CDN
        redoc_url=None,
    )
    app.state.runtime = Runtime(
        settings=settings,
        store=store,
        verifier=verifier,
        limiter=limiter,
    )
    # Registered as they are (an included router costs every request a second round of
    # route matching); served by `GeneratedRoutes` below, documented by FastAPI.
    generated = [
        route
        for resource in resources
        for route in crud_router(resource, referrers=resources).api_routes
    ]
    app.router.routes[:0] = generated
    app.include_router(health_router)
    if settings.auth_builtin_users:
        install_builtin_users(app, engine, secret, settings.jwt_issuer, limiter)
    install_mcp(app, resources, settings)  # `/mcp`: tools that run the routes above
    install_error_handlers(app)
    install_docs(app)
    app.openapi = lambda: contract(app)  # type: ignore[method-assign]
    app.add_middleware(GeneratedRoutes, routes=generated)  # innermost: see api.crud.dispatch
    install_cors(app, settings.cors_origins)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestContextMiddleware)
    return app


def __getattr__(name: str) -> FastAPI:
    # `api.main:app` is built on first access, so importing this module (tests, tools)
    # never reads the environment or touches a database.
    if name == "app":
        application = create_app()
        globals()["app"] = application
        return application
    raise AttributeError(name)
