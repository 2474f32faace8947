"""Against a real Better Auth server: its EdDSA JWTs work, users stay apart, keys rotate."""

import asyncio
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import jwt
import pytest

from api.main import create_app
from tests.conftest import test_settings
from tests.interop.better_auth import BetterAuthServer, running_server
from tests.mcp_support import assistant
from tests.server_process import ServerProcess
from tests.support import User

pytestmark = pytest.mark.interop
COOLDOWN = 0.2


@pytest.fixture(scope="module")
def better_auth() -> Iterator[BetterAuthServer]:
    yield from running_server()


@pytest.fixture
async def ba_client(
    better_auth: BetterAuthServer, database_url: str
) -> AsyncIterator[httpx.AsyncClient]:
    settings = test_settings(
        database_url,
        better_auth_url=better_auth.base_url,
        jwks_refetch_cooldown_seconds=COOLDOWN,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            yield client


def _sign_up(server: BetterAuthServer, client: httpx.AsyncClient, name: str) -> User:
    email = f"{name}-{uuid.uuid4().hex[:8]}@example.com"
    account = server.sign_up(email, "a long enough password", name)
    return User(client, account.id, server.jwt_for(account))


async def test_isolation_between_two_better_auth_users(
    better_auth: BetterAuthServer, ba_client: httpx.AsyncClient
) -> None:
    alice = _sign_up(better_auth, ba_client, "alice")
    bob = _sign_up(better_auth, ba_client, "bob")
    task = await alice.create(title="alice's secret")
    own = await alice.request("GET", alice.url())
    assert own.status_code == 200, own.text
    assert [t["id"] for t in own.json()["tasks"]] == [task["id"]]

    foreign_path = await bob.request("GET", alice.url(item_id=task["id"]))
    assert foreign_path.status_code == 403, foreign_path.text
    assert foreign_path.json()["code"] == "AUTH_FORBIDDEN"
    for method, body in (("GET", None), ("PATCH", {"title": "mine"}), ("DELETE", None)):
        r = await bob.request(method, bob.url(item_id=task["id"]), json=body)
        assert r.status_code == 404, r.text
    bob_list = await bob.request("GET", bob.url())
    assert bob_list.json()["count"] == 0, bob_list.text

    unchanged = await alice.request("GET", alice.url(item_id=task["id"]))
    assert unchanged.json() == task


async def test_rotated_signing_key_is_picked_up_without_restart(
    better_auth: BetterAuthServer, ba_client: httpx.AsyncClient
) -> None:
    alice = _sign_up(better_auth, ba_client, "alice")
    before = await alice.request("GET", alice.url())
    assert before.status_code == 200, before.text

    better_auth.rotate_keys()
    await asyncio.sleep(COOLDOWN * 2)  # the API may refetch keys once per cooldown
    account_token = better_auth.jwt_for(
        better_auth.sign_up(f"carol-{uuid.uuid4().hex[:8]}@example.com", "a long password!", "c")
    )
    assert _kid(account_token) != _kid(alice.token)
    carol_id = _sub(account_token)
    after = await ba_client.get(
        f"/api/{carol_id}/tasks", headers={"Authorization": f"Bearer {account_token}"}
    )
    assert after.status_code == 200, after.text
    # Tokens signed before the rotation stay valid while their key is still published.
    still = await alice.request("GET", alice.url())
    assert still.status_code == 200, still.text


async def test_tampered_better_auth_token_is_rejected(
    better_auth: BetterAuthServer, ba_client: httpx.AsyncClient
) -> None:
    alice = _sign_up(better_auth, ba_client, "alice")
    header, payload, signature = alice.token.split(".")
    forged = User(ba_client, alice.user_id, f"{header}.{payload}.{signature[::-1]}")
    r = await forged.request("GET", forged.url())
    assert r.status_code == 401, r.text
    assert r.json()["code"] == "AUTH_INVALID"


async def test_an_mcp_tool_call_with_a_better_auth_token(
    better_auth: BetterAuthServer, sqlite_template: Path, tmp_path: Path
) -> None:
    """An assistant acting for a Better Auth user, on a real server: the user's own JWT
    reaches the user's own tasks, as it does over REST."""
    shutil.copy(sqlite_template, tmp_path / "todo.db")
    env = {"BETTER_AUTH_URL": better_auth.base_url}
    with ServerProcess(f"sqlite:///{tmp_path / 'todo.db'}", env) as server:
        account = better_auth.sign_up(
            f"ada-{uuid.uuid4().hex[:8]}@example.com", "a long password!", "a"
        )
        async with assistant(server.base_url, account.id, token=better_auth.jwt_for(account)) as me:
            task = await me.call("add_task", title="asked the assistant")
            seen = await me.rest.request("GET", me.rest.url(item_id=task["id"]))
    assert seen.status_code == 200, seen.text
    assert seen.json() == task
    assert task["user_id"] == account.id


def _kid(token: str) -> object:
    return jwt.get_unverified_header(token)["kid"]


def _sub(token: str) -> str:
    return str(jwt.decode(token, options={"verify_signature": False})["sub"])
