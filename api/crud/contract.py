"""What a resource's routes publish beyond their models: the list's query parameters and
the links from a created item to the operations that can use it."""

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from api.crud import cursors
from api.crud.declaration import CrudResource
from schemas.types import ONE_LINE_VISIBLE

DEFAULT_LIMIT = 100  # a front end's whole list in one call
MAX_LIMIT = 1000
MAX_OFFSET = 10_000


def list_query_model(resource: CrudResource) -> type[BaseModel]:
    sort_values = tuple(v for name in resource.sort for v in (name, f"-{name}"))
    filters: dict[str, Any] = {}
    for list_filter in resource.list_filters:
        filters.update(list_filter.query_fields())
    search = ", ".join(resource.search)
    return create_model(
        f"{resource.name.title()}ListQuery",
        __config__=ConfigDict(extra="forbid"),
        limit=(int, Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Page size.")),
        offset=(int, Field(0, ge=0, le=MAX_OFFSET, description="Items to skip.")),
        cursor=(
            str | None,
            Field(
                None,
                min_length=1,
                max_length=cursors.MAX_LENGTH,
                pattern=cursors.PATTERN,
                description="Continue after the page that returned this `next_cursor` "
                "(keyset pagination: every page costs the same). Not with `offset`.",
            ),
        ),
        sort=(
            Literal.__getitem__(sort_values),  # type: ignore[arg-type]
            Field(
                resource.default_sort,
                description="Sort key; `-` for descending; `id` breaks ties; empty values last.",
            ),
        ),
        search=(
            str | None,
            Field(
                None,
                min_length=1,
                max_length=200,
                pattern=ONE_LINE_VISIBLE,
                description=f"Case-insensitive substring of {search}.",
            ),
        ),
        **filters,
    )


def item_links(resource: CrudResource, referrers: Sequence[CrudResource] = ()) -> dict[str, Any]:
    """OpenAPI links from a created item to the operations on it, and to creating and
    listing the items of other resources that reference it (clients and stateful fuzzers
    follow them with the new id)."""
    owner = {"user_id": "$request.path.user_id"}
    parameters = {**owner, resource.item_id: "$response.body#/id"}
    links: dict[str, Any] = {
        f"{verb.title()}{resource.name.title()}": {
            "operationId": f"{verb}_{resource.name}",
            "parameters": parameters,
        }
        for verb in ("get", "replace", "update", "delete")
    }
    for referrer in referrers:
        for column, target in referrer.references.items():
            if target is not resource:
                continue
            links[f"Create{referrer.name.title()}In{resource.name.title()}"] = {
                "operationId": f"create_{referrer.name}",
                "parameters": owner,
                "requestBody": {column: "$response.body#/id"},
            }
            if column in referrer.filter_columns:
                links[f"List{referrer.plural.title()}In{resource.name.title()}"] = {
                    "operationId": f"list_{referrer.plural}",
                    "parameters": {**owner, f"query.{column}": "$response.body#/id"},
                }
    return links
