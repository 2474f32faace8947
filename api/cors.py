"""CORS for browser front ends on other origins (`CORS_ORIGINS`)."""

from collections.abc import Sequence

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

WILDCARD = "*"
ALLOW_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
ALLOW_HEADERS = (
    "Authorization",
    "Content-Type",
    "If-Match",
    "If-None-Match",
    "Idempotency-Key",
    "X-Request-ID",
)
# What a front end reads besides the body: the new item's URL, its version for If-Match,
# the id to quote in a bug report, when to retry, whether a POST was a replay, and why a
# token was refused.
EXPOSE_HEADERS = (
    "ETag",
    "Location",
    "X-Request-ID",
    "Retry-After",
    "Idempotency-Replayed",
    "WWW-Authenticate",
)


def install_cors(app: FastAPI, origins: Sequence[str]) -> None:
    """Explicit origins may send credentials (`fetch(..., {credentials: "include"})`).
    `*` never does: Starlette would then echo any caller's origin with
    `Access-Control-Allow-Credentials: true`, letting every site on the web make
    credentialed calls. A list containing `*` is treated as `*` alone."""
    if not origins:
        return
    wildcard = WILDCARD in origins
    app.add_middleware(
        CORSMiddleware,
        allow_origins=[WILDCARD] if wildcard else list(origins),
        allow_credentials=not wildcard,
        allow_methods=list(ALLOW_METHODS),
        allow_headers=list(ALLOW_HEADERS),
        expose_headers=list(EXPOSE_HEADERS),
        max_age=600,
    )
