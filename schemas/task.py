"""The task resource: its table and the request and response models of its endpoints."""

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import MISSING, BaseModel, ConfigDict, Field, StrictBool
from sqlalchemy import Column, Enum, ForeignKey, Index, String, Uuid
from sqlmodel import Field as ColumnField
from sqlmodel import SQLModel

from schemas.types import (
    MULTI_LINE,
    ONE_LINE_VISIBLE,
    Labels,
    StringArray,
    TimeWithOffset,
    UTCDateTime,
    UtcTimestamp,
    folded,
    strip,
)

TITLE_MAX = 200
DESCRIPTION_MAX = 1000
PRIORITIES = ("low", "medium", "high")  # in rank order: `-priority` sorts high first


class Task(SQLModel, table=True):
    """One person's to-do item. `user_id` is the owner: the `sub` of their token."""

    __table_args__ = (
        Index("ix_task_owner_created", "user_id", "created_at", "id"),
        Index("ix_task_project", "project_id"),
        # Tag filters ignore case: they compare the lower-cased copy, on PostgreSQL through
        # this GIN index (on SQLite a plain one, unused, so both schemas are the same).
        Index("ix_task_tags", "tags_folded", postgresql_using="gin"),
    )

    id: uuid.UUID = ColumnField(primary_key=True)
    user_id: str = ColumnField(sa_column=Column(String(255), nullable=False))
    title: str = ColumnField(max_length=TITLE_MAX)
    description: str | None = ColumnField(default=None, max_length=DESCRIPTION_MAX)
    completed: bool = ColumnField(default=False)
    completed_at: datetime | None = ColumnField(default=None, sa_type=UTCDateTime)
    priority: str = ColumnField(
        default="medium",
        sa_column=Column(
            Enum(*PRIORITIES, name="task_priority", native_enum=False, create_constraint=True),
            nullable=False,
            server_default="medium",
        ),
    )
    due_date: datetime | None = ColumnField(default=None, sa_type=UTCDateTime)
    tags: list[str] = ColumnField(
        default_factory=list,
        sa_column=Column(StringArray(), nullable=False),
    )
    tags_folded: list[str] = ColumnField(default_factory=list, sa_column=folded("tags"))
    project_id: uuid.UUID | None = ColumnField(
        default=None,
        sa_column=Column(Uuid, ForeignKey("project.id", ondelete="SET NULL"), nullable=True),
    )
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
Priority = Annotated[Literal["low", "medium", "high"], Field(examples=["high"])]
DueDate = Annotated[TimeWithOffset, Field(examples=["2026-12-24T18:00:00+01:00"])]
Tags = Annotated[Labels, Field(examples=[["shopping", "home"]])]
ProjectId = Annotated[uuid.UUID, Field(description="One of your own projects.")]


class _Request(BaseModel):
    # Strict: "yes" or 1 is not a boolean. Unknown and read-only fields are refused.
    model_config = ConfigDict(extra="forbid", strict=True)


class TaskCreate(_Request):
    title: Title
    description: Description | None = None
    completed: StrictBool = False
    priority: Priority = "medium"
    due_date: DueDate | None = None
    tags: Tags = Field(default_factory=list)
    project_id: ProjectId | None = None


class TaskUpdate(_Request):
    """PUT: the whole task. Omitted optional fields go back to their defaults."""

    title: Title
    description: Description | None = None
    completed: Annotated[StrictBool, Field(examples=[False])]
    priority: Priority = "medium"
    due_date: DueDate | None = None
    tags: Tags = Field(default_factory=list)
    project_id: ProjectId | None = None


class TaskPatch(_Request):
    """PATCH, JSON merge-patch style: absent is untouched, null clears a nullable field."""

    title: Title | MISSING = MISSING
    description: Description | MISSING | None = MISSING
    completed: StrictBool | MISSING = MISSING
    priority: Priority | MISSING = MISSING
    due_date: DueDate | MISSING | None = MISSING
    tags: Tags | MISSING = MISSING
    project_id: ProjectId | MISSING | None = MISSING


class TaskResponse(BaseModel):
    id: uuid.UUID
    user_id: str
    title: str
    description: str | None
    completed: bool
    completed_at: UtcTimestamp | None
    priority: Literal["low", "medium", "high"]
    due_date: UtcTimestamp | None
    tags: list[str]
    project_id: uuid.UUID | None
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
