"""What a running app holds (engine, verifier, settings), reached from any request."""

from dataclasses import dataclass

from starlette.requests import Request

from api.auth.verifier import TokenVerifier
from api.crud.store import Store
from api.ratelimit import RateLimiter
from api.settings import Settings


@dataclass(frozen=True, slots=True)
class Runtime:
    settings: Settings
    store: Store  # where the generated endpoints' statements run
    verifier: TokenVerifier
    limiter: RateLimiter


def runtime_of(request: Request) -> Runtime:
    runtime = request.app.state.runtime
    assert isinstance(runtime, Runtime)
    return runtime
