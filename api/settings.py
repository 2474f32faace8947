"""Configuration from the environment (and `.env`); `create_app` is its only reader."""

from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///./todo.db"


class Settings(BaseSettings):
    # An empty variable (`JWT_SECRET=` copied from .env.example) means "not set".
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", env_ignore_empty=True)

    env: Literal["development", "production", "test"] = "development"
    database_url: str = DEFAULT_DATABASE_URL
    db_pool_size: int = Field(default=10, ge=1)
    db_pool_timeout_seconds: float = Field(default=3.0, gt=0)
    db_connect_timeout_seconds: int = Field(default=3, ge=2)  # libpq treats 1 as 2
    # A statement running (or waiting on a lock) longer is canceled and answered 503; 0: none.
    db_statement_timeout_ms: int = Field(default=5000, ge=0)

    jwt_secret: SecretStr | None = None
    # The secret front ends sign their own HS256 tokens with; used when JWT_SECRET is unset.
    better_auth_secret: SecretStr | None = None
    jwt_secret_file: str = ".jwt_secret"  # noqa: S105 (a path, not a secret)
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    better_auth_url: str | None = None
    jwt_jwks_url: str | None = None
    # An unknown `kid` refetches the key set at most this often (a new signing key is
    # picked up within this time; forged kids cannot hammer the key server).
    jwks_refetch_cooldown_seconds: float = Field(default=30.0, ge=0)
    auth_builtin_users: bool = True

    cors_origins: Annotated[list[str], NoDecode] = []
    redis_url: str | None = None
    rate_limit_per_minute: int = Field(default=600, ge=0)  # per user; 0 disables
    max_body_bytes: int = Field(default=64 * 1024, ge=1)
    max_items_per_user: int = Field(default=50_000, ge=0)  # per resource; 0: no cap

    # FastAPI's native OpenTelemetry (spans, metrics, logs through the global providers).
    # Off by default: even unconfigured, checking for providers costs every request.
    telemetry: bool = False
    # After start-up, move every object built so far (modules, models, statement caches)
    # out of the garbage collector's sight: a full collection then scans only what requests
    # made, instead of stopping every request in flight for ~200 ms (the writes' p99).
    gc_freeze: bool = True

    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "INFO"

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @property
    def is_production(self) -> bool:
        return self.env == "production"
