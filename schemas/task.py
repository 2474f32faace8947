"""The task resource: its table and the request and response models of its endpoints."""

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import MISSING, BaseModel, ConfigDict, Field, StrictBool
from sqlalchemy import Column, Index, String
from sqlmodel import Field as ColumnField
from sqlmodel import SQLModel

from schemas.types import MULTI_LINE, ONE_LINE_VISIBLE, UTCDateTime, UtcTimestamp, strip

TITLE_MAX = 200
DESCRIPTION_MAX = 1000


class Task(SQLModel, table=True):
    """One person's to-do item. `user_id` is the owner: the `sub` of their token."""

    __table_args__ = (Index("ix_task_owner_created", "user_id", "created_at", "id"),)

    id: uuid.UUID = ColumnField(primary_key=True)
    user_id: str = ColumnField(sa_column=Column(String(255), nullable=False))
    title: str = ColumnField(max_length=TITLE_MAX)
    description: str | None = ColumnField(default=None, max_length=DESCRIPTION_MAX)
    completed: bool = ColumnField(default=False)
    completed_at: datetime | None = ColumnField(default=None, sa_type=UTCDateTime)
    created_at: datetime = ColumnField(sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = ColumnField(sa_type=UTCDateTime, nullable=False)
    version: int = ColumnField(default=1, nullable=False)


Title = Annotated[
    str,
    Field(min_length=1, max_length=TITLE_MAX, pattern=ONE_LINE_VISIBLE, examples=["Buy milk"]),
    strip,
]
Description = Annotated[
    str, Field(max_length=DESCRIPTION_MAX, pattern=MULTI_LINE, examples=["Two litres"])
]


class _Request(BaseModel):
    # Strict: "yes" or 1 is not a boolean. Unknown and read-only fields are refused.
    model_config = ConfigDict(extra="forbid", strict=True)


class TaskCreate(_Request):
    title: Title
    description: Description | None = None
    completed: StrictBool = False


class TaskUpdate(_Request):
    """PUT: the whole task. Omitted optional fields go back to their defaults."""

    title: Title
    description: Description | None = None
    completed: Annotated[StrictBool, Field(examples=[False])]


class TaskPatch(_Request):
    """PATCH, JSON merge-patch style: absent is untouched, null clears `description`."""

    title: Title | MISSING = MISSING
    description: Description | MISSING | None = MISSING
    completed: StrictBool | MISSING = MISSING


class TaskResponse(BaseModel):
    id: uuid.UUID
    user_id: str
    title: str
    description: str | None
    completed: bool
    completed_at: UtcTimestamp | None
    created_at: UtcTimestamp
    updated_at: UtcTimestamp
    version: int = Field(description="Increases with every change; the ETag is derived from it.")


class TaskListResponse(BaseModel):
    tasks: list[TaskResponse]
    count: int = Field(description="How many tasks match the filters, across all pages.")
    limit: int
    offset: int
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page."
    )
