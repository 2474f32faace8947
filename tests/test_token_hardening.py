"""Hostile, malformed and misdirected tokens are 401 (RFC 8725 hardening), never 500."""

import datetime
import json
import shutil
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from tests.conftest import test_settings
from tests.jwks_server import (
    ABSENT,
    JwksServer,
    SigningKey,
    assert_unauthorized,
    assert_verdict,
    b64url,
    better_auth_claims,
    compact,
    default_keys,
    forge,
    list_tasks,
    running_api,
    secret_claims,
    sign,
    sign_with_secret,
)
from tests.support import TEST_SECRET

Issue = Callable[..., str]  # claim overrides -> a signed token
SECRET = TEST_SECRET.encode()


@pytest.fixture(scope="module")
def server() -> Iterator[JwksServer]:
    with JwksServer(default_keys()) as jwks:
        yield jwks


@pytest.fixture(scope="module")
async def api(
    server: JwksServer, sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[httpx.AsyncClient]:
    """One API for the whole module: Better Auth's JWKS and the shared secret, both on.
    The cases only read, so sharing it cannot couple them."""
    path = tmp_path_factory.mktemp("hardening") / "todo.db"
    shutil.copy(sqlite_template, path)
    settings = test_settings(f"sqlite:///{path}", better_auth_url=server.base_url)
    async with running_api(settings) as client:
        yield client


@pytest.fixture(params=["EdDSA", "HS256"])
def issue(request: pytest.FixtureRequest, server: JwksServer) -> Issue:
    """Signs valid-but-for-the-overrides tokens on one key source: Better Auth's Ed25519
    key, or the shared secret."""
    if request.param == "EdDSA":
        ed = server.keys["ed-1"]
        header = {"alg": "EdDSA", "kid": ed.kid}
        return lambda **o: forge(header, better_auth_claims(server.base_url, **o), ed.private)
    return lambda **o: forge({"alg": "HS256", "typ": "JWT"}, secret_claims(**o), SECRET)


async def test_valid_tokens_on_both_sources_are_accepted(
    api: httpx.AsyncClient, issue: Issue
) -> None:
    """The baseline every rejection below differs from by one thing."""
    r = await list_tasks(api, issue())
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
@pytest.mark.parametrize("signature", [b"", b"forged"], ids=["empty-sig", "some-sig"])
async def test_alg_none_in_any_case_is_401(
    api: httpx.AsyncClient, server: JwksServer, alg: str, signature: bytes
) -> None:
    for claims in (better_auth_claims(server.base_url), secret_claims()):
        token = compact({"alg": alg, "typ": "JWT"}, claims, signature)
        assert_unauthorized(await list_tasks(api, token), token)


@pytest.mark.parametrize(
    ("kid", "encoding"),
    [
        pytest.param("ed-1", "PEM", id="ed25519-pem"),
        pytest.param("ed-1", "DER", id="ed25519-der"),
        pytest.param("ed-1", "raw", id="ed25519-raw-bytes"),
        pytest.param("ed-1", "JWK", id="ed25519-jwk-json"),
        pytest.param("ec-1", "PEM", id="p256-pem"),
        pytest.param("rsa-1", "PEM", id="rsa-pem"),
        pytest.param("rsa-1", "DER", id="rsa-der"),
    ],
)
@pytest.mark.parametrize("with_kid", [True, False], ids=["with-kid", "no-kid"])
async def test_hs256_keyed_with_a_jwks_public_key_is_401(
    api: httpx.AsyncClient,
    server: JwksServer,
    kid: str,
    encoding: Literal["PEM", "DER", "raw", "JWK"],
    with_kid: bool,
) -> None:
    """The key confusion attack: the public key is public, so an HMAC made with it proves
    nothing. HS256 is checked against the shared secret only."""
    key = server.keys[kid]
    hmac_key = json.dumps(key.jwk()).encode() if encoding == "JWK" else key.public_bytes(encoding)
    header = {"alg": "HS256", "typ": "JWT", **({"kid": kid} if with_kid else {})}
    for claims in (better_auth_claims(server.base_url), secret_claims()):
        token = forge(header, claims, hmac_key)
        assert_unauthorized(await list_tasks(api, token), token)


def _self_signed_certificate(key: SigningKey) -> str:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "attacker")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.private.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key.private, None)  # Ed25519 signs without a separate hash
    )
    der = certificate.public_bytes(serialization.Encoding.DER)
    return b64url(der)


@pytest.mark.parametrize("parameter", ["jwk", "jku", "x5u", "x5c"])
@pytest.mark.parametrize("signer", ["attacker", "genuine"])
async def test_keys_supplied_in_the_header_are_401_and_never_fetched(
    api: httpx.AsyncClient, server: JwksServer, parameter: str, signer: str
) -> None:
    """The attacker signs with their own key and points the header at it (with the real
    kid); a genuinely signed token carrying such a header is refused as well."""
    attacker = SigningKey.generate("Ed25519", "ed-1")
    url = server.host(f"/attacker/{parameter}", [attacker])
    values: dict[str, object] = {
        "jwk": attacker.jwk(),
        "jku": url,
        "x5u": url,
        "x5c": [_self_signed_certificate(attacker)],
    }
    key = attacker if signer == "attacker" else server.keys["ed-1"]
    before = server.total_hits()
    token = sign(key, better_auth_claims(server.base_url), headers={parameter: values[parameter]})
    assert_unauthorized(await list_tasks(api, token), token)
    assert server.hits(f"/attacker/{parameter}") == 0
    assert server.total_hits() == before  # not even the real key set was refetched


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param({"crit": ["urn:example:must-understand"]}, id="unknown-crit"),
        pytest.param(
            {"crit": ["urn:example:must-understand"], "urn:example:must-understand": 1},
            id="unknown-crit-with-value",
        ),
        pytest.param({"crit": ["b64"], "b64": True}, id="crit-b64"),
        pytest.param({"crit": []}, id="crit-empty"),
        pytest.param({"crit": "exp"}, id="crit-not-a-list"),
    ],
)
async def test_critical_header_extensions_are_401(
    api: httpx.AsyncClient, server: JwksServer, extra: dict[str, object]
) -> None:
    ed = server.keys["ed-1"]
    token = forge(
        {"alg": "EdDSA", "kid": ed.kid, **extra}, better_auth_claims(server.base_url), ed.private
    )
    assert_unauthorized(await list_tasks(api, token), token)


@pytest.mark.parametrize(
    "kid",
    [
        pytest.param(1, id="int"),
        pytest.param(["ed-1"], id="list"),
        pytest.param(None, id="null"),
        pytest.param({"kid": "ed-1"}, id="object"),
        pytest.param(True, id="bool"),
    ],
)
async def test_non_string_kid_is_401(
    api: httpx.AsyncClient, server: JwksServer, kid: object
) -> None:
    ed = server.keys["ed-1"]
    token = forge({"alg": "EdDSA", "kid": kid}, better_auth_claims(server.base_url), ed.private)
    assert_unauthorized(await list_tasks(api, token), token)


@pytest.mark.parametrize(
    "missing",
    [
        pytest.param({"exp": ABSENT}, id="exp-missing"),
        pytest.param({"exp": None}, id="exp-null"),
        pytest.param({"sub": ABSENT}, id="sub-missing"),
        pytest.param({"sub": None}, id="sub-null"),
    ],
)
async def test_tokens_without_exp_or_sub_are_401(
    api: httpx.AsyncClient, issue: Issue, missing: dict[str, object]
) -> None:
    token = issue(**missing)
    assert_unauthorized(await list_tasks(api, token), token)


@pytest.mark.parametrize(
    "offsets",
    [
        pytest.param({"exp": -60}, id="expired-beyond-leeway"),
        pytest.param({"exp": -3600}, id="expired-an-hour-ago"),
        pytest.param({"nbf": 120}, id="nbf-in-the-future"),
        pytest.param({"iat": 120}, id="iat-in-the-future"),
        pytest.param({"nbf": 40}, id="nbf-just-past-leeway"),
        pytest.param({"iat": 40}, id="iat-just-past-leeway"),
    ],
)
async def test_tokens_outside_their_time_window_are_401(
    api: httpx.AsyncClient, issue: Issue, offsets: dict[str, int]
) -> None:
    """Past the 30 s leeway either way. PyJWT itself refuses an `iat` in the future."""
    now = int(time.time())
    token = issue(**{claim: now + seconds for claim, seconds in offsets.items()})
    r = await list_tasks(api, token)
    assert_unauthorized(r, token)
    if "exp" in offsets:
        assert r.json()["detail"] == "The token has expired.", r.text


@pytest.mark.parametrize(
    "offsets",
    [
        pytest.param({"nbf": 20}, id="nbf-20s-ahead"),
        pytest.param({"iat": 20}, id="iat-20s-ahead"),
        pytest.param({"nbf": 20, "iat": 20}, id="both-20s-ahead"),
        pytest.param({"exp": -20}, id="expired-20s-ago"),
    ],
)
async def test_clock_skew_within_the_leeway_is_accepted(
    api: httpx.AsyncClient, issue: Issue, offsets: dict[str, int]
) -> None:
    now = int(time.time())
    r = await list_tasks(api, issue(**{claim: now + s for claim, s in offsets.items()}))
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"sub": 5}, id="sub-int"),
        pytest.param({"sub": ""}, id="sub-empty"),
        pytest.param({"sub": ["user-1"]}, id="sub-list"),
        pytest.param({"sub": "u" * 256}, id="sub-too-long"),
        pytest.param({"exp": "soon"}, id="exp-string"),
        pytest.param({"exp": float("inf")}, id="exp-infinity"),
        pytest.param({"exp": float("nan")}, id="exp-nan"),
        pytest.param({"exp": [1]}, id="exp-list"),
        pytest.param({"nbf": "now"}, id="nbf-string"),
        pytest.param({"iat": "now"}, id="iat-string"),
        pytest.param({"iat": float("inf")}, id="iat-infinity"),
        pytest.param({"aud": 5}, id="aud-int"),
        pytest.param({"aud": [5]}, id="aud-list-of-int"),
        pytest.param({"aud": {"a": 1}}, id="aud-object"),
        pytest.param({"iss": ["x"]}, id="iss-list"),
        pytest.param({"iss": 5}, id="iss-int"),
        pytest.param({"jti": 5}, id="jti-int"),
    ],
)
async def test_claims_of_the_wrong_type_are_401(
    api: httpx.AsyncClient, issue: Issue, overrides: dict[str, object]
) -> None:
    token = issue(**overrides)
    assert_unauthorized(await list_tasks(api, token), token)


@pytest.mark.parametrize(
    ("claim", "value"),
    [
        pytest.param("iss", "https://evil.example", id="iss-other"),
        pytest.param("iss", "{base}/", id="iss-trailing-slash"),
        pytest.param("iss", "{base}/api/auth", id="iss-longer"),
        pytest.param("iss", "{prefix}", id="iss-prefix"),
        pytest.param("iss", ABSENT, id="iss-missing"),
        pytest.param("aud", "https://evil.example", id="aud-other"),
        pytest.param("aud", "{base}/", id="aud-trailing-slash"),
        pytest.param("aud", "{prefix}", id="aud-prefix"),
        pytest.param("aud", ["{prefix}", "{base}/"], id="aud-list-of-near-misses"),
        pytest.param("aud", [], id="aud-empty-list"),
        pytest.param("aud", ABSENT, id="aud-missing"),
    ],
)
async def test_better_auth_issuer_and_audience_must_match_exactly(
    api: httpx.AsyncClient, server: JwksServer, claim: str, value: object
) -> None:
    def fill(v: object) -> object:
        if isinstance(v, list):
            return [fill(item) for item in v]
        if isinstance(v, str):
            return v.format(base=server.base_url, prefix=server.base_url[:-1])
        return v

    token = sign(server.keys["ed-1"], better_auth_claims(server.base_url, **{claim: fill(value)}))
    assert_unauthorized(await list_tasks(api, token), token)


async def test_audience_list_containing_the_base_url_is_accepted(
    api: httpx.AsyncClient, server: JwksServer
) -> None:
    claims = better_auth_claims(server.base_url, aud=["other", server.base_url])
    r = await list_tasks(api, sign(server.keys["ed-1"], claims))
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    ("size", "accepted"),
    [
        pytest.param(7_900, True, id="just-under-8KB"),
        pytest.param(8_200, False, id="just-over-8KB"),
        pytest.param(64_000, False, id="64KB"),
    ],
)
async def test_tokens_over_8kb_are_401(
    api: httpx.AsyncClient, issue: Issue, size: int, accepted: bool
) -> None:
    """Validly signed, so only the size can be the reason."""
    unpadded = len(issue(padding=""))
    token = issue(padding="x" * ((size - unpadded) * 3 // 4 + 3))  # base64: 4 chars per 3
    assert size <= len(token) < size + 8, len(token)
    r = await list_tasks(api, token)
    assert_verdict(r, token, accepted=accepted)


def _malformed() -> dict[str, str]:
    valid = sign_with_secret(secret_claims())
    header, payload, signature = valid.split(".")
    nested = b"[" * 3000 + b"]" * 3000  # deeper than Python's recursion limit
    return {
        "one-segment": "abcdef",
        "two-segments": f"{header}.{payload}",
        "four-segments": f"{valid}.{signature}",
        "empty-segments": "..",
        "bad-base64": "!!!!.????.####",
        "signature-bad-base64": f"{header}.{payload}.!!!!",
        "header-not-json": f"{b64url(b'not json')}.{payload}.{signature}",
        "header-json-array": f"{b64url(b'[]')}.{payload}.{signature}",
        "header-json-string": compact("HS256", secret_claims(), b"signature"),
        "header-invalid-utf8": f"{b64url(bytes([0xFF, 0xFE]))}.{payload}.{signature}",
        "header-deeply-nested": compact(b'{"alg": "HS256", "x": ' + nested + b"}", b"{}"),
        "header-without-alg": compact({"typ": "JWT"}, secret_claims(), b"signature"),
        "header-alg-int": compact({"alg": 256}, secret_claims(), b"signature"),
        "payload-not-json": forge({"alg": "HS256"}, b"not json", SECRET),
        "payload-json-array": forge({"alg": "HS256"}, b"[1, 2]", SECRET),
        "payload-deeply-nested": forge({"alg": "HS256"}, nested, SECRET),
        "claim-deeply-nested": forge(
            {"alg": "HS256"}, b'{"sub": "u", "exp": 9999999999, "x": ' + nested + b"}", SECRET
        ),
    }


@pytest.mark.parametrize(
    "token", [pytest.param(token, id=case) for case, token in _malformed().items()]
)
async def test_malformed_tokens_are_401(api: httpx.AsyncClient, token: str) -> None:
    assert_unauthorized(await list_tasks(api, token), token)


@pytest.mark.parametrize(
    ("authorization", "code"),
    [
        pytest.param(None, "AUTH_MISSING", id="no-header"),
        pytest.param("", "AUTH_MISSING", id="empty-header"),
        pytest.param("Bearer", "AUTH_INVALID", id="bearer-without-token"),
        pytest.param("Basic dXNlcjpwYXNz", "AUTH_INVALID", id="basic-scheme"),
        pytest.param("Token abc.def.ghi", "AUTH_INVALID", id="other-scheme"),
    ],
)
async def test_missing_or_non_bearer_authorization_is_401(
    api: httpx.AsyncClient, authorization: str | None, code: str
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    r = await api.get("/api/user-1/tasks", headers=headers)
    assert_unauthorized(r, authorization or "", code)


async def test_right_kid_but_different_key_material_is_401(
    api: httpx.AsyncClient, server: JwksServer
) -> None:
    impostor = SigningKey.generate("Ed25519", "ed-1")
    token = sign(impostor, better_auth_claims(server.base_url))
    assert_unauthorized(await list_tasks(api, token), token)


@pytest.mark.parametrize(
    ("signer", "alg", "kid"),
    [
        pytest.param("ec-1", "ES256", "ed-1", id="ES256-on-Ed25519-key"),
        pytest.param("rsa-1", "RS256", "ed-1", id="RS256-on-Ed25519-key"),
        pytest.param("ed-1", "EdDSA", "ec-1", id="EdDSA-on-P256-key"),
        pytest.param("rsa-1", "PS256", "ec-1", id="PS256-on-P256-key"),
        pytest.param("ec-1", "ES256", "rsa-1", id="ES256-on-RSA-key"),
        pytest.param("ed-1", "EdDSA", "rsa-1", id="EdDSA-on-RSA-key"),
        pytest.param("rsa-1", "RS512", "rsa-1", id="RS512-not-allow-listed"),
        pytest.param("rsa-1", "PS384", "rsa-1", id="PS384-not-allow-listed"),
    ],
)
async def test_algorithm_must_fit_the_key_type(
    api: httpx.AsyncClient, server: JwksServer, signer: str, alg: str, kid: str
) -> None:
    """Each key type verifies only its own algorithms, whatever the header claims."""
    key = server.keys[signer]
    token = sign(key, better_auth_claims(server.base_url), alg=alg, headers={"kid": kid})
    assert_unauthorized(await list_tasks(api, token), token)


@pytest.mark.parametrize("alg", ["HS384", "HS512"])
async def test_other_hmac_algorithms_are_401(api: httpx.AsyncClient, alg: str) -> None:
    token = forge({"alg": alg, "typ": "JWT"}, secret_claims(), SECRET)
    assert_unauthorized(await list_tasks(api, token), token)


@pytest.mark.parametrize(
    ("aud", "accepted"),
    [
        pytest.param("fastapi-users:auth", True, id="auth"),
        pytest.param(["fastapi-users:auth"], True, id="auth-as-list"),
        pytest.param("fastapi-users:reset", False, id="reset"),
        pytest.param("fastapi-users:verify", False, id="verify"),
        pytest.param(["fastapi-users:reset", "fastapi-users:verify"], False, id="reset-and-verify"),
        pytest.param("{base}", False, id="better-auth-audience"),
    ],
)
async def test_hs256_audiences_of_the_built_in_users(
    api: httpx.AsyncClient, server: JwksServer, aud: Any, accepted: bool
) -> None:
    """Only the built-in users' access tokens log in; their password-reset and e-mail
    verification tokens (same secret, other audience) must not."""
    if aud == "{base}":
        aud = server.base_url
    token = sign_with_secret(secret_claims(aud=aud))
    r = await list_tasks(api, token)
    assert_verdict(r, token, accepted=accepted)


@pytest.mark.parametrize(
    ("overrides", "accepted"),
    [
        pytest.param({"aud": "todo-api", "iss": "https://issuer.example"}, True, id="configured"),
        pytest.param({"iss": "https://issuer.example"}, False, id="no-aud"),
        pytest.param({"aud": "other", "iss": "https://issuer.example"}, False, id="other-aud"),
        pytest.param({"aud": "todo-api"}, False, id="no-iss"),
        pytest.param({"aud": "todo-api", "iss": "https://other.example"}, False, id="other-iss"),
    ],
)
async def test_configured_audience_and_issuer_are_required_on_hs256(
    sqlite_template: Path, tmp_path: Path, overrides: dict[str, object], accepted: bool
) -> None:
    path = tmp_path / "todo.db"
    shutil.copy(sqlite_template, path)
    settings = test_settings(
        f"sqlite:///{path}", jwt_audience="todo-api", jwt_issuer="https://issuer.example"
    )
    token = sign_with_secret(secret_claims(**overrides))
    async with running_api(settings) as api:
        r = await list_tasks(api, token)
    assert_verdict(r, token, accepted=accepted)
