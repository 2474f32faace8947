"""Bearer tokens (HS256): 401 for missing or bad ones, 403 for another user's path, and
both decided before the body is read or the database is touched."""

import base64
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from api.main import create_app
from tests.conftest import test_settings
from tests.support import TEST_SECRET, User, make_token, serve

PROBLEM = "application/problem+json"
ONE_MEGABYTE = b'{"title": "' + b"x" * (1024 * 1024) + b'"}'

# The six generated endpoints: name -> (method, on an item?, JSON body).
SIX: dict[str, tuple[str, bool, Any]] = {
    "list": ("GET", False, None),
    "create": ("POST", False, {"title": "x"}),
    "get": ("GET", True, None),
    "replace": ("PUT", True, {"title": "x"}),
    "update": ("PATCH", True, {"title": "x"}),
    "delete": ("DELETE", True, None),
}


def _unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part(header)}.{part(claims)}."


def _hs256(claims: dict[str, Any], **header: Any) -> str:
    return jwt.encode(claims, TEST_SECRET, algorithm="HS256", headers=header or None)


def _now() -> int:
    return int(time.time())


INVALID_AUTHORIZATION: list[Any] = [
    pytest.param(lambda: "Basic YWxpY2U6cHc=", id="basic-scheme"),
    pytest.param(lambda: "Bearer", id="bearer-without-token"),
    pytest.param(lambda: "Bearer    ", id="bearer-blank-token"),
    pytest.param(lambda: make_token("alice"), id="token-without-scheme"),
    pytest.param(lambda: "Bearer garbage", id="garbage"),
    pytest.param(lambda: "Bearer a.b.c", id="three-garbage-parts"),
    pytest.param(lambda: f"Bearer {make_token('alice', lifetime=-120)}", id="expired"),
    pytest.param(
        lambda: f"Bearer {make_token('alice', secret='another-secret-of-at-least-32-bytes!!')}",
        id="wrong-secret",
    ),
    pytest.param(
        lambda: "Bearer " + _unsigned({"alg": "none"}, {"sub": "alice", "exp": _now() + 600}),
        id="alg-none",
    ),
    pytest.param(
        lambda: "Bearer " + _unsigned({"alg": "None"}, {"sub": "alice", "exp": _now() + 600}),
        id="alg-None-capitalised",
    ),
    pytest.param(
        lambda: (
            "Bearer "
            + jwt.encode({"sub": "alice", "exp": _now() + 600}, TEST_SECRET, algorithm="HS384")
        ),
        id="unpinned-alg-hs384",
    ),
    pytest.param(lambda: f"Bearer {_hs256({'exp': _now() + 600})}", id="missing-sub"),
    pytest.param(lambda: f"Bearer {_hs256({'sub': 'alice'})}", id="missing-exp"),
    pytest.param(lambda: f"Bearer {_hs256({'sub': '', 'exp': _now() + 600})}", id="empty-sub"),
    pytest.param(lambda: f"Bearer {_hs256({'sub': 7, 'exp': _now() + 600})}", id="numeric-sub"),
    pytest.param(
        lambda: f"Bearer {_hs256({'sub': 'alice', 'exp': 'tomorrow'})}", id="malformed-exp"
    ),
    pytest.param(lambda: f"Bearer {make_token('alice', nbf=_now() + 3600)}", id="nbf-future"),
    pytest.param(lambda: f"Bearer {make_token('alice', padding='p' * 9000)}", id="oversized-token"),
    pytest.param(
        lambda: f"Bearer {_hs256({'sub': 'alice', 'exp': _now() + 600}, jku='http://evil')}",
        id="header-jku",
    ),
]


async def _call(
    client: httpx.AsyncClient,
    method: str,
    on_item: bool,
    body: Any,
    item_id: str,
    headers: dict[str, str],
    owner: str = "alice",
) -> httpx.Response:
    url = f"/api/{owner}/tasks" + (f"/{item_id}" if on_item else "")
    return await client.request(method, url, json=body, headers=headers)


def _assert_problem(r: httpx.Response, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    assert r.json()["code"] == code
    if status == 401:
        assert r.headers["www-authenticate"].startswith("Bearer"), r.headers


@pytest.mark.parametrize("authorization", [None, ""], ids=["no-header", "empty-header"])
async def test_missing_token_is_401_auth_missing(
    alice: User, client: httpx.AsyncClient, authorization: str | None
) -> None:
    task = await alice.create(title="keep")
    headers = {} if authorization is None else {"Authorization": authorization}
    for method, on_item, body in SIX.values():
        r = await _call(client, method, on_item, body, task["id"], headers)
        _assert_problem(r, 401, "AUTH_MISSING")
        assert r.headers["www-authenticate"] == "Bearer"
    assert await alice.items() == [task]


@pytest.mark.parametrize("authorization", INVALID_AUTHORIZATION)
async def test_invalid_token_is_401_auth_invalid(
    alice: User, client: httpx.AsyncClient, authorization: Callable[[], str]
) -> None:
    task = await alice.create(title="keep")
    headers = {"Authorization": authorization()}
    for method, on_item, body in SIX.values():
        r = await _call(client, method, on_item, body, task["id"], headers)
        _assert_problem(r, 401, "AUTH_INVALID")
    assert await alice.items() == [task]


async def test_scheme_is_case_insensitive(alice: User, client: httpx.AsyncClient) -> None:
    r = await client.get(alice.url(), headers={"Authorization": f"bearer {alice.token}"})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("endpoint", SIX)
async def test_another_users_path_is_403_on_every_endpoint(
    alice: User, bob: User, endpoint: str
) -> None:
    method, on_item, body = SIX[endpoint]
    task = await alice.create(title="alice's")
    r = await _call(bob.client, method, on_item, body, task["id"], bob.headers)
    _assert_problem(r, 403, "AUTH_FORBIDDEN")
    assert await alice.items() == [task]
    assert await bob.items() == []


MALFORMED = b'{"title": '
# (Authorization: none / bob's on alice's path, body, content type, item id): each must
# be answered by the auth check, whatever else is wrong with the request.
WRONG_AND_UNAUTHORISED = [
    pytest.param(MALFORMED, "application/json", None, id="malformed-json"),
    pytest.param(ONE_MEGABYTE, "application/json", None, id="1mb-body"),
    pytest.param(b'{"title": "x"}', "text/plain", None, id="wrong-content-type"),
    pytest.param(b'{"title": "x"}', None, None, id="no-content-type"),
    pytest.param(b'{"title": ""}', "application/json", None, id="schema-violation"),
    pytest.param(b'{"title": "x"}', "application/json", "not-a-uuid", id="malformed-task-id"),
    pytest.param(b'{"title": "x"}', "application/json", "0" * 32, id="missing-task"),
]


@pytest.mark.parametrize(("content", "content_type", "item_id"), WRONG_AND_UNAUTHORISED)
@pytest.mark.parametrize("caller", ["anonymous", "bob"])
async def test_auth_is_decided_before_anything_else(
    alice: User,
    bob: User,
    caller: str,
    content: bytes,
    content_type: str | None,
    item_id: str | None,
) -> None:
    task = await alice.create(title="keep")
    headers = {} if caller == "anonymous" else dict(bob.headers)
    if content_type is not None:
        headers["content-type"] = content_type
    status, code = (401, "AUTH_MISSING") if caller == "anonymous" else (403, "AUTH_FORBIDDEN")
    for method in ("POST", "PUT", "PATCH"):
        url = alice.url() if method == "POST" else alice.url(item_id=item_id or task["id"])
        r = await alice.client.request(method, url, content=content, headers=headers)
        _assert_problem(r, status, code)
    assert await alice.items() == [task]


@pytest.mark.parametrize(
    "database_url",
    [
        pytest.param("postgresql://postgres@127.0.0.1:1/nowhere", id="postgresql"),
        pytest.param("sqlite:///{missing}/todo.db", id="sqlite"),
    ],
)
async def test_401_and_403_never_touch_the_database(database_url: str, tmp_path: Path) -> None:
    """With no database at all, the auth answers are unchanged; only an authorised call
    notices (503), so the others cannot have reached it."""
    url = database_url.format(missing=tmp_path / "does-not-exist")
    app = create_app(test_settings(url))
    async with serve(app, lifespan=False) as client:
        item_id = "0" * 32
        bob = {"Authorization": f"Bearer {make_token('bob')}"}
        for method, on_item, body in SIX.values():
            _assert_problem(
                await _call(client, method, on_item, body, item_id, {}), 401, "AUTH_MISSING"
            )
            _assert_problem(
                await _call(client, method, on_item, body, item_id, bob), 403, "AUTH_FORBIDDEN"
            )
        own = await _call(client, "GET", False, None, item_id, bob, owner="bob")
        _assert_problem(own, 503, "SERVICE_UNAVAILABLE")
