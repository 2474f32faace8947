"""Bearer token verification, hardened per RFC 8725: one pinned key source per algorithm."""

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import jwt

from api.errors import ApiError, AuthInvalid

log = logging.getLogger("todo_api.auth")

MAX_TOKEN_BYTES = 8 * 1024
LEEWAY_SECONDS = 30
VERIFIED_CACHE_SIZE = 4096
ASYMMETRIC_ALGORITHMS = frozenset({"EdDSA", "ES256", "RS256", "PS256"})
# Header parameters that would let the token choose its own key; never honoured.
_KEY_IN_HEADER = frozenset({"jwk", "jku", "x5u", "x5c"})
OWNER_CLAIMS = ("sub", "user_id")  # in order of precedence


@dataclass(frozen=True, slots=True)
class Principal:
    subject: str
    expires_at: int


class KeySource(Protocol):
    """Where keys for some algorithms come from, and which `iss`/`aud` it expects."""

    name: str
    algorithms: frozenset[str]

    async def key_for(self, header: Mapping[str, Any]) -> Any:
        """The verification key for this token header; raises AuthInvalid if none fits."""
        ...

    def check_claims(self, claims: Mapping[str, Any]) -> None:
        """Raise AuthInvalid unless the issuer and audience are the expected ones."""
        ...

    async def ready(self) -> bool:
        """Whether tokens of this source can be verified now (its keys are at hand)."""
        ...


@dataclass(frozen=True, slots=True)
class _Verified:
    principal: Principal
    source: KeySource
    header: Mapping[str, Any]
    key: Any  # compared by identity: see JwksKeys


def _audiences(claims: Mapping[str, Any]) -> list[str] | None:
    """`aud` as a list of strings; None when absent or not a string or list of strings."""
    aud = claims.get("aud")
    values = [aud] if isinstance(aud, str) else aud
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        return None
    return values


def audience_matches(claims: Mapping[str, Any], accepted: frozenset[str]) -> bool:
    values = _audiences(claims)
    return values is not None and any(v in accepted for v in values)


class TokenVerifier:
    """Turns a bearer token into a Principal, or raises AuthInvalid (never anything else,
    except ServiceUnavailable when a key server was never reachable)."""

    def __init__(self, sources: list[KeySource]) -> None:
        self.sources = sources
        self._by_algorithm = {alg: s for s in sources for alg in s.algorithms}
        # Tokens already verified, until they expire or their key is withdrawn: a client
        # sends the same token with every request, and the signature and claims cannot
        # change. Bounded, oldest out.
        self._verified: dict[str, _Verified] = {}

    async def ready(self) -> bool:
        """Ready when any key source is: a token of that kind can be verified now."""
        for source in self.sources:
            if await source.ready():
                return True
        return False

    async def verify(self, token: str) -> Principal:
        known = self._verified.get(token)
        if known is not None:
            if time.time() < known.principal.expires_at + LEEWAY_SECONDS and (
                await self._key_unchanged(known)
            ):
                return known.principal
            self._verified.pop(token, None)
        principal = await self._verify(token)
        # The key that verified it, looked up again: nothing ran in between (no await
        # suspended), so it is the same key, and the entry lives only as long as it does.
        header = self._header(token)
        source = self._source_for(header)
        entry = _Verified(principal, source, header, await source.key_for(header))
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            self._verified.pop(next(iter(self._verified)), None)
        self._verified[token] = entry
        return principal

    @staticmethod
    async def _key_unchanged(known: _Verified) -> bool:
        """The source still selects the very key that verified the token (a JWKS
        refetch that dropped or replaced it ends the entry)."""
        try:
            return await known.source.key_for(known.header) is known.key
        except ApiError:
            return False

    async def _verify(self, token: str) -> Principal:
        if len(token) > MAX_TOKEN_BYTES:
            raise AuthInvalid("The token is too large.")
        header = self._header(token)
        source = self._source_for(header)
        key = await source.key_for(header)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[header["alg"]],
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp"], "verify_aud": False, "verify_iss": False},
            )
        except jwt.ExpiredSignatureError:
            raise AuthInvalid("The token has expired.") from None
        except (jwt.PyJWTError, ValueError, TypeError):
            raise AuthInvalid("The token is invalid.") from None
        source.check_claims(claims)
        return self._principal(claims)

    @staticmethod
    def _header(token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except (jwt.PyJWTError, ValueError, TypeError):
            raise AuthInvalid("The token is malformed.") from None
        alg = header.get("alg")
        if not isinstance(alg, str) or alg.lower() == "none":
            raise AuthInvalid("The token's algorithm is not accepted.")
        if _KEY_IN_HEADER & header.keys():
            raise AuthInvalid("Keys supplied in the token header are not accepted.")
        if "crit" in header:
            raise AuthInvalid("The token requires extensions this API does not support.")
        if "kid" in header and not isinstance(header["kid"], str):
            raise AuthInvalid("The token's key id is malformed.")
        return header

    def _source_for(self, header: Mapping[str, Any]) -> KeySource:
        alg = header["alg"]
        source = self._by_algorithm.get(alg)
        if source is not None:
            return source
        if alg in ASYMMETRIC_ALGORITHMS:
            raise AuthInvalid(
                f"{alg} tokens (such as Better Auth's) need a key set, and none is configured:"
                " set BETTER_AUTH_URL (or JWT_JWKS_URL) on the API."
            )
        raise AuthInvalid("The token's algorithm is not accepted.")

    @staticmethod
    def _principal(claims: Mapping[str, Any]) -> Principal:
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or isinstance(exp, bool):
            raise AuthInvalid("The token's expiry is malformed.")
        # A source that expects no issuer/audience does not look at them; their shape is
        # still checked, so a malformed token is refused whichever source verified it.
        if "iss" in claims and not isinstance(claims["iss"], str):
            raise AuthInvalid("The token's issuer is malformed.")
        if "aud" in claims and _audiences(claims) is None:
            raise AuthInvalid("The token's audience is malformed.")
        return Principal(subject=owner_of(claims), expires_at=int(exp))


def owner_of(claims: Mapping[str, Any]) -> str:
    """The token's owner: `sub`, or the `user_id` claim of tokens that front ends sign
    themselves without a `sub`. Both present and different is a contradiction, refused."""
    candidates = [claims[name] for name in OWNER_CLAIMS if name in claims]
    if not candidates:
        raise AuthInvalid("The token names no user (`sub` or `user_id`).")
    for value in candidates:
        if not isinstance(value, str) or not value or len(value) > 255:
            raise AuthInvalid("The token's subject is malformed.")
    if len(set(candidates)) > 1:
        raise AuthInvalid("The token's `sub` and `user_id` name different users.")
    owner: str = candidates[0]
    return owner
