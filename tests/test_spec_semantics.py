"""The specification's own rules: owner claims, the shared-secret fallback, the declared
`complete` alias, human validation messages, and the health probes."""

import logging
import time
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from api.auth.shared_secret import ConfigurationError
from api.main import create_app
from tests.conftest import test_settings
from tests.support import TEST_SECRET, User, make_token, serve

FRONT_END_SECRET = "a-better-auth-secret-of-forty-bytes-0123"


def _token(claims: dict[str, Any]) -> str:
    """An HS256 token with exactly these claims (and `iat`, `exp`)."""
    now = int(time.time())
    return jwt.encode({"iat": now, "exp": now + 600, **claims}, TEST_SECRET, algorithm="HS256")


@pytest.mark.parametrize(
    ("claims", "status"),
    [
        pytest.param({"user_id": "alice"}, 200, id="user_id-only"),
        pytest.param({"sub": "alice"}, 200, id="sub-only"),
        pytest.param({"sub": "alice", "user_id": "alice"}, 200, id="both-agree"),
        pytest.param({"sub": "alice", "user_id": "bob"}, 401, id="both-disagree"),
        pytest.param({"user_id": 7}, 401, id="user_id-number"),
        pytest.param({"user_id": ""}, 401, id="user_id-empty"),
        pytest.param({"name": "alice"}, 401, id="no-owner-claim"),
    ],
)
async def test_owner_is_sub_else_user_id(
    client: httpx.AsyncClient, claims: dict[str, Any], status: int
) -> None:
    headers = {"Authorization": f"Bearer {_token(claims)}"}
    r = await client.get("/api/alice/tasks", headers=headers)
    assert r.status_code == status, r.text
    if status == 401:
        assert r.json()["code"] == "AUTH_INVALID"


async def test_better_auth_secret_is_the_fallback_shared_secret(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'todo.db'}"
    settings = test_settings(url, jwt_secret=None, better_auth_secret=FRONT_END_SECRET)
    async with serve(create_app(settings)) as client:
        token = make_token("alice", secret=FRONT_END_SECRET)
        r = await client.get("/api/alice/tasks", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200, r.text
        wrong = make_token("alice")  # signed with another secret
        r = await client.get("/api/alice/tasks", headers={"Authorization": f"Bearer {wrong}"})
        assert r.status_code == 401, r.text


def test_a_short_better_auth_secret_refuses_to_start(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'todo.db'}"
    with pytest.raises(ConfigurationError, match="BETTER_AUTH_SECRET must be at least 32"):
        create_app(test_settings(url, jwt_secret=None, better_auth_secret="short"))


async def test_alias_is_accepted_mirrored_and_must_agree(alice: User) -> None:
    task = await alice.create(title="t", complete=True)
    assert (task["completed"], task["complete"]) == (True, True)
    url = alice.url(item_id=task["id"])
    r = await alice.request("PATCH", url, json={"complete": False, "completed": False})
    assert r.status_code == 200, r.text
    assert (r.json()["completed"], r.json()["complete"]) == (False, False)
    for method, body in (
        ("PATCH", {"complete": True, "completed": False}),
        ("PUT", {"title": "x", "complete": True, "completed": False}),
        ("POST", {"title": "x", "complete": False, "completed": True}),
    ):
        target = alice.url() if method == "POST" else url
        r = await alice.request(method, target, json=body)
        assert r.status_code == 422, r.text
        assert [e["loc"] for e in r.json()["errors"]] == [["body", "complete"]]
    assert [t["id"] for t in await alice.items()] == [task["id"]]


async def test_alias_is_deprecated_in_the_contract(client: httpx.AsyncClient) -> None:
    schemas = (await client.get("/openapi.json")).json()["components"]["schemas"]
    for name in ("TaskCreate", "TaskUpdate", "TaskPatch", "TaskResponse"):
        assert schemas[name]["properties"]["complete"]["deprecated"] is True, name
    assert schemas["TaskPatch"]["minProperties"] == 1
    assert "complete" in schemas["TaskResponse"]["required"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param({"title": "a\x00b"}, "control characters", id="nul"),
        pytest.param({"title": "two\nlines"}, "one line", id="line-break"),
        pytest.param({"title": "t", "description": "bell\x07"}, "control characters", id="bel"),
    ],
)
async def test_validation_messages_are_sentences_not_patterns(
    alice: User, body: dict[str, Any], message: str
) -> None:
    r = await alice.request("POST", alice.url(), json=body)
    assert r.status_code == 422, r.text
    [error] = r.json()["errors"]
    assert message in error["msg"]
    assert "^" not in error["msg"]
    assert "\\x" not in error["msg"]


@pytest.mark.parametrize("title", ["\tBuy milk\t", "\n Buy milk \r\n", "  Buy milk"])
async def test_surrounding_white_space_tabs_included_is_stripped(alice: User, title: str) -> None:
    assert (await alice.create(title=title))["title"] == "Buy milk"


async def test_health_needs_no_token_and_readiness_checks_the_database(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="todo_api.access"):
        live = await client.get("/health")
        ready = await client.get("/health/ready")
    assert (live.status_code, live.json()) == (200, {"status": "ok"}), live.text
    assert ready.status_code == 200, ready.text
    assert ready.json() == {"status": "ready", "database": "ok", "signing_keys": "ok"}
    assert not [r for r in caplog.records if r.name == "todo_api.access"], "probes log at debug"
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert {"/health", "/health/ready"} <= paths.keys()


async def test_readiness_is_503_when_the_database_is_gone(tmp_path: Path) -> None:
    settings = test_settings("postgresql://postgres@127.0.0.1:1/none", db_connect_timeout_seconds=2)
    async with serve(create_app(settings), lifespan=False) as client:
        assert (await client.get("/health")).status_code == 200
        r = await client.get("/health/ready")
    assert r.status_code == 503, r.text
    assert r.headers["retry-after"]
    assert r.json()["code"] == "SERVICE_UNAVAILABLE"
