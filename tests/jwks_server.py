"""A real JWKS server for tests, the tokens it signs, and the API those tokens are sent to."""

import base64
import functools
import json
import sys
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Final, Literal, Self

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import get_default_algorithms

from api.main import create_app
from api.settings import Settings
from tests.support import TEST_SECRET

JWKS_PATH: Final = "/api/auth/jwks"
ABSENT: Final = object()  # a claim override that removes the claim

PrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
KeyKind = Literal["Ed25519", "P-256", "RSA"]
Mode = Literal["ok", "error", "close"]
_DEFAULT_ALG: Final[dict[KeyKind, str]] = {"Ed25519": "EdDSA", "P-256": "ES256", "RSA": "RS256"}


@functools.cache
def _rsa_private(kid: str, bits: int) -> rsa.RSAPrivateKey:
    # RSA generation is the slow part of a test; one key per kid and size serves them all.
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


@dataclass(frozen=True)
class SigningKey:
    """A private key, its kid, and the algorithm it signs with unless told otherwise."""

    kid: str
    alg: str
    private: PrivateKey

    @classmethod
    def generate(cls, kind: KeyKind, kid: str, *, rsa_bits: int = 2048) -> Self:
        private: PrivateKey
        if kind == "Ed25519":
            private = ed25519.Ed25519PrivateKey.generate()
        elif kind == "P-256":
            private = ec.generate_private_key(ec.SECP256R1())
        else:
            private = _rsa_private(kid, rsa_bits)
        return cls(kid, _DEFAULT_ALG[kind], private)

    def jwk(self, **extra: object) -> dict[str, Any]:
        """The public JWK, as Better Auth publishes it (`kid`, `use`: sig)."""
        public = get_default_algorithms()[self.alg].to_jwk(self.private.public_key(), as_dict=True)
        return {**public, "kid": self.kid, "use": "sig", **extra}

    def public_bytes(self, encoding: Literal["PEM", "DER", "raw"]) -> bytes:
        public = self.private.public_key()
        if encoding == "PEM":
            return public.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        if encoding == "DER":
            return public.public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        assert isinstance(public, ed25519.Ed25519PublicKey), "raw bytes exist for Ed25519 only"
        return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def default_keys() -> list[SigningKey]:
    return [
        SigningKey.generate("Ed25519", "ed-1"),
        SigningKey.generate("P-256", "ec-1"),
        SigningKey.generate("RSA", "rsa-1"),
    ]


class JwksServer:
    """Serves a key set as JWKS on every path (or a path's own set), counting hits per path.

    `fail("error")` answers 500, `fail("close")` hangs up without answering, `delay` holds
    each answer back; `publish` replaces the key set (rotation). Runs in a background thread.
    """

    def __init__(self, keys: Sequence[SigningKey]) -> None:
        self.keys = {key.kid: key for key in keys}
        self.mode: Mode = "ok"
        self.delay = 0.0
        self._lock = threading.Lock()
        self._documents: list[dict[str, Any]] = [key.jwk() for key in keys]
        self._hosted: dict[str, list[dict[str, Any]]] = {}
        self._raw: bytes | None = None
        self._hits: Counter[str] = Counter()
        self._released = threading.Event()
        self._http = _HttpServer(self)
        self.base_url = f"http://127.0.0.1:{self._http.server_address[1]}"
        self.jwks_url = self.base_url + JWKS_PATH
        # A short poll interval: `shutdown` waits for the serving loop to notice.
        self._thread = threading.Thread(target=self._http.serve_forever, args=(0.02,), daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._released.set()  # delayed answers return at once
        self._http.shutdown()
        self._http.server_close()
        self._thread.join()

    def hits(self, path: str = JWKS_PATH) -> int:
        with self._lock:
            return self._hits[path]

    def total_hits(self) -> int:
        with self._lock:
            return sum(self._hits.values())

    def publish(self, keys: Sequence[SigningKey | dict[str, Any]]) -> None:
        """Serve these keys from now on (a SigningKey as its public JWK, a dict verbatim)."""
        documents = [key.jwk() if isinstance(key, SigningKey) else key for key in keys]
        with self._lock:
            self.keys.update({key.kid: key for key in keys if isinstance(key, SigningKey)})
            self._documents, self._raw = documents, None

    def publish_raw(self, body: bytes) -> None:
        """Answer 200 with this body, whatever it is."""
        with self._lock:
            self._raw = body

    def host(self, path: str, keys: Iterable[SigningKey]) -> str:
        """Serve another key set at `path` (an attacker's); returns its URL."""
        with self._lock:
            self._hosted[path] = [key.jwk() for key in keys]
        return self.base_url + path

    def fail(self, mode: Mode) -> None:
        self.mode = mode

    def answer(self, path: str) -> tuple[int, bytes] | None:
        with self._lock:
            self._hits[path] += 1
            mode, delay, raw = self.mode, self.delay, self._raw
            documents = self._hosted.get(path, self._documents)
        if delay:
            self._released.wait(delay)
        if mode == "close":
            return None
        if mode == "error":
            return 500, b'{"error": "key server failure"}'
        return 200, raw if raw is not None else json.dumps({"keys": documents}).encode()


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, jwks: JwksServer) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.jwks = jwks

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up on a delayed answer hangs up: expected, not worth a trace.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _HttpServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        reply = self.server.jwks.answer(self.path)
        if reply is None:
            self.close_connection = True
            return
        status, body = reply
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the hit counter is the log."""


# Tokens ---------------------------------------------------------------------------------


def better_auth_claims(issuer: str, sub: str = "user-1", /, **overrides: object) -> dict[str, Any]:
    """What Better Auth's JWT plugin puts in a token: iss = aud = its base URL, 15 minutes,
    and the user record. `ABSENT` as an override removes a claim."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iat": now,
        "iss": issuer,
        "aud": issuer,
        "exp": now + 900,
        "sub": sub,
        "id": sub,
        "email": f"{sub}@example.com",
        "name": sub.title(),
        **overrides,
    }
    return {name: value for name, value in claims.items() if value is not ABSENT}


def secret_claims(sub: str = "user-1", /, **overrides: object) -> dict[str, Any]:
    """A self-minted HS256 token's claims (no iss/aud unless given)."""
    now = int(time.time())
    claims = {"sub": sub, "iat": now, "exp": now + 600, **overrides}
    return {name: value for name, value in claims.items() if value is not ABSENT}


def sign(
    key: SigningKey,
    claims: Mapping[str, Any],
    *,
    alg: str | None = None,
    headers: Mapping[str, Any] | None = None,
) -> str:
    """A token as a standard library writes it: header `{alg, typ, kid}` plus `headers`."""
    header = {"kid": key.kid, **(headers or {})}
    return jwt.encode(dict(claims), key.private, algorithm=alg or key.alg, headers=header)


def sign_with_secret(claims: Mapping[str, Any], secret: str = TEST_SECRET) -> str:
    return jwt.encode(dict(claims), secret, algorithm="HS256")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _segment(part: object) -> str:
    raw = part if isinstance(part, bytes) else json.dumps(part).encode()
    return b64url(raw)


def compact(header: object, payload: object, signature: bytes = b"") -> str:
    """A compact JWS built by hand; `bytes` parts go in verbatim, anything else as JSON."""
    return f"{_segment(header)}.{_segment(payload)}.{b64url(signature)}"


def forge(header: Mapping[str, object], payload: object, key: PrivateKey | bytes) -> str:
    """Signed by hand with the header's `alg`, for headers no library would write
    (a non-string kid, HS256 keyed with a public key...)."""
    unsigned = f"{_segment(header)}.{_segment(payload)}"
    algorithm = get_default_algorithms()[str(header["alg"])]
    return f"{unsigned}.{b64url(algorithm.sign(unsigned.encode(), key))}"


# The API ------------------------------------------------------------------------------


@asynccontextmanager
async def running_api(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The real app over ASGI, started and stopped like a server would."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            yield client


async def list_tasks(client: httpx.AsyncClient, token: str, sub: str = "user-1") -> httpx.Response:
    return await client.get(f"/api/{sub}/tasks", headers={"Authorization": f"Bearer {token}"})


def assert_unauthorized(response: httpx.Response, token: str, code: str = "AUTH_INVALID") -> None:
    """401 as the contract says: a Bearer challenge and a problem+json body that never
    echoes the token (nor any sizeable piece of it)."""
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith("Bearer"), response.headers
    assert response.headers["content-type"] == "application/problem+json", response.headers
    body = response.json()
    assert (body["status"], body["code"]) == (401, code), body
    for piece in {token, *token.split(".")}:
        assert len(piece) < 8 or piece not in response.text, response.text


def assert_verdict(response: httpx.Response, token: str, *, accepted: bool) -> None:
    """200 for a token that should pass, the contract's 401 for one that should not."""
    if accepted:
        assert response.status_code == 200, response.text
    else:
        assert_unauthorized(response, token)
