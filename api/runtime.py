"""What a running app holds (engine, verifier, settings), reached from any request."""

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request

from api.auth.verifier import TokenVerifier
from api.ratelimit import RateLimiter
from api.settings import Settings


@dataclass(frozen=True, slots=True)
class Runtime:
    settings: Settings
    engine: AsyncEngine  # autocommit: every statement commits before the response
    transactional: AsyncEngine  # same pool, for the few multi-statement transactions
    verifier: TokenVerifier
    limiter: RateLimiter


def runtime_of(request: Request) -> Runtime:
    runtime = request.app.state.runtime
    assert isinstance(runtime, Runtime)
    return runtime
