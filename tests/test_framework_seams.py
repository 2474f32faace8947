"""What the fast path takes from FastAPI and Starlette beyond their documented use, pinned
so that an upgrade that changes any of it fails here, loudly and by name, rather than
serving requests differently.

The generated routes (`api.crud.guard.OwnerScopedRoute`) are FastAPI `APIRoute`s that
FastAPI builds and documents from their endpoints' signatures, but requests reach them
through `api.crud.dispatch.GeneratedRoutes`, which matches them with Starlette's
`Route.matches` and calls `route.app`; `api.crud.params` reads `fastapi.params` markers.
Hand-written endpoints (`api.crud.guard.OwnerGuardedRoute`) wrap `get_route_handler()`,
which FastAPI must keep calling for the routes of an included router.
"""

import inspect
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any, ClassVar, get_args

import fastapi
import httpx
import pytest
import starlette
from fastapi import APIRouter, Body, FastAPI, Header, Query, Request, Response
from fastapi import Path as PathParam
from fastapi import params as fastapi_params
from fastapi.routing import APIRoute
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.crud.dispatch import GeneratedRoutes
from api.crud.guard import OwnerScopedRoute
from api.crud.params import read_body
from api.main import create_app
from api.observability import route_template
from api.resources import RESOURCES
from tests.conftest import test_settings
from tests.support import make_token

BODY_METHODS = {"POST", "PUT", "PATCH"}
ALICE = {"Authorization": f"Bearer {make_token('alice')}"}


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[FastAPI]:
    application = create_app(test_settings(f"sqlite:///{tmp_path / 'todo.db'}"))
    async with application.router.lifespan_context(application):
        yield application


def generated_routes(app: FastAPI) -> list[OwnerScopedRoute]:
    return [route for route in app.router.routes if isinstance(route, OwnerScopedRoute)]


def method_of(route: APIRoute) -> str:
    assert route.methods is not None
    (method,) = route.methods
    return method


def find_generated_routes_middleware(app: FastAPI) -> GeneratedRoutes:
    """Build the middleware stack as Starlette does on the first request, and find the
    fast path in it (each layer keeps the next as `.app`)."""
    app.middleware_stack = app.build_middleware_stack()
    layer: Any = app.middleware_stack
    while layer is not None:
        if isinstance(layer, GeneratedRoutes):
            return layer
        layer = getattr(layer, "app", None)
    raise AssertionError("GeneratedRoutes is not in the middleware stack")


def test_the_framework_versions_this_file_was_checked_against() -> None:
    """Read the rest of this file again before changing these (pyproject.toml pins the
    same ranges)."""
    assert fastapi.__version__.startswith("0.165."), fastapi.__version__
    assert starlette.__version__.startswith("1."), starlette.__version__


def test_api_route_keeps_the_hooks_the_guard_overrides() -> None:
    parameters = inspect.signature(APIRoute.__init__).parameters
    assert list(parameters)[:3] == ["self", "path", "endpoint"], list(parameters)
    assert callable(APIRoute.get_route_handler)
    # Included routers wrap `get_route_handler()`; the constructor wraps it into `app`.
    assert "self.get_route_handler()" in inspect.getsource(APIRoute.__init__)
    assert "body_field" in APIRoute.__annotations__, sorted(APIRoute.__annotations__)


def test_generated_routes_are_the_guard_route_with_its_own_asgi_app(app: FastAPI) -> None:
    routes = generated_routes(app)
    assert len(routes) >= 6 * len(RESOURCES), [r.path for r in routes]
    for route in routes:
        # FastAPI's constructor set `app` (its request/response wrapper); the guard's
        # replacement must be what stays, or the fast path would run FastAPI's layer.
        assert route.app.__qualname__ == "OwnerScopedRoute.__init__.<locals>.app", route.path
        assert route.endpoint.generated is not None  # type: ignore[attr-defined]
        method = method_of(route)
        # The guard checks the media type only where FastAPI found a body parameter.
        has_body = route.body_field is not None
        assert has_body == (method in BODY_METHODS), f"{method} {route.path}: {route.body_field}"


def test_starlette_route_matching_serves_the_generated_routes(app: FastAPI) -> None:
    route = next(r for r in generated_routes(app) if r.methods == {"GET"} and "{" not in r.path[8:])
    path = route.path.replace("{user_id}", "alice")
    scope: Scope = {"type": "http", "method": "GET", "path": path, "root_path": ""}
    match, child = Route.matches(route, scope)
    assert match is Match.FULL, (route.path, match)
    assert child["path_params"] == {"user_id": "alice"}, child
    assert child["endpoint"] is route.endpoint
    wrong_method = {**scope, "method": "DELETE"}
    assert Route.matches(route, wrong_method)[0] is Match.PARTIAL


def test_parameter_markers_are_the_fastapi_params_classes() -> None:
    markers = {
        "path": (PathParam(min_length=1), fastapi_params.Path),
        "query": (Query(), fastapi_params.Query),
        "header": (Header(alias="If-Match"), fastapi_params.Header),
        "body": (Body(), fastapi_params.Body),
    }
    for where, (marker, cls) in markers.items():
        (annotated,) = get_args(Annotated[str, marker])[1:]
        assert isinstance(annotated, cls), (where, type(annotated))
    assert markers["header"][0].alias == "If-Match"
    # Header must not be a Query (the reader tells them apart by class, in this order).
    assert not isinstance(Header(), fastapi_params.Query | fastapi_params.Body)


def test_routes_registered_on_the_router_are_documented(app: FastAPI) -> None:
    paths = app.openapi()["paths"]
    for route in generated_routes(app):
        method = method_of(route)
        operation = paths.get(route.path, {}).get(method.lower())
        assert operation is not None, f"{method} {route.path} is not documented"
        assert operation["operationId"] == route.operation_id
        names = {p["name"] for p in operation.get("parameters", [])}
        assert "user_id" in names, (route.operation_id, names)  # read from __signature__
        assert ("requestBody" in operation) == (method in BODY_METHODS), route.operation_id
    listed = paths[generated_routes(app)[0].path]["get"]
    assert {"limit", "offset", "sort"} <= {p["name"] for p in listed["parameters"]}


class Recording(APIRoute):
    """A route class wrapping FastAPI's handler, as OwnerGuardedRoute does."""

    served: ClassVar[list[str]] = []

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def recorded(request: Request) -> Response:
            Recording.served.append(self.path)
            return await handler(request)

        return recorded


async def test_an_included_router_serves_through_its_route_class_handler() -> None:
    router = APIRouter(route_class=Recording)

    @router.post("/things")
    async def things(payload: Annotated[dict[str, int], Body()]) -> dict[str, int]:
        return payload

    @router.post("/maybe")
    async def maybe(payload: Annotated[dict[str, int] | None, Body()] = None) -> int:
        return len(payload or {})

    app = FastAPI()
    app.include_router(router, prefix="/api")
    routes = {r.path: r for r in router.routes if isinstance(r, APIRoute)}
    assert all(isinstance(r, Recording) for r in routes.values()), routes
    # What the guard reads to decide whether a body must be JSON, or may be left out.
    for path, required in (("/things", True), ("/maybe", False)):
        body = routes[path].body_field
        assert body is not None, path
        assert body.field_info.is_required() is required, path
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        r = await client.post("/api/things", json={"a": 1})
        assert r.status_code == 200, r.text
    assert Recording.served == ["/things"], "FastAPI no longer serves get_route_handler()"


async def test_the_route_template_of_an_included_route_has_its_prefix() -> None:
    """The access log's `route` (api.observability.route_template)."""
    router = APIRouter()

    @router.get("/me/{item}")
    async def me(item: str, request: Request) -> str | None:
        return route_template(request.scope)

    app = FastAPI()
    app.include_router(router, prefix="/users")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        r = await client.get("/users/me/1")
    assert r.status_code == 200, r.text
    assert r.json() == "/users/me/{item}"


class Spy:
    """The layer inside GeneratedRoutes, recording what reaches it."""

    def __init__(self, app: ASGIApp, owner: FastAPI) -> None:
        self.app, self.owner, self.paths = app, owner, list[str]()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.paths.append(scope["path"])
        scope.setdefault("app", self.owner)
        await self.app(scope, receive, send)


async def test_generated_routes_are_served_ahead_of_the_router(app: FastAPI) -> None:
    fast_path = find_generated_routes_middleware(app)
    assert {id(r) for r in fast_path._routes} == {id(r) for r in generated_routes(app)}
    spy = Spy(fast_path.app, app)
    fast_path.app = spy
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        created = await client.post("/api/alice/tasks", headers=ALICE, json={"title": "x"})
        assert created.status_code == 201, created.text
        listed = await client.get("/api/alice/tasks", headers=ALICE)
        assert listed.status_code == 200, listed.text
        assert spy.paths == [], "a generated route reached FastAPI's router"
        missing = await client.get("/no-such-route")
        assert missing.status_code == 404, missing.text
        assert spy.paths == ["/no-such-route"]

    # Without the fast path, FastAPI's router serves the same routes the same way.
    direct = httpx.ASGITransport(app=spy)
    async with httpx.AsyncClient(transport=direct, base_url="http://testserver") as client:
        again = await client.get("/api/alice/tasks", headers=ALICE)
        assert again.status_code == 200, again.text
        assert again.json() == listed.json()
        refused = await client.get("/api/alice/tasks")
        assert refused.status_code == 401, refused.text
        assert refused.json()["code"] == "AUTH_MISSING"


async def test_a_body_read_by_the_parameter_reader_is_the_requests_body() -> None:
    """`read_body` reads the messages itself and leaves the body where Starlette keeps
    its own, so `request.body()` and `request.stream()` still give it afterwards."""
    messages: list[Message] = [
        {"type": "http.request", "body": b'{"title":', "more_body": True},
        {"type": "http.request", "body": b' "x"}', "more_body": False},
    ]

    async def receive() -> Message:
        return messages.pop(0)

    request = Request({"type": "http", "method": "POST", "path": "/", "headers": []}, receive)
    assert await read_body(request) == b'{"title": "x"}'
    assert await request.body() == b'{"title": "x"}'
    assert [chunk async for chunk in request.stream()] == [b'{"title": "x"}', b""]
    assert await read_body(request) == b'{"title": "x"}'
