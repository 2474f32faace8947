"""The project resource: a named group of tasks."""

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import MISSING, BaseModel, ConfigDict, Field, StrictBool
from sqlalchemy import Column, Index, String
from sqlmodel import Field as ColumnField
from sqlmodel import SQLModel

from schemas.types import ONE_LINE_VISIBLE, UTCDateTime, UtcTimestamp, described, strip

NAME_MAX = 100
COLOR = described(r"^#[0-9a-fA-F]{6}$", "Must be a colour as `#rrggbb`.")


class Project(SQLModel, table=True):
    __table_args__ = (Index("ix_project_owner_created", "user_id", "created_at", "id"),)

    id: uuid.UUID = ColumnField(primary_key=True)
    user_id: str = ColumnField(sa_column=Column(String(255), nullable=False))
    name: str = ColumnField(max_length=NAME_MAX)
    color: str | None = ColumnField(default=None, max_length=7)
    archived: bool = ColumnField(default=False)
    created_at: datetime = ColumnField(sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = ColumnField(sa_type=UTCDateTime, nullable=False)
    version: int = ColumnField(default=1, nullable=False)


Name = Annotated[
    str,
    Field(min_length=1, max_length=NAME_MAX, pattern=ONE_LINE_VISIBLE, examples=["Home"]),
    strip,
]
Color = Annotated[str, Field(pattern=COLOR, examples=["#3b82f6"])]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class ProjectCreate(_Request):
    name: Name
    color: Color | None = None
    archived: StrictBool = False


class ProjectUpdate(_Request):
    """PUT: the whole project. Omitted optional fields go back to their defaults."""

    name: Name
    color: Color | None = None
    archived: StrictBool = False


class ProjectPatch(_Request):
    name: Name | MISSING = MISSING
    color: Color | MISSING | None = MISSING
    archived: StrictBool | MISSING = MISSING


class ProjectResponse(BaseModel):
    id: uuid.UUID
    user_id: str
    name: str
    color: str | None
    archived: bool
    created_at: UtcTimestamp
    updated_at: UtcTimestamp
    version: int


class ProjectListResponse(BaseModel):
    projects: list[ProjectResponse]
    count: int
    limit: int
    offset: int
    next_cursor: str | None
