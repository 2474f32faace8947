"""The resources the API serves: one declaration each; the factory does the rest."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Table, func

from api.crud import CrudResource
from schemas.task import Task, TaskCreate, TaskListResponse, TaskPatch, TaskResponse, TaskUpdate


def stamp_completion(
    fields: Mapping[str, Any], now: datetime, current: Table | None
) -> Mapping[str, Any]:
    """`completed_at` is set when a task becomes completed (kept if it already was) and
    cleared when it is reopened."""
    if "completed" not in fields:
        return {}
    if not fields["completed"]:
        return {"completed_at": None}
    if current is None:
        return {"completed_at": now}
    return {"completed_at": func.coalesce(current.c.completed_at, now)}


tasks = CrudResource(
    name="task",
    plural="tasks",
    table=Task,
    owner="user_id",
    create=TaskCreate,
    replace=TaskUpdate,
    patch=TaskPatch,
    read=TaskResponse,
    page=TaskListResponse,
    sort=("created_at", "updated_at", "title"),
    default_sort="-created_at",
    search=("title", "description"),
    filters=("completed",),
    derive=stamp_completion,
)

RESOURCES: tuple[CrudResource, ...] = (tasks,)
