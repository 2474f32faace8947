"""Reading the bearer token off a request and turning it into the caller."""

from starlette.requests import Request

from api.auth.verifier import Principal
from api.errors import AuthInvalid, AuthMissing
from api.runtime import runtime_of


async def authenticate(request: Request) -> Principal:
    header = request.headers.get("authorization")
    if not header:
        raise AuthMissing("Send `Authorization: Bearer <token>`.")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise AuthInvalid("The Authorization header must be `Bearer <token>`.")
    principal = await runtime_of(request).verifier.verify(token)
    request.state.user_id = principal.subject
    return principal
