"""A key Better Auth withdraws from its JWKS stops verifying within one cool-down, cached
tokens included, while tokens of the new key keep working (the real Better Auth server)."""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import jwt
import pytest

from api.main import create_app
from tests.conftest import test_settings
from tests.interop.better_auth import BetterAuthServer, running_server
from tests.support import serve

pytestmark = pytest.mark.interop
COOLDOWN = 1.0
FETCH_MARGIN = 0.5  # a key set fetch from the local Better Auth server, on a busy machine


@pytest.fixture(scope="module")
def better_auth() -> Iterator[BetterAuthServer]:
    yield from running_server()


@pytest.fixture
async def api(better_auth: BetterAuthServer, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = test_settings(
        f"sqlite:///{tmp_path / 'todo.db'}",
        better_auth_url=better_auth.base_url,
        jwks_refetch_cooldown_seconds=COOLDOWN,
    )
    async with serve(create_app(settings)) as client:
        yield client


def _token(server: BetterAuthServer, name: str) -> str:
    email = f"{name}-{uuid.uuid4().hex[:8]}@example.com"
    return server.jwt_for(server.sign_up(email, "a long enough password", name))


def _kid(token: str) -> str:
    return str(jwt.get_unverified_header(token)["kid"])


@dataclass
class Seen:
    """Each token's answers after the rotation: (seconds since it, status, code)."""

    old: list[tuple[float, int, str | None]]
    new: list[tuple[float, int, str | None]]


async def _call(api: httpx.AsyncClient, token: str) -> tuple[int, str | None]:
    sub = jwt.decode(token, options={"verify_signature": False})["sub"]
    r = await api.get(f"/api/{sub}/tasks", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code in (200, 401), r.text
    return r.status_code, None if r.status_code == 200 else r.json()["code"]


async def _watch(api: httpx.AsyncClient, old: str, new: str, rotated: float, span: float) -> Seen:
    seen = Seen([], [])
    while (elapsed := time.monotonic() - rotated) < span:
        seen.old.append((elapsed, *await _call(api, old)))
        seen.new.append((time.monotonic() - rotated, *await _call(api, new)))
        await asyncio.sleep(0.02)
    return seen


def _switch(answers: list[tuple[float, int, str | None]], to: int) -> float:
    """When the answers turned to `to` for good: never back afterwards."""
    first = next((i for i, (_, status, _) in enumerate(answers) if status == to), None)
    assert first is not None, f"never {to}: {answers}"
    assert all(status == to for _, status, _ in answers[first:]), answers
    return answers[first][0]


async def _rotate_away(better_auth: BetterAuthServer, old: str) -> tuple[str, float]:
    """Rotate with the old key leaving the JWKS; a token of the new key, and when."""
    better_auth.rotate_keys(retire=True)
    rotated = time.monotonic()
    new = _token(better_auth, "bob")
    published = {key["kid"] for key in better_auth.jwks()["keys"]}
    assert _kid(old) not in published, published
    assert _kid(new) in published, published
    return new, rotated


async def test_a_withdrawn_key_stops_verifying_cached_tokens_while_the_new_key_works(
    better_auth: BetterAuthServer, api: httpx.AsyncClient
) -> None:
    """The key set is older than the cool-down when the key is withdrawn: the next
    request refreshes it, the old key's tokens are 401 from then on, the new key's
    tokens are accepted from their first request."""
    old = _token(better_auth, "alice")
    assert await _call(api, old) == (200, None)  # verified, and now cached
    await asyncio.sleep(COOLDOWN + 0.1)

    new, rotated = await _rotate_away(better_auth, old)
    seen = await _watch(api, old, new, rotated, COOLDOWN + FETCH_MARGIN)

    revoked_after = _switch(seen.old, 401)
    # (The clock includes the sign-up and token requests to Better Auth after rotating.)
    bound = COOLDOWN + FETCH_MARGIN
    assert revoked_after <= bound, f"old key accepted {revoked_after:.2f} s after rotation"
    assert {code for _, status, code in seen.old if status == 401} == {"AUTH_INVALID"}
    assert all(status == 200 for _, status, _ in seen.new), seen.new
    print(f"\n[due key set] old key refused {revoked_after:.3f}s after the rotation")


async def test_a_key_withdrawn_right_after_a_fetch_stops_verifying_within_one_cooldown(
    better_auth: BetterAuthServer, api: httpx.AsyncClient
) -> None:
    """The worst case: the set was fetched just before the key was withdrawn. Tokens of
    the known (withdrawn) key need no fetch, yet are refused within one cool-down (plus
    the fetch), and the new key is picked up by then."""
    old = _token(better_auth, "alice")
    assert await _call(api, old) == (200, None)

    new, rotated = await _rotate_away(better_auth, old)
    seen = await _watch(api, old, new, rotated, 2 * COOLDOWN + FETCH_MARGIN)

    revoked_after = _switch(seen.old, 401)
    accepted_after = _switch(seen.new, 200)
    bound = COOLDOWN + FETCH_MARGIN
    assert revoked_after <= bound, f"old key accepted {revoked_after:.2f} s after rotation"
    assert accepted_after <= bound, f"new key refused {accepted_after:.2f} s after rotation"
    assert {code for _, status, code in seen.old + seen.new if status == 401} == {"AUTH_INVALID"}
    print(
        f"\n[fresh key set] old key refused {revoked_after:.3f}s, "
        f"new key accepted {accepted_after:.3f}s after the rotation"
    )
