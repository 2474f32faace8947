"""The built-in user accounts (for running without a Better Auth front end)."""

import uuid

from sqlmodel import Field, SQLModel


class User(SQLModel, table=True):
    """Columns as fastapi-users expects them; `id` becomes the token's `sub`."""

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    email: str = Field(max_length=320, unique=True, index=True)
    hashed_password: str = Field(max_length=1024)
    is_active: bool = Field(default=True)
    is_superuser: bool = Field(default=False)
    is_verified: bool = Field(default=False)
