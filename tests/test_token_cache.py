"""Verified tokens are remembered only while they are valid."""

import asyncio
import time

import jwt

from api.auth.shared_secret import SharedSecretKeys
from api.auth.verifier import LEEWAY_SECONDS, VERIFIED_CACHE_SIZE, TokenVerifier
from api.errors import AuthInvalid
from tests.support import TEST_SECRET


def _verifier() -> TokenVerifier:
    return TokenVerifier([SharedSecretKeys(TEST_SECRET)])


def _token(sub: str, exp: float) -> str:
    return jwt.encode({"sub": sub, "exp": exp}, TEST_SECRET, algorithm="HS256")


async def test_a_cached_token_still_expires() -> None:
    verifier = _verifier()
    # Expired 1 s short of the leeway: valid now, invalid in just over a second.
    token = _token("alice", time.time() - LEEWAY_SECONDS + 1)
    assert (await verifier.verify(token)).subject == "alice"
    await asyncio.sleep(1.2)
    try:
        await verifier.verify(token)
    except AuthInvalid:
        pass
    else:
        raise AssertionError("an expired token was served from the cache")


async def test_cache_is_bounded() -> None:
    verifier = _verifier()
    exp = time.time() + 600
    first = _token("u0", exp)
    await verifier.verify(first)
    for i in range(1, VERIFIED_CACHE_SIZE + 1):
        await verifier.verify(_token(f"u{i}", exp))
    assert len(verifier._verified) == VERIFIED_CACHE_SIZE
    assert first not in verifier._verified  # the oldest went first
