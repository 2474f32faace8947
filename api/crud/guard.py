"""The route class of generated endpoints: checks the caller before anything else runs."""

from collections.abc import Callable, Coroutine
from email.message import Message
from typing import Any

from fastapi.routing import APIRoute
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from starlette.requests import Request
from starlette.responses import Response

from api.auth.bearer import authenticate
from api.db import database_error
from api.errors import AuthForbidden, RateLimited, UnsupportedMediaType
from api.runtime import runtime_of


def _is_json(content_type: str | None) -> bool:
    if not content_type:
        return False
    message = Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


async def _count_request(request: Request, user_id: str) -> None:
    runtime = runtime_of(request)
    limit = runtime.settings.rate_limit_per_minute
    if limit:
        retry_after = await runtime.limiter.hit(f"user:{user_id}", limit, 60)
        if retry_after is not None:
            raise RateLimited(
                f"More than {limit} requests in a minute; slow down.",
                headers={"Retry-After": str(retry_after)},
            )


class OwnerScopedRoute(APIRoute):
    """401 and 403 are decided from the headers and the path alone, before the body is
    read or the database touched; so a stranger learns nothing and costs almost nothing."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        takes_body = self.body_field is not None

        async def guarded(request: Request) -> Response:
            principal = await authenticate(request)
            if request.path_params.get("user_id") != principal.subject:
                raise AuthForbidden("You can only reach your own data.")
            await _count_request(request, principal.subject)
            # The body is read (and its size limit enforced, see api.limits) only now.
            if takes_body and not _is_json(request.headers.get("content-type")):
                raise UnsupportedMediaType("Send the body as `application/json`.")
            try:
                try:
                    return await handler(request)
                except DBAPIError as exc:
                    # A pooled connection the database dropped (it restarted while the
                    # API was idle) fails on first use, and the pool then renews them all.
                    # A read is safe to run again once, on a fresh connection.
                    if not (exc.connection_invalidated and request.method == "GET"):
                        raise
                    return await handler(request)
            except SQLAlchemyError as exc:
                raise database_error(exc) from exc

        return guarded
