"""Keys from a JWKS endpoint (Better Auth's `/api/auth/jwks`), cached and refreshed safely."""

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import jwt

from api.auth.verifier import audience_matches
from api.errors import AuthInvalid, ServiceUnavailable

log = logging.getLogger("todo_api.auth")

FETCH_DEADLINE_SECONDS = 4.0
MAX_KEYS = 64  # a key set holds a few keys; more are ignored (memory stays bounded)
# However short the cool-down (0 in tests), the periodic refresh runs at most this often.
MIN_REFRESH_SECONDS = 1.0

# Which algorithms each key type may verify; a token's `alg` must fit its key.
_ALGORITHMS_BY_KEY = {
    ("OKP", "Ed25519"): frozenset({"EdDSA"}),
    ("EC", "P-256"): frozenset({"ES256"}),
    ("RSA", None): frozenset({"RS256", "PS256"}),
}


def _algorithms_for(jwk: Mapping[str, Any]) -> frozenset[str]:
    kty = jwk.get("kty")
    curve = jwk.get("crv") if kty != "RSA" else None
    allowed = _ALGORITHMS_BY_KEY.get((str(kty), curve), frozenset())
    declared = jwk.get("alg")
    return allowed & {declared} if isinstance(declared, str) else allowed


@dataclass(frozen=True, slots=True)
class _Key:
    key: Any
    algorithms: frozenset[str]
    document: dict[str, Any]  # the JWK it was read from


class JwksKeys:
    """Public keys by `kid`.

    An unknown `kid` triggers at most one fetch per cooldown (a stream of forged kids
    cannot hammer the key server); a failed fetch keeps the last good key set; fetches are
    async with a short timeout, so the event loop never waits on the network.

    Each fetch replaces the whole set, so a key the server no longer publishes stops
    verifying. A set older than the cooldown is refreshed in the background, started by
    the next token that uses it: no request waits for it, and a withdrawn key stops
    verifying within one cooldown (plus the fetch) even for tokens whose kid is known.
    A key whose JWK is unchanged keeps its object across fetches: a key's identity says
    whether it is still published (the verified-token cache relies on it).
    """

    name = "JWKS"
    algorithms = frozenset(alg for algs in _ALGORITHMS_BY_KEY.values() for alg in algs)

    def __init__(
        self,
        url: str,
        *,
        issuer: str | None,
        audience: str | None,
        client: httpx.AsyncClient,
        refetch_cooldown_seconds: float = 30.0,
    ) -> None:
        self.url = url
        self._issuer = issuer
        self._audiences = frozenset({audience}) if audience else None
        self._client = client
        self._cooldown = refetch_cooldown_seconds
        self._keys: dict[str, _Key] = {}
        self._ever_fetched = False
        self._last_attempt = float("-inf")
        self._last_answer = float("-inf")  # when the last attempt ended (the set's age)
        self._lock = asyncio.Lock()
        self._background: asyncio.Task[None] | None = None

    async def key_for(self, header: Mapping[str, Any]) -> Any:
        kid, alg = header.get("kid"), header["alg"]
        entry = self._lookup(kid)
        if entry is None:
            await self.refresh(respect_cooldown=True)
            entry = self._lookup(kid)
        else:
            self._refresh_if_stale()
        if entry is None:
            if not self._ever_fetched:
                raise ServiceUnavailable("The signing key server cannot be reached.")
            raise AuthInvalid("The token was signed with an unknown key.")
        if alg not in entry.algorithms:
            raise AuthInvalid("The token's algorithm does not match its key.")
        return entry.key

    async def ready(self) -> bool:
        """A key set was obtained (it is kept while the key server is away)."""
        return self._ever_fetched or await self.refresh(respect_cooldown=True)

    def check_claims(self, claims: Mapping[str, Any]) -> None:
        if self._issuer is not None and claims.get("iss") != self._issuer:
            raise AuthInvalid("The token's issuer is not accepted.")
        if self._audiences is not None and not audience_matches(claims, self._audiences):
            raise AuthInvalid("The token's audience is not accepted.")

    def _lookup(self, kid: object) -> _Key | None:
        if isinstance(kid, str):
            return self._keys.get(kid)
        # No kid: acceptable only when the key set leaves no doubt.
        return next(iter(self._keys.values())) if len(self._keys) == 1 else None

    async def refresh(self, *, respect_cooldown: bool = False) -> bool:
        """Fetch the key set; True when one was obtained. Concurrent callers share a fetch."""
        async with self._lock:
            # Until a first key set arrives, retry sooner: every request is failing meanwhile.
            cooldown = self._cooldown if self._ever_fetched else min(self._cooldown, 2.0)
            if respect_cooldown and time.monotonic() - self._last_attempt < cooldown:
                return False
            self._last_attempt = time.monotonic()
            keys = await self._fetch()
            self._last_answer = time.monotonic()
            if keys is not None:
                self._keys, self._ever_fetched = keys, True
            return keys is not None

    def _refresh_if_stale(self) -> None:
        """Start a background refresh when the set is older than the cooldown (one at a
        time; the caller goes on with the set at hand)."""
        period = max(self._cooldown, MIN_REFRESH_SECONDS)
        if time.monotonic() - self._last_answer < period:
            return
        if self._background is None or self._background.done():
            self._background = asyncio.get_running_loop().create_task(self._refresh_quietly())

    async def _refresh_quietly(self) -> None:
        try:
            await self.refresh(respect_cooldown=True)
        except Exception as exc:  # e.g. the HTTP client closed at shutdown: nothing to do
            log.warning("JWKS refresh from %s failed: %s", self.url, type(exc).__name__)

    async def _fetch(self) -> dict[str, _Key] | None:
        try:
            # One deadline for the whole fetch: httpx's timeouts are per read, and a key
            # server trickling bytes would otherwise hold the lock (and its waiters).
            async with asyncio.timeout(FETCH_DEADLINE_SECONDS):
                response = await self._client.get(self.url)
            response.raise_for_status()
            documents = response.json()["keys"]
            if not isinstance(documents, list):
                raise TypeError("`keys` is not a list")
        except (httpx.HTTPError, TimeoutError, ValueError, KeyError, TypeError) as exc:
            # Not a key set (an error page, `{"keys": null}`...): the last good set stays.
            log.warning("JWKS fetch from %s failed: %s", self.url, type(exc).__name__)
            return None
        keys: dict[str, _Key] = {}
        for document in documents:
            if len(keys) == MAX_KEYS:
                log.warning("JWKS from %s: more than %d keys, the rest ignored", self.url, MAX_KEYS)
                break
            if not isinstance(document, dict) or document.get("use", "sig") != "sig":
                continue
            allowed = _algorithms_for(document)
            kid = document.get("kid")
            if not allowed or not isinstance(kid, str):
                continue  # symmetric or unknown key types are never taken from a JWKS
            known = self._keys.get(kid)
            if known is not None and known.document == document:
                keys[kid] = known  # the same key, still published
                continue
            key = _public_key(document, allowed)
            if key is not None:
                keys[kid] = _Key(key, allowed, document)
        log.info("JWKS from %s: %d usable keys", self.url, len(keys))
        return keys


def _public_key(document: dict[str, Any], allowed: frozenset[str]) -> Any:
    """The key a JWK describes, or None (logged) when it must not verify anything."""
    kid = document["kid"]
    if "d" in document:
        # Whoever read the key set could sign tokens with it; fail closed and say so.
        log.error("JWKS key %r is a private key; ignored (the key server leaks it)", kid)
        return None
    try:
        jwk = jwt.PyJWK(document, next(iter(sorted(allowed))))
    except (jwt.PyJWTError, ValueError, TypeError):
        return None
    weakness = jwk.Algorithm.check_key_length(jwk.key)
    if weakness:
        log.warning("JWKS key %r ignored: %s", kid, weakness)
        return None
    return jwk.key
