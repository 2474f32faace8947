"""HS256 with a shared secret: self-minted tokens and the built-in users' tokens."""

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from api.auth.verifier import audience_matches
from api.errors import AuthInvalid

MIN_SECRET_BYTES = 32
BUILTIN_USERS_AUDIENCE = "fastapi-users:auth"


class ConfigurationError(RuntimeError):
    """The API refuses to start with this configuration; the message says how to fix it."""


def check_secret(secret: str, name: str = "JWT_SECRET") -> str:
    length = len(secret.encode())
    if length < MIN_SECRET_BYTES:
        raise ConfigurationError(
            f"{name} must be at least {MIN_SECRET_BYTES} bytes (it has {length}). "
            "Generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))'"
        )
    return secret


def load_or_create_secret(path: Path) -> str:
    """The secret kept in `path`, created on first use so restarts and workers agree."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return check_secret(path.read_text().strip())
    with os.fdopen(fd, "w") as file:
        secret = secrets.token_urlsafe(48)
        file.write(secret)
    return secret


class SharedSecretKeys:
    """Accepts HS256 tokens signed with the secret.

    Audience: `JWT_AUDIENCE` when set (then required), and the built-in users' access
    audience. Their reset and verification tokens carry other audiences and are refused.
    """

    name = "shared secret (HS256)"
    algorithms = frozenset({"HS256"})

    def __init__(
        self,
        secret: str,
        *,
        issuer: str | None = None,
        audience: str | None = None,
        builtin_users: bool = False,
    ) -> None:
        self._secret = check_secret(secret).encode()
        self._issuer = issuer
        self._audience_required = audience is not None
        accepted = {audience} if audience else set()
        if builtin_users:
            accepted.add(BUILTIN_USERS_AUDIENCE)
        self._accepted_audiences = frozenset(accepted)

    async def key_for(self, header: Mapping[str, Any]) -> bytes:
        return self._secret

    async def ready(self) -> bool:
        return True  # the secret is always at hand

    def check_claims(self, claims: Mapping[str, Any]) -> None:
        if self._issuer is not None and claims.get("iss") != self._issuer:
            raise AuthInvalid("The token's issuer is not accepted.")
        if "aud" in claims:
            if not audience_matches(claims, self._accepted_audiences):
                raise AuthInvalid("The token's audience is not accepted.")
        elif self._audience_required:
            raise AuthInvalid("The token has no audience.")
