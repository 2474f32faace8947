"""The route class of generated endpoints: checks the caller before anything else runs,
then serves the request without FastAPI's per-request dependency machinery.

FastAPI still builds each route from its endpoint's signature, for routing and the
OpenAPI contract; `ParameterReader` validates requests against the same declarations.
"""

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from email.message import Message
from typing import Annotated, Any

from fastapi import Depends
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from api.auth.bearer import authenticate
from api.crud.params import ParameterReader
from api.errors import AuthForbidden, RateLimited, UnsupportedMediaType
from api.runtime import Runtime, runtime_of

Handler = Callable[[Request, dict[str, Any]], Coroutine[Any, Any, Response]]


@dataclass(frozen=True, slots=True)
class Generated:
    """What a generated endpoint does: read its parameters, then run the operation."""

    handler: Handler
    reader: ParameterReader


def _is_json(content_type: str | None) -> bool:
    if not content_type:
        return False
    if content_type == "application/json" or content_type.startswith("application/json;"):
        return True
    message = Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


def _without_body(request: Request) -> bool:
    headers = request.headers
    return "transfer-encoding" not in headers and headers.get("content-length", "0") == "0"


async def _count_request(runtime: Runtime, user_id: str) -> None:
    limit = runtime.settings.rate_limit_per_minute
    if limit:
        retry_after = await runtime.limiter.hit(f"user:{user_id}", limit, 60)
        if retry_after is not None:
            raise RateLimited(
                f"More than {limit} requests in a minute; slow down.",
                headers={"Retry-After": str(retry_after)},
            )


async def guard(request: Request, *, takes_body: bool, body_optional: bool = False) -> str:
    """The checks every owner-scoped endpoint makes, in order, before its body is read or
    the database touched: 401 (token), 403 (`{user_id}` is not the caller), 429 (rate),
    415 (a body that is not JSON). Returns the caller's id."""
    runtime = runtime_of(request)
    principal = await authenticate(request, runtime)
    if request.path_params.get("user_id") != principal.subject:
        raise AuthForbidden("You can only reach your own data.")
    await _count_request(runtime, principal.subject)
    # The body is read (and its size limit enforced, see api.limits) only after this.
    content_type = request.headers.get("content-type")
    if takes_body and not _is_json(content_type) and not (body_optional and _without_body(request)):
        raise UnsupportedMediaType("Send the body as `application/json`.")
    return principal.subject


def current_owner(request: Request) -> str:
    """The caller `guard` admitted (for hand-written endpoints, as a dependency)."""
    owner = getattr(request.state, "user_id", None)
    if not isinstance(owner, str):
        raise TypeError("current_owner needs a route of class OwnerGuardedRoute")
    return owner


CurrentOwner = Annotated[str, Depends(current_owner)]


class OwnerGuardedRoute(APIRoute):
    """For hand-written endpoints under `/api/{user_id}/…`: `guard` runs before FastAPI
    reads the body or solves dependencies, so a custom action answers 401, 403, 429 and
    415 exactly as the generated routes do; errors are problems through the app's
    handlers (api.errors), database faults included."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        body = self.body_field
        takes_body = body is not None
        body_optional = body is not None and not body.field_info.is_required()

        async def guarded(request: Request) -> Response:
            await guard(request, takes_body=takes_body, body_optional=body_optional)
            return await handler(request)

        return guarded


class OwnerScopedRoute(APIRoute):
    """Generated endpoints: `guard`, then the declared parameters read and the operation
    run without FastAPI's per-request dependency machinery."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        generated, takes_body, body_optional = self._generated()

        async def guarded(request: Request) -> Response:
            await guard(request, takes_body=takes_body, body_optional=body_optional)
            params = await generated.reader.read(request)
            return await generated.handler(request, params)

        return guarded

    def _generated(self) -> tuple[Generated, bool, bool]:
        generated = getattr(self.endpoint, "generated", None)
        if not isinstance(generated, Generated):
            raise TypeError(f"{self.path}: use OwnerGuardedRoute for hand-written endpoints")
        return generated, self.body_field is not None, generated.reader.body_optional

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        generated, takes_body, body_optional = self._generated()
        handler, read = generated.handler, generated.reader.read

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            # What FastAPI's wrapper adds (exit stacks for dependencies with `yield`) these
            # endpoints do not use; errors reach the app's exception handlers as before.
            # `get_route_handler`'s steps, in this one coroutine: every await of a request
            # resumes through each coroutine it is nested in.
            request = Request(scope, receive, send)
            await guard(request, takes_body=takes_body, body_optional=body_optional)
            response = await handler(request, await read(request))
            await response(scope, receive, send)

        # Used when the route is added to the app directly (api.main does); an included
        # router builds its own wrapper around `get_route_handler()`.
        self.app = app
