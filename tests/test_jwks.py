"""Better Auth's key set: where it comes from, how it is cached, refetched and survived."""

import asyncio
import logging
import shutil
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from jwt.algorithms import get_default_algorithms

from api.settings import Settings
from tests.conftest import test_settings
from tests.jwks_server import (
    JWKS_PATH,
    JwksServer,
    Mode,
    SigningKey,
    assert_unauthorized,
    assert_verdict,
    better_auth_claims,
    default_keys,
    forge,
    list_tasks,
    running_api,
    secret_claims,
    sign,
)
from tests.support import TEST_SECRET, make_token

ApiFactory = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def server() -> Iterator[JwksServer]:
    with JwksServer(default_keys()) as jwks:
        yield jwks


@pytest.fixture
def settings_for(sqlite_template: Path, tmp_path: Path) -> Callable[..., Settings]:
    """Settings on a fresh SQLite copy (each auth test needs one engine only)."""
    path = tmp_path / "todo.db"
    shutil.copy(sqlite_template, path)

    def make(**overrides: object) -> Settings:
        return test_settings(f"sqlite:///{path}", **overrides)

    return make


@pytest.fixture
def api_for(settings_for: Callable[..., Settings]) -> ApiFactory:
    """`async with api_for(**settings) as client`: the real app with these settings."""
    return lambda **overrides: running_api(settings_for(**overrides))


@pytest.fixture
async def api(server: JwksServer, api_for: ApiFactory) -> AsyncIterator[httpx.AsyncClient]:
    """Better Auth at `server`, as deployed (BETTER_AUTH_URL and the shared secret), but
    with no refetch cooldown, so tests of other things never wait for one."""
    async with api_for(better_auth_url=server.base_url, jwks_refetch_cooldown_seconds=0) as client:
        yield client


def token_for(server: JwksServer, kid: str = "ed-1", **claims: Any) -> str:
    return sign(server.keys[kid], better_auth_claims(server.base_url, **claims))


async def test_keys_come_from_better_auth_url_jwks_path(
    api: httpx.AsyncClient, server: JwksServer
) -> None:
    r = await list_tasks(api, token_for(server))
    assert r.status_code == 200, r.text
    assert server.hits(JWKS_PATH) == 1
    assert server.total_hits() == 1


async def test_trailing_slash_on_better_auth_url_is_ignored(
    api_for: ApiFactory, server: JwksServer
) -> None:
    async with api_for(better_auth_url=server.base_url + "/") as api:
        r = await list_tasks(api, token_for(server))
    assert r.status_code == 200, r.text
    assert server.hits(JWKS_PATH) == 1


async def test_jwt_jwks_url_overrides_the_derived_url(
    api_for: ApiFactory, server: JwksServer
) -> None:
    custom = server.base_url + "/keys/custom.json"
    async with api_for(better_auth_url=server.base_url, jwt_jwks_url=custom) as api:
        r = await list_tasks(api, token_for(server))
    assert r.status_code == 200, r.text
    assert server.hits("/keys/custom.json") == 1
    assert server.hits(JWKS_PATH) == 0


@pytest.mark.parametrize(
    ("claims", "accepted"),
    [
        pytest.param({"iss": "https://id.example", "aud": "todo-api"}, True, id="overrides"),
        pytest.param({}, False, id="better-auth-url-no-longer-accepted"),
        pytest.param({"iss": "https://id.example"}, False, id="aud-still-base-url"),
        pytest.param({"aud": "todo-api"}, False, id="iss-still-base-url"),
    ],
)
async def test_jwt_issuer_and_audience_override_the_base_url(
    api_for: ApiFactory, server: JwksServer, claims: dict[str, str], accepted: bool
) -> None:
    async with api_for(
        better_auth_url=server.base_url, jwt_issuer="https://id.example", jwt_audience="todo-api"
    ) as api:
        token = token_for(server, **claims)
        r = await list_tasks(api, token)
    assert_verdict(r, token, accepted=accepted)


@pytest.mark.parametrize(
    ("kid", "alg"),
    [
        pytest.param("ed-1", "EdDSA", id="Ed25519-EdDSA"),
        pytest.param("ec-1", "ES256", id="P256-ES256"),
        pytest.param("rsa-1", "RS256", id="RSA-RS256"),
        pytest.param("rsa-1", "PS256", id="RSA-PS256"),
    ],
)
async def test_each_key_type_verifies_its_allow_listed_algorithms(
    api: httpx.AsyncClient, server: JwksServer, kid: str, alg: str
) -> None:
    token = sign(server.keys[kid], better_auth_claims(server.base_url), alg=alg)
    r = await list_tasks(api, token)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    ("declared", "alg", "accepted"),
    [
        pytest.param("RS256", "RS256", True, id="declared-RS256-used"),
        pytest.param("RS256", "PS256", False, id="declared-RS256-PS256-refused"),
        pytest.param("PS256", "RS256", False, id="declared-PS256-RS256-refused"),
        pytest.param("HS256", "RS256", False, id="declared-HS256-key-ignored"),
    ],
)
async def test_an_alg_declared_in_the_jwk_narrows_what_it_verifies(
    api: httpx.AsyncClient, server: JwksServer, declared: str, alg: str, accepted: bool
) -> None:
    rsa = server.keys["rsa-1"]
    server.publish([rsa.jwk(alg=declared)])
    token = sign(rsa, better_auth_claims(server.base_url), alg=alg)
    r = await list_tasks(api, token)
    assert_verdict(r, token, accepted=accepted)


async def test_keys_are_cached_by_kid(api: httpx.AsyncClient, server: JwksServer) -> None:
    """Even with no cooldown at all, a known kid never costs a fetch."""
    for kid in ("ed-1", "ed-1", "ec-1", "rsa-1", "ed-1"):
        r = await list_tasks(api, token_for(server, kid))
        assert r.status_code == 200, r.text
    assert server.hits() == 1


def _forged_tokens(server: JwksServer, count: int) -> list[str]:
    forgers = [SigningKey.generate("Ed25519", f"forged-{i}") for i in range(count)]
    return [sign(key, better_auth_claims(server.base_url)) for key in forgers]


async def test_a_burst_of_forged_kids_costs_at_most_one_fetch(
    api_for: ApiFactory, server: JwksServer
) -> None:
    tokens = _forged_tokens(server, 30)
    async with api_for(better_auth_url=server.base_url, jwks_refetch_cooldown_seconds=60) as api:
        for _ in range(2):  # the first burst shares one fetch; the second gets none
            responses = await asyncio.gather(*(list_tasks(api, t) for t in tokens))
            for response, token in zip(responses, tokens, strict=True):
                assert_unauthorized(response, token)
            assert server.hits() == 1
        r = await list_tasks(api, token_for(server))
        assert r.status_code == 200, r.text
    assert server.hits() == 1


async def test_unknown_kid_refetches_once_the_cooldown_has_passed(
    api_for: ApiFactory, server: JwksServer
) -> None:
    """Rotation: a new key is picked up within one cooldown, a retired one is dropped."""
    cooldown = 1.0  # long enough that the second request surely falls within it
    async with api_for(
        better_auth_url=server.base_url, jwks_refetch_cooldown_seconds=cooldown
    ) as api:
        r = await list_tasks(api, token_for(server, "ed-1"))
        assert r.status_code == 200, r.text
        server.publish([SigningKey.generate("Ed25519", "ed-2")])
        rotated = token_for(server, "ed-2")
        assert_unauthorized(await list_tasks(api, rotated), rotated)  # within the cooldown
        assert server.hits() == 1
        await asyncio.sleep(cooldown + 0.1)
        r = await list_tasks(api, rotated)
        assert r.status_code == 200, r.text
        assert server.hits() == 2
        retired = token_for(server, "ed-1")
        assert_unauthorized(await list_tasks(api, retired), retired)


@pytest.mark.parametrize("failure", ["error", "close"])
async def test_failed_refetch_keeps_the_last_good_key_set(
    api: httpx.AsyncClient, server: JwksServer, failure: Mode
) -> None:
    for kid in ("ed-1", "ec-1"):
        r = await list_tasks(api, token_for(server, kid))
        assert r.status_code == 200, r.text
    server.fail(failure)
    [unknown] = _forged_tokens(server, 1)
    assert_unauthorized(await list_tasks(api, unknown), unknown)
    assert server.hits() == 2  # the refetch happened, and failed
    for kid in ("ed-1", "ec-1", "rsa-1"):
        r = await list_tasks(api, token_for(server, kid))
        assert r.status_code == 200, r.text


def _unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.mark.parametrize("failure", ["refused", "error", "close", "not-a-jwks"])
async def test_no_key_set_ever_obtained_is_503_with_retry_after(
    api_for: ApiFactory, server: JwksServer, failure: str
) -> None:
    url = server.jwks_url
    if failure == "refused":
        url = f"http://127.0.0.1:{_unused_port()}{JWKS_PATH}"
    elif failure == "not-a-jwks":
        server.publish_raw(b"<html>Better Auth is starting</html>")
    else:
        server.fail("error" if failure == "error" else "close")
    async with api_for(
        better_auth_url=server.base_url, jwt_jwks_url=url, jwks_refetch_cooldown_seconds=0
    ) as api:
        token = token_for(server)
        r = await list_tasks(api, token)
        assert r.status_code == 503, r.text
        assert r.headers["retry-after"].isdigit(), r.headers
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["code"] == "SERVICE_UNAVAILABLE"
        assert token not in r.text
        secret_path = await list_tasks(api, make_token("user-1"))
        assert secret_path.status_code == 200, secret_path.text  # HS256 is unaffected

        if failure != "refused":  # once the key server recovers, so does the API
            server.fail("ok")
            server.publish(list(server.keys.values()))
            r = await list_tasks(api, token)
            assert r.status_code == 200, r.text


async def test_slow_key_server_never_blocks_the_event_loop(
    api: httpx.AsyncClient, server: JwksServer
) -> None:
    """The key server answers after 5 s; the API's fetch gives up at 3 s with a 503, and
    a request that needs no fetch is served meanwhile."""
    server.delay = 5.0

    async def timed(token: str) -> tuple[httpx.Response, float]:
        started = time.monotonic()
        response = await list_tasks(api, token)
        return response, time.monotonic() - started

    waiting = asyncio.create_task(timed(token_for(server)))
    for _ in range(200):  # until the fetch is in flight
        if server.hits():
            break
        await asyncio.sleep(0.01)
    assert server.hits() == 1
    quick, quick_elapsed = await timed(make_token("user-1"))
    assert quick.status_code == 200, quick.text
    assert quick_elapsed < 1.0
    assert not waiting.done()
    slow, slow_elapsed = await waiting
    assert slow.status_code == 503, slow.text
    assert slow.headers["retry-after"].isdigit()
    assert slow_elapsed < 4.5


@pytest.mark.parametrize(
    ("token_kind", "accepted", "fetches"),
    [
        pytest.param("hs256", True, 0, id="hs256-secret-no-fetch"),
        pytest.param("hs256-with-jwks-kid", True, 0, id="hs256-kid-ignored-no-fetch"),
        pytest.param("hs256-better-auth-aud", False, 0, id="hs256-secret-rules-apply"),
        pytest.param("eddsa", True, 1, id="eddsa-from-jwks"),
        pytest.param("eddsa-builtin-aud", False, 1, id="eddsa-jwks-rules-apply"),
    ],
)
async def test_each_algorithm_is_checked_against_its_own_key_source(
    api: httpx.AsyncClient, server: JwksServer, token_kind: str, accepted: bool, fetches: int
) -> None:
    """Both sources on: HS256 goes to the secret only (never to the key set), EdDSA to the
    key set only, each with its own iss/aud rules."""
    token = {
        "hs256": make_token("user-1"),
        "hs256-with-jwks-kid": _hs256_with_kid("ed-1"),
        "hs256-better-auth-aud": make_token("user-1", aud=server.base_url, iss=server.base_url),
        "eddsa": token_for(server),
        "eddsa-builtin-aud": token_for(server, aud="fastapi-users:auth"),
    }[token_kind]
    r = await list_tasks(api, token)
    assert_verdict(r, token, accepted=accepted)
    assert server.hits() == fetches


def _hs256_with_kid(kid: str) -> str:
    return jwt.encode(secret_claims(), TEST_SECRET, algorithm="HS256", headers={"kid": kid})


@pytest.mark.parametrize("kid", ["ed-1", "ec-1", "rsa-1"])
async def test_without_a_key_set_asymmetric_tokens_say_to_set_better_auth_url(
    api_for: ApiFactory, server: JwksServer, kid: str
) -> None:
    async with api_for() as api:
        token = token_for(server, kid)
        r = await list_tasks(api, token)
    assert_unauthorized(r, token)
    assert "BETTER_AUTH_URL" in r.json()["detail"], r.text
    assert server.total_hits() == 0


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def auth_log() -> Iterator[list[str]]:
    """Messages of the "todo_api.auth" logger ("todo_api" does not propagate to root)."""
    records = _Records()
    logger = logging.getLogger("todo_api.auth")
    logger.addHandler(records)
    try:
        yield records.messages
    finally:
        logger.removeHandler(records)


@pytest.mark.parametrize("with_jwks", [False, True], ids=["secret-only", "secret-and-jwks"])
async def test_startup_logs_the_active_key_sources(
    api_for: ApiFactory, server: JwksServer, auth_log: list[str], with_jwks: bool
) -> None:
    overrides = {"better_auth_url": server.base_url} if with_jwks else {}
    async with api_for(log_level="INFO", **overrides):
        pass
    active = [m for m in auth_log if m.startswith("token key source active")]
    expected = ["token key source active: shared secret (HS256)"]
    if with_jwks:
        expected.append(f"token key source active: JWKS from {server.jwks_url}")
    assert active == expected


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b'{"keys": {}}', id="keys-an-object"),
        pytest.param(b'{"keys": null}', id="keys-null"),
        pytest.param(b'{"keys": "ed-1"}', id="keys-a-string"),
        pytest.param(b'{"jwks": []}', id="no-keys-member"),
        pytest.param(b"[]", id="a-json-array"),
        pytest.param(b"not json", id="not-json"),
    ],
)
async def test_a_malformed_key_set_counts_as_a_failed_fetch(
    api: httpx.AsyncClient, server: JwksServer, body: bytes
) -> None:
    """A 200 that is not a JWKS must not wipe out the keys the API already has."""
    r = await list_tasks(api, token_for(server))
    assert r.status_code == 200, r.text
    server.publish_raw(body)
    unknown = sign(SigningKey.generate("Ed25519", "ed-new"), better_auth_claims(server.base_url))
    assert_unauthorized(await list_tasks(api, unknown), unknown)
    assert server.hits() == 2
    r = await list_tasks(api, token_for(server))
    assert r.status_code == 200, r.text


def _unusable_documents(server: JwksServer) -> dict[str, tuple[SigningKey, dict[str, Any]]]:
    """Keys a JWKS may carry that must never verify anything: (signer, published JWK)."""
    weak = SigningKey.generate("RSA", "rsa-weak", rsa_bits=1024)
    p384 = SigningKey.generate("P-256", "ec-384")
    ed = SigningKey.generate("Ed25519", "ed-enc")
    return {
        "rsa-1024-bits": (weak, weak.jwk()),
        "use-enc": (ed, ed.jwk(use="enc")),
        "unknown-kty": (ed, {**ed.jwk(), "kty": "XYZ"}),
        "ed448-curve": (ed, {**ed.jwk(), "crv": "Ed448"}),
        "p384-curve": (p384, {**p384.jwk(), "crv": "P-384"}),
        "bad-key-material": (ed, {**ed.jwk(), "x": "!!not-base64!!"}),
        "kid-not-a-string": (ed, {**ed.jwk(), "kid": 7}),
        "private-key": (ed, {**ed.jwk(), **_private_parts(ed)}),
    }


def _private_parts(key: SigningKey) -> dict[str, Any]:
    document = get_default_algorithms()[key.alg].to_jwk(key.private, as_dict=True)
    assert "d" in document
    return document


@pytest.mark.parametrize(
    "case",
    [
        "rsa-1024-bits",
        "use-enc",
        "unknown-kty",
        "ed448-curve",
        "p384-curve",
        "bad-key-material",
        "kid-not-a-string",
        "private-key",
    ],
)
async def test_unusable_keys_in_the_set_are_skipped_not_500(
    api: httpx.AsyncClient, server: JwksServer, case: str
) -> None:
    signer, document = _unusable_documents(server)[case]
    server.publish([document, server.keys["ec-1"]])
    header = {"alg": signer.alg, "kid": signer.kid}  # by hand: PyJWT warns on weak keys
    token = forge(header, better_auth_claims(server.base_url), signer.private)
    assert_unauthorized(await list_tasks(api, token), token)
    r = await list_tasks(api, token_for(server, "ec-1"))
    assert r.status_code == 200, r.text  # the usable key beside it still works


@pytest.mark.parametrize(("published", "accepted"), [(1, True), (2, False)], ids=["one", "two"])
async def test_a_token_without_kid_needs_a_key_set_of_one(
    api: httpx.AsyncClient, server: JwksServer, published: int, accepted: bool
) -> None:
    ed = server.keys["ed-1"]
    server.publish([ed, server.keys["ec-1"]][:published])
    token = jwt.encode(better_auth_claims(server.base_url), ed.private, algorithm="EdDSA")
    r = await list_tasks(api, token)
    assert_verdict(r, token, accepted=accepted)


@pytest.mark.parametrize(
    ("claims", "accepted"),
    [
        pytest.param({"iss": "https://anyone.example", "aud": "anything"}, True, id="not-pinned"),
        pytest.param({"iss": ["x"]}, False, id="iss-list"),
        pytest.param({"iss": 5}, False, id="iss-int"),
        pytest.param({"aud": 5}, False, id="aud-int"),
        pytest.param({"aud": ["a", 5]}, False, id="aud-list-with-int"),
    ],
)
async def test_jwks_url_alone_pins_no_issuer_but_claims_must_be_well_formed(
    api_for: ApiFactory, server: JwksServer, claims: dict[str, object], accepted: bool
) -> None:
    """JWT_JWKS_URL without BETTER_AUTH_URL (nor JWT_ISSUER/JWT_AUDIENCE) expects no
    particular iss/aud; a malformed one is still refused."""
    ed = server.keys["ed-1"]
    token = forge({"alg": "EdDSA", "kid": ed.kid}, better_auth_claims("x", **claims), ed.private)
    async with api_for(jwt_jwks_url=server.jwks_url) as api:
        r = await list_tasks(api, token)
    assert_verdict(r, token, accepted=accepted)
