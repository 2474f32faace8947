"""Built-in accounts (fastapi-users): register, log in and read yourself, no front end needed.

Their access tokens are ordinary HS256 tokens with fastapi-users' access audience, so the
task endpoints verify them on the shared-secret path like any other.
"""

import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

from email_validator import EmailNotValidError, validate_email
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi_users import BaseUserManager, FastAPIUsers, UUIDIDMixin, exceptions, schemas
from fastapi_users.authentication import AuthenticationBackend, BearerTransport, JWTStrategy
from fastapi_users.jwt import generate_jwt
from fastapi_users_db_sqlalchemy import SQLAlchemyUserDatabase
from pydantic import MISSING, AfterValidator, ConfigDict, Field, WithJsonSchema
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from api.errors import RateLimited
from api.ratelimit import RateLimiter
from schemas.user import User

ACCESS_TOKEN_SECONDS = 3600
LOGIN_PATH = "/auth/jwt/login"
LOGIN_LIMIT_PER_ACCOUNT = 10  # per window
LOGIN_LIMIT_PER_ADDRESS = 30
LOGIN_WINDOW_SECONDS = 60
EMAIL_MAX = 320  # the column's length
PASSWORD_MIN, PASSWORD_MAX = 8, 128
# Login fields: an empty form field is a missing one; longer values match no account.
LOGIN_FIELD_LIMITS = {"username": (1, EMAIL_MAX), "password": (1, PASSWORD_MAX)}

Password = Annotated[str, Field(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX)]


def _email(value: str) -> str:
    """Syntax only, no DNS; `.test` domains (RFC 6761) are welcome, as built-in accounts
    exist for trying the API out."""
    try:
        return validate_email(value, check_deliverability=False, test_environment=True).normalized
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from None


Email = Annotated[
    str, AfterValidator(_email), WithJsonSchema({"type": "string", "format": "email"})
]


class UserRead(schemas.BaseUser[uuid.UUID]):
    email: Email


class UserCreate(schemas.BaseUserCreate):
    model_config = ConfigDict(strict=True)  # 0 or "yes" is not a boolean

    email: Email
    password: Password


class UserUpdate(schemas.BaseUserUpdate):
    """PATCH: absent fields stay as they are; none of them can be null."""

    model_config = ConfigDict(strict=True)

    password: Password | MISSING = MISSING  # type: ignore[assignment]
    email: Email | MISSING = MISSING  # type: ignore[assignment]
    is_active: bool | MISSING = MISSING  # type: ignore[assignment]
    is_superuser: bool | MISSING = MISSING  # type: ignore[assignment]
    is_verified: bool | MISSING = MISSING  # type: ignore[assignment]


class AccessTokenStrategy(JWTStrategy[User, uuid.UUID]):
    """fastapi-users' JWT plus `iat` and, when configured, `iss`."""

    def __init__(self, secret: str, issuer: str | None) -> None:
        super().__init__(secret=secret, lifetime_seconds=ACCESS_TOKEN_SECONDS)
        self.issuer = issuer

    async def write_token(self, user: User) -> str:
        data: dict[str, Any] = {"sub": str(user.id), "aud": self.token_audience}
        if self.issuer:
            data["iss"] = self.issuer
        return generate_jwt(data, self.encode_key, self.lifetime_seconds, self.algorithm)


def install_builtin_users(
    app: FastAPI, engine: AsyncEngine, secret: str, issuer: str | None, limiter: RateLimiter
) -> None:
    sessions = async_sessionmaker(engine, expire_on_commit=False)

    class UserManager(UUIDIDMixin, BaseUserManager[User, uuid.UUID]):
        reset_password_token_secret = secret
        verification_token_secret = secret

        async def get_by_email(self, user_email: str) -> User:
            # No account has a NUL in its e-mail, and PostgreSQL refuses one in a query
            # (a login with it would be a 500 instead of wrong credentials).
            if "\x00" in user_email:
                raise exceptions.UserNotExists()
            return await super().get_by_email(user_email)

    async def user_db() -> AsyncIterator[SQLAlchemyUserDatabase[User, uuid.UUID]]:
        async with sessions() as session:
            yield SQLAlchemyUserDatabase(session, User)

    async def user_manager(
        db: Annotated[SQLAlchemyUserDatabase[User, uuid.UUID], Depends(user_db)],
    ) -> AsyncIterator[UserManager]:
        yield UserManager(db)

    backend = AuthenticationBackend(
        name="jwt",
        transport=BearerTransport(tokenUrl=LOGIN_PATH.lstrip("/")),
        get_strategy=lambda: AccessTokenStrategy(secret, issuer),
    )
    users = FastAPIUsers[User, uuid.UUID](user_manager, [backend])

    async def throttle_login(request: Request) -> None:
        """Brute force costs time: attempts are capped per account and per address."""
        form = await request.form()
        account = str(form.get("username", "")).strip().lower()
        address = request.client.host if request.client else "unknown"
        for key, limit in (
            (f"login:account:{account}", LOGIN_LIMIT_PER_ACCOUNT),
            (f"login:address:{address}", LOGIN_LIMIT_PER_ADDRESS),
        ):
            retry_after = await limiter.hit(key, limit, LOGIN_WINDOW_SECONDS)
            if retry_after is not None:
                raise RateLimited(
                    "Too many login attempts; try again later.",
                    headers={"Retry-After": str(retry_after)},
                )

    # Only logging in is throttled: logging out is no attempt at a password.
    login, logout = APIRouter(), APIRouter()
    for route in users.get_auth_router(backend).routes:
        is_login = getattr(route, "name", None) == f"auth:{backend.name}.login"
        (login if is_login else logout).routes.append(route)
    throttled = [Depends(throttle_login)]
    app.include_router(login, prefix="/auth/jwt", tags=["auth"], dependencies=throttled)
    app.include_router(logout, prefix="/auth/jwt", tags=["auth"])
    app.include_router(
        users.get_register_router(UserRead, UserCreate), prefix="/auth", tags=["auth"]
    )
    app.include_router(
        users.get_users_router(UserRead, UserUpdate), prefix="/users", tags=["users"]
    )
