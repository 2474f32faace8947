"""Optimistic concurrency: ETags, If-Match (412/428) and If-None-Match (304)."""

import asyncio
import dataclasses

import httpx
import pytest

from api.main import create_app
from api.resources import tasks
from tests.conftest import test_settings
from tests.support import User, make_token


async def test_etag_on_every_item_response_and_it_changes_with_writes(alice: User) -> None:
    created = await alice.request("POST", alice.url(), json={"title": "t"})
    assert created.headers["etag"] == '"1"'
    url = created.headers["location"]
    got = await alice.request("GET", url)
    assert got.headers["etag"] == '"1"'
    patched = await alice.request("PATCH", url, json={"title": "u"})
    assert patched.headers["etag"] == '"2"'
    assert patched.json()["version"] == 2
    put = await alice.request("PUT", url, json={"title": "v", "completed": False})
    assert put.headers["etag"] == '"3"'


async def test_if_none_match_gives_304_until_the_item_changes(alice: User) -> None:
    created = await alice.request("POST", alice.url(), json={"title": "t"})
    url, tag = created.headers["location"], created.headers["etag"]
    for header in (tag, f"W/{tag}", f'"999", {tag}', "*"):
        r = await alice.request("GET", url, headers={"If-None-Match": header})
        assert r.status_code == 304, r.text
        assert r.content == b""
        assert r.headers["etag"] == tag
    await alice.request("PATCH", url, json={"completed": True})
    r = await alice.request("GET", url, headers={"If-None-Match": tag})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
async def test_stale_if_match_is_412_and_changes_nothing(alice: User, method: str) -> None:
    created = await alice.request("POST", alice.url(), json={"title": "t"})
    url, stale = created.headers["location"], created.headers["etag"]
    fresh = await alice.request("PATCH", url, json={"title": "newer"})
    body = None if method == "DELETE" else {"title": "overwrite", "completed": False}
    for header in (stale, f"W/{fresh.headers['etag']}", '"abc"', '"²"'.encode()):
        r = await alice.request(method, url, json=body, headers={"If-Match": header})
        assert r.status_code == 412, r.text
        assert r.json()["code"] == "PRECONDITION_FAILED"
    assert (await alice.request("GET", url)).json() == fresh.json()


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
async def test_current_if_match_succeeds(alice: User, method: str) -> None:
    created = await alice.request("POST", alice.url(), json={"title": "t"})
    url, tag = created.headers["location"], created.headers["etag"]
    body = None if method == "DELETE" else {"title": "ok", "completed": False}
    r = await alice.request(method, url, json=body, headers={"If-Match": f'"7", {tag}'})
    assert r.status_code in (200, 204), r.text
    assert (await alice.request("GET", url)).status_code == (404 if method == "DELETE" else 200)


async def test_if_match_on_missing_item_is_404(alice: User) -> None:
    created = await alice.request("POST", alice.url(), json={"title": "t"})
    url, tag = created.headers["location"], created.headers["etag"]
    r = await alice.request("PATCH", url, json={"title": "t"}, headers={"If-Match": '"5"'})
    assert r.status_code == 412, r.text
    r = await alice.request("PATCH", url, json={"title": "t"}, headers={"If-Match": tag})
    assert r.status_code == 200, r.text
    tag = r.headers["etag"]
    await alice.request("DELETE", url)
    r = await alice.request("PATCH", url, json={"title": "x"}, headers={"If-Match": tag})
    assert r.status_code == 404, r.text


async def test_resource_can_require_if_match(database_url: str) -> None:
    strict = dataclasses.replace(tasks, require_if_match=True)
    app = create_app(test_settings(database_url), resources=(strict,))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            alice = User(client, "alice", make_token("alice"))
            created = await alice.request("POST", alice.url(), json={"title": "t"})
            url = created.headers["location"]
            for method, body in (
                ("PUT", {"title": "x", "completed": False}),
                ("PATCH", {"title": "x"}),
                ("DELETE", None),
            ):
                r = await alice.request(method, url, json=body)
                assert r.status_code == 428, r.text
                assert r.json()["code"] == "PRECONDITION_REQUIRED"
            r = await alice.request(
                "PATCH", url, json={"title": "x"}, headers={"If-Match": created.headers["etag"]}
            )
            assert r.status_code == 200, r.text


async def test_concurrent_patches_with_one_etag_exactly_one_wins(alice: User) -> None:
    """On PostgreSQL the writers really race; the version check inside the UPDATE lets
    exactly one through (SQLite serialises them, with the same outcome)."""
    created = await alice.request("POST", alice.url(), json={"title": "t"})
    url, tag = created.headers["location"], created.headers["etag"]
    responses = await asyncio.gather(
        *(
            alice.request("PATCH", url, json={"title": f"writer {i}"}, headers={"If-Match": tag})
            for i in range(8)
        )
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [412] * 7, [r.text for r in responses]
    winner = next(r for r in responses if r.status_code == 200).json()
    assert (await alice.request("GET", url)).json() == winner
    assert winner["version"] == 2
