"""Turns a `CrudResource` into its six routes, each with a fixed, documented contract."""

import inspect
from collections.abc import Callable, Coroutine, Sequence
from typing import Annotated, Any, get_args

from fastapi import APIRouter, Body, Header, Path, Query, Request, Response
from pydantic import BaseModel

from api.crud.contract import item_links, list_query_model
from api.crud.declaration import CrudResource
from api.crud.guard import Generated, OwnerScopedRoute
from api.crud.idempotency import KEY_PATTERN
from api.crud.models import facet_model, toggle_model
from api.crud.operations import Operations
from api.crud.params import ParameterReader
from api.errors import problem_responses

Endpoint = Callable[..., Coroutine[Any, Any, Response]]
Handler = Callable[[Request, dict[str, Any]], Coroutine[Any, Any, Response]]

IfMatch = Annotated[
    str | None,
    Header(max_length=1000, description="Only if the item still has one of these ETags."),
]
IfNoneMatch = Annotated[
    str | None,
    Header(max_length=1000, description="304 if the item still has one of these ETags."),
]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        pattern=KEY_PATTERN,
        description="Retries with the same key return the first response (kept 24 h).",
    ),
]
UserIdPath = Annotated[
    str, Path(min_length=1, max_length=255, description="The caller's own id (`sub`).")
]


def _with_parameters(handler: Handler, **annotations: Any) -> Endpoint:
    """An endpoint whose signature declares the typed parameters, which FastAPI documents.
    Requests are served by `OwnerScopedRoute`, which reads the same declarations
    (`ParameterReader`) and hands them to the generic handler as one dict."""

    async def endpoint(request: Request, **params: Any) -> Response:
        return await handler(request, params)

    endpoint.generated = Generated(handler, ParameterReader(annotations))  # type: ignore[attr-defined]

    params = [
        inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Request),
        *(
            inspect.Parameter(
                name,
                inspect.Parameter.KEYWORD_ONLY,
                annotation=annotation,
                default=None if _optional(annotation) else inspect.Parameter.empty,
            )
            for name, annotation in annotations.items()
        ),
    ]
    endpoint.__signature__ = inspect.Signature(params, return_annotation=Response)  # type: ignore[attr-defined]
    return endpoint


def _optional(annotation: Any) -> bool:
    """`Annotated[X | None, ...]` parameters (headers) may be left out."""
    return type(None) in get_args(get_args(annotation)[0]) if get_args(annotation) else False


class CrudRouter(APIRouter):
    @property
    def api_routes(self) -> list[OwnerScopedRoute]:
        return [route for route in self.routes if isinstance(route, OwnerScopedRoute)]


def crud_router(resource: CrudResource, referrers: Sequence[CrudResource] = ()) -> CrudRouter:
    """The routes of `resource`; `referrers`: the resources whose references may name it
    (its created items link to them in the contract)."""
    ops = Operations(resource)
    router = CrudRouter(
        route_class=OwnerScopedRoute, tags=list(resource.tags or (resource.plural,))
    )
    collection = f"/api/{{user_id}}/{resource.plural}"
    item = f"{collection}/{{{resource.item_id}}}"
    name, plural = resource.name, resource.plural
    item_id_path = Annotated[
        str,
        Path(
            min_length=1,
            max_length=64,
            description=f"The {name}'s id (opaque: one that names no {name} is 404).",
        ),
    ]
    ids: dict[str, Any] = {"user_id": UserIdPath, resource.item_id: item_id_path}
    security: dict[str, Any] = {"security": [{"bearerAuth": []}]}

    def body(schema: type[BaseModel]) -> Any:
        return Annotated[schema, Body()]

    def add(path: str, endpoint: Endpoint, method: str, op: str, summary: str, **kw: Any) -> None:
        router.add_api_route(
            path,
            endpoint,
            methods=[method],
            operation_id=op,
            summary=summary,
            openapi_extra=security,
            **kw,
        )

    query_model = list_query_model(resource)
    add(
        collection,
        _with_parameters(ops.list_items, user_id=UserIdPath, query=Annotated[query_model, Query()]),
        "GET",
        f"list_{plural}",
        f"List your {plural}",
        response_model=resource.api.page,
        status_code=200,
        responses=problem_responses(401, 403, 422),
    )
    add(
        collection,
        _with_parameters(
            ops.create,
            user_id=UserIdPath,
            payload=body(resource.api.create),
            idempotency_key=IdempotencyKey,
        ),
        "POST",
        f"create_{name}",
        f"Create a {name}",
        response_model=resource.api.read,
        status_code=201,
        responses={
            201: {
                "headers": {
                    "Location": {"description": "URL of the new item", "schema": {"type": "string"}}
                },
                "links": item_links(resource, referrers),
            },
            **problem_responses(400, 401, 403, 409, 413, 415, 422),
        },
    )
    add(
        item,
        _with_parameters(ops.get, **ids, if_none_match=IfNoneMatch),
        "GET",
        f"get_{name}",
        f"Get a {name}",
        response_model=resource.api.read,
        status_code=200,
        responses={
            304: {"description": "Not modified (If-None-Match)"},
            **problem_responses(401, 403, 404, 422),
        },
    )
    add(
        item,
        _with_parameters(ops.replace, **ids, payload=body(resource.api.replace), if_match=IfMatch),
        "PUT",
        f"replace_{name}",
        f"Replace a {name} (never creates one)",
        response_model=resource.api.read,
        status_code=200,
        responses=problem_responses(400, 401, 403, 404, 409, 412, 413, 415, 422, 428),
    )
    add(
        item,
        _with_parameters(ops.patch, **ids, payload=body(resource.api.patch), if_match=IfMatch),
        "PATCH",
        f"update_{name}",
        f"Change some fields of a {name}",
        response_model=resource.api.read,
        status_code=200,
        responses=problem_responses(400, 401, 403, 404, 409, 412, 413, 415, 422, 428),
    )
    add(
        item,
        _with_parameters(ops.delete, **ids, if_match=IfMatch),
        "DELETE",
        f"delete_{name}",
        f"Delete a {name}",
        status_code=204,
        response_class=Response,
        responses=problem_responses(401, 403, 404, 412, 422, 428),
    )
    for action, flag in resource.toggles.items():
        body_model = toggle_model(name, action, flag, resource.aliases)

        async def toggle(request: Request, params: dict[str, Any], flag: str = flag) -> Response:
            return await ops.toggle(request, params, flag)

        add(
            f"{item}/{action}",
            _with_parameters(
                toggle, **ids, payload=Annotated[body_model | None, Body()], if_match=IfMatch
            ),
            "PATCH",
            f"{action}_{name}",
            f'Toggle `{flag}` of a {name} (no body), or set it (`{{"{flag}": bool}}`)',
            response_model=resource.api.read,
            status_code=200,
            responses=problem_responses(400, 401, 403, 404, 412, 413, 415, 422, 428),
        )
    for path, column in resource.facets.items():

        async def facet(
            request: Request, params: dict[str, Any], column: str = column, path: str = path
        ) -> Response:
            return await ops.facet(request, params, column, path)

        add(
            f"/api/{{user_id}}/{path}",
            _with_parameters(facet, user_id=UserIdPath),
            "GET",
            f"list_{path}",
            f"Your distinct {path}, each with how many {plural} have it",
            response_model=facet_model(name, path),
            status_code=200,
            responses=problem_responses(401, 403),
        )
    return router
