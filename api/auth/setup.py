"""Builds the token verifier from the settings: which key sources are active."""

import logging
from pathlib import Path

import httpx

from api.auth.jwks import JwksKeys
from api.auth.shared_secret import (
    ConfigurationError,
    SharedSecretKeys,
    check_secret,
    load_or_create_secret,
)
from api.auth.verifier import KeySource, TokenVerifier
from api.settings import Settings

log = logging.getLogger("todo_api.auth")


def resolve_secret(settings: Settings) -> str:
    """JWT_SECRET, else BETTER_AUTH_SECRET (front ends that sign their own tokens with
    it), or in development a generated one kept in JWT_SECRET_FILE."""
    for name, value in (
        ("JWT_SECRET", settings.jwt_secret),
        ("BETTER_AUTH_SECRET", settings.better_auth_secret),
    ):
        if value is not None:
            return check_secret(value.get_secret_value(), name)
    if settings.is_production:
        raise ConfigurationError(
            "JWT_SECRET (or BETTER_AUTH_SECRET) is required when ENV=production"
            " (at least 32 bytes)."
        )
    return load_or_create_secret(Path(settings.jwt_secret_file))


def build_verifier(settings: Settings, secret: str, client: httpx.AsyncClient) -> TokenVerifier:
    sources: list[KeySource] = [
        SharedSecretKeys(
            secret,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            builtin_users=settings.auth_builtin_users,
        )
    ]
    base = settings.better_auth_url.rstrip("/") if settings.better_auth_url else None
    jwks_url = settings.jwt_jwks_url or (f"{base}/api/auth/jwks" if base else None)
    if jwks_url:
        sources.append(
            JwksKeys(
                jwks_url,
                issuer=settings.jwt_issuer or base,
                audience=settings.jwt_audience or base,
                client=client,
                refetch_cooldown_seconds=settings.jwks_refetch_cooldown_seconds,
            )
        )
    for source in sources:
        detail = f" from {jwks_url}" if isinstance(source, JwksKeys) else ""
        log.info("token key source active: %s%s", source.name, detail)
    return TokenVerifier(sources)
