"""Reading the bearer token off a request and turning it into the caller."""

from starlette.requests import Request

from api.auth.verifier import Principal
from api.errors import AuthInvalid, AuthMissing
from api.runtime import Runtime, runtime_of


async def authenticate(request: Request, runtime: Runtime | None = None) -> Principal:
    """The caller; `runtime`: the app's, when the caller already holds it."""
    header = request.headers.get("authorization")
    if not header:
        raise AuthMissing("Send `Authorization: Bearer <token>`.")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise AuthInvalid("The Authorization header must be `Bearer <token>`.")
    principal = await (runtime or runtime_of(request)).verifier.verify(token)
    request.state.user_id = principal.subject
    return principal
