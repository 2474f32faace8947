"""Built-in accounts: register, log in, read yourself, and use the token on the task API."""

import uuid

import httpx
import pytest
from fastapi_users.jwt import generate_jwt

from api.main import create_app
from tests.conftest import test_settings
from tests.support import TEST_SECRET, User

PASSWORD = "correct horse battery staple"


async def _register(client: httpx.AsyncClient, email: str | None = None) -> dict[str, str]:
    email = email or f"u{uuid.uuid4().hex[:8]}@example.com"
    r = await client.post("/auth/register", json={"email": email, "password": PASSWORD})
    assert r.status_code == 201, r.text
    body: dict[str, str] = r.json()
    return body


async def _login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    return await client.post("/auth/jwt/login", data={"username": email, "password": password})


async def test_register_login_me_and_use_the_task_api(client: httpx.AsyncClient) -> None:
    account = await _register(client)
    login = await _login(client, account["email"])
    assert login.status_code == 200, login.text
    token = login.json()["access_token"]
    assert login.json()["token_type"] == "bearer"
    me = await client.get("/users/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200, me.text
    assert me.json()["id"] == account["id"]
    assert "hashed_password" not in me.text

    user = User(client, account["id"], token)
    task = await user.create(title="from a built-in account")
    assert task["user_id"] == account["id"]


async def test_duplicate_email_and_bad_password_are_problems(client: httpx.AsyncClient) -> None:
    account = await _register(client)
    again = await client.post(
        "/auth/register", json={"email": account["email"], "password": PASSWORD}
    )
    assert again.status_code == 409, again.text
    assert again.headers["content-type"] == "application/problem+json"
    assert again.json()["detail"] == "REGISTER_USER_ALREADY_EXISTS"
    wrong = await _login(client, account["email"], "not the password")
    assert wrong.status_code == 400, wrong.text
    assert wrong.json()["detail"] == "LOGIN_BAD_CREDENTIALS"
    assert "not the password" not in wrong.text


@pytest.mark.parametrize("audience", ["fastapi-users:reset", "fastapi-users:verify"])
async def test_reset_and_verify_tokens_are_not_access_tokens(
    client: httpx.AsyncClient, audience: str
) -> None:
    account = await _register(client)
    token = generate_jwt(
        {"sub": account["id"], "email": account["email"], "aud": audience}, TEST_SECRET, 3600
    )
    r = await User(client, account["id"], token).request("GET", f"/api/{account['id']}/tasks")
    assert r.status_code == 401, r.text
    assert r.json()["code"] == "AUTH_INVALID"


async def test_login_is_rate_limited_per_account(client: httpx.AsyncClient) -> None:
    account = await _register(client)
    statuses = [(await _login(client, account["email"], "wrong")).status_code for _ in range(10)]
    assert set(statuses) == {400}
    blocked = await _login(client, account["email"])  # even the right password waits
    assert blocked.status_code == 429, blocked.text
    assert blocked.json()["code"] == "RATE_LIMITED"
    assert int(blocked.headers["retry-after"]) > 0
    other = await _register(client)
    assert (await _login(client, other["email"])).status_code == 200


async def test_login_is_rate_limited_per_address(client: httpx.AsyncClient) -> None:
    for i in range(30):
        r = await _login(client, f"nobody{i}@example.com", "wrong")
        assert r.status_code == 400, r.text
    r = await _login(client, "someone-else@example.com", "wrong")
    assert r.status_code == 429, r.text


async def test_builtin_users_can_be_turned_off(database_url: str) -> None:
    app = create_app(test_settings(database_url, auth_builtin_users=False))
    paths = {getattr(route, "path", "") for route in app.routes}
    assert not {"/auth/register", "/auth/jwt/login", "/users/me"} & paths
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            r = await client.post("/auth/register", json={"email": "a@b.co", "password": PASSWORD})
            assert r.status_code == 404, r.text
