"""Resource limits: body size (413), per-user rate (429), items per user (409)."""

import uuid
from collections.abc import AsyncGenerator, AsyncIterator

import httpx
import pytest
import redis.asyncio as redis

from api.main import create_app
from tests.conftest import test_settings
from tests.support import User, make_token

LIMIT = 1024


async def _client(
    database_url: str, **overrides: object
) -> AsyncGenerator[httpx.AsyncClient, None]:
    app = create_app(test_settings(database_url, **overrides))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            yield client


@pytest.fixture
async def small_body_client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async for client in _client(database_url, max_body_bytes=LIMIT):
        yield client


async def _chunks(total: int) -> AsyncIterator[bytes]:
    yield b'{"title": "'
    for _ in range(total // 100):
        yield b"a" * 100
    yield b'"}'


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_oversized_body_is_413_and_creates_nothing(
    small_body_client: httpx.AsyncClient, chunked: bool
) -> None:
    alice = User(small_body_client, "alice", make_token("alice"))
    headers = {**alice.headers, "content-type": "application/json"}
    content = _chunks(LIMIT * 4) if chunked else b'{"title": "' + b"a" * LIMIT + b'"}'
    r = await small_body_client.post(alice.url(), content=content, headers=headers)
    assert r.status_code == 413, r.text
    assert r.json()["code"] == "PAYLOAD_TOO_LARGE"
    listed = await alice.request("GET", alice.url())
    assert listed.json()["count"] == 0


async def test_auth_is_decided_before_the_body_is_read(
    small_body_client: httpx.AsyncClient,
) -> None:
    huge = b"x" * (LIMIT * 10)
    json_type = {"content-type": "application/json"}
    r = await small_body_client.post("/api/alice/tasks", content=huge, headers=json_type)
    assert r.status_code == 401, r.text
    bob = {**json_type, "Authorization": f"Bearer {make_token('bob')}"}
    r = await small_body_client.post("/api/alice/tasks", content=huge, headers=bob)
    assert r.status_code == 403, r.text


async def test_body_limit_covers_the_account_routes(small_body_client: httpx.AsyncClient) -> None:
    r = await small_body_client.post(
        "/auth/register", json={"email": "a@example.com", "password": "p" * (LIMIT * 2)}
    )
    assert r.status_code == 413, r.text


async def test_per_user_rate_limit_is_429_with_retry_after(database_url: str) -> None:
    async for client in _client(database_url, rate_limit_per_minute=5):
        alice = User(client, "alice", make_token("alice"))
        for _ in range(5):
            assert (await alice.request("GET", alice.url())).status_code == 200
        r = await alice.request("GET", alice.url())
        assert r.status_code == 429, r.text
        assert r.json()["code"] == "RATE_LIMITED"
        assert 1 <= int(r.headers["retry-after"]) <= 60
        bob = User(client, "bob", make_token("bob"))
        assert (await bob.request("GET", bob.url())).status_code == 200


async def test_redis_rate_limit_is_shared_between_apps(database_url: str) -> None:
    url = "redis://127.0.0.1:6379/15"
    server = redis.from_url(url)
    try:
        await server.ping()
    except (redis.RedisError, OSError) as exc:
        pytest.fail(f"Redis at {url} is needed for this test: {exc}")
    finally:
        await server.aclose()
    user = f"u-{uuid.uuid4().hex}"  # fresh counters, whatever ran before
    token = make_token(user)
    statuses = []
    first = _client(database_url, rate_limit_per_minute=4, redis_url=url)
    second = _client(database_url, rate_limit_per_minute=4, redis_url=url)
    a, b = await anext(first), await anext(second)
    for client in (a, b, a, b, a, b):
        r = await User(client, user, token).request("GET", f"/api/{user}/tasks")
        statuses.append(r.status_code)
    for gen in (first, second):
        await gen.aclose()
    assert statuses == [200, 200, 200, 200, 429, 429]


async def test_items_per_user_are_capped(database_url: str) -> None:
    async for client in _client(database_url, max_items_per_user=3):
        alice = User(client, "alice", make_token("alice"))
        for i in range(3):
            await alice.create(title=f"t{i}")
        r = await alice.request("POST", alice.url(), json={"title": "one too many"})
        assert r.status_code == 409, r.text
        assert r.json()["code"] == "CONFLICT"
        keyed = await alice.request(
            "POST", alice.url(), json={"title": "x"}, headers={"Idempotency-Key": "k"}
        )
        assert keyed.status_code == 409, keyed.text
        assert (await alice.request("GET", alice.url())).json()["count"] == 3
        bob = User(client, "bob", make_token("bob"))
        await bob.create(title="others are not affected")
