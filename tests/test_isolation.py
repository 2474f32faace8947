"""Owners are isolated on every registered resource: another person's items do not exist.

The tests loop over `api.resources.RESOURCES`, so a new resource is covered as soon as it
is declared (its request schemas publish `examples`, from which the bodies are built).
"""

from typing import Any

import httpx
import pytest

from api.crud import CrudResource
from api.resources import RESOURCES
from tests.support import User, example_body

pytestmark = pytest.mark.parametrize("resource", [pytest.param(r, id=r.name) for r in RESOURCES])

WRITES_ON_ITEMS = ["GET", "PUT", "PATCH", "DELETE"]


def _body(resource: CrudResource, method: str) -> dict[str, Any] | None:
    schemas = {"POST": resource.create, "PUT": resource.replace, "PATCH": resource.patch}
    return example_body(schemas[method]) if method in schemas else None


def _without_request_id(r: httpx.Response) -> dict[str, Any]:
    problem: dict[str, Any] = r.json()
    problem.pop("request_id")
    return problem


async def test_list_shows_only_your_own_items(
    resource: CrudResource, alice: User, bob: User
) -> None:
    plural = resource.plural
    hers = [await alice.create(plural, **example_body(resource.create)) for _ in range(3)]
    his = await bob.create(plural, **example_body(resource.create))
    assert await bob.items(plural) == [his]
    assert sorted(t["id"] for t in await alice.items(plural)) == sorted(t["id"] for t in hers)
    searches = [{"search": "e"}] if resource.search else []
    for params in (*searches, {"limit": 1, "offset": 0}, {"offset": 1}):
        r = await bob.request("GET", bob.url(plural), params=params)
        assert r.status_code == 200, r.text
        assert r.json()["count"] <= 1, r.text


@pytest.mark.parametrize("method", WRITES_ON_ITEMS)
async def test_another_users_item_is_404_like_a_missing_one(
    resource: CrudResource, alice: User, bob: User, method: str
) -> None:
    plural = resource.plural
    item = await alice.create(plural, **example_body(resource.create))
    missing = "0" * 32
    body = _body(resource, method)
    theirs = await bob.request(method, bob.url(plural, item["id"]), json=body)
    nothing = await bob.request(method, bob.url(plural, missing), json=body)
    assert theirs.status_code == 404, theirs.text
    assert theirs.json()["code"] == "NOT_FOUND"
    assert _without_request_id(theirs) == _without_request_id(nothing)
    assert await alice.items(plural) == [item]
    assert await bob.items(plural) == []


@pytest.mark.parametrize("method", ["POST", *WRITES_ON_ITEMS])
async def test_another_users_path_is_403_and_changes_nothing(
    resource: CrudResource, alice: User, bob: User, method: str
) -> None:
    plural = resource.plural
    item = await alice.create(plural, **example_body(resource.create))
    url = alice.url(plural) if method == "POST" else alice.url(plural, item["id"])
    r = await bob.request(method, url, json=_body(resource, method))
    assert r.status_code == 403, r.text
    assert r.json()["code"] == "AUTH_FORBIDDEN"
    assert await alice.items(plural) == [item]
    assert await bob.items(plural) == []


@pytest.mark.parametrize("owner", ["bob", "alice"])
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
async def test_owner_in_the_body_is_422(
    resource: CrudResource, alice: User, bob: User, method: str, owner: str
) -> None:
    plural = resource.plural
    item = await alice.create(plural, **example_body(resource.create))
    url = alice.url(plural) if method == "POST" else alice.url(plural, item["id"])
    body = {**(_body(resource, method) or {}), resource.owner: owner}
    r = await alice.request(method, url, json=body)
    assert r.status_code == 422, r.text
    assert ["body", resource.owner] in [e["loc"] for e in r.json()["errors"]]
    assert await alice.items(plural) == [item]
    assert await bob.items(plural) == []
