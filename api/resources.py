"""The resources the API serves: one declaration each; the factory does the rest."""

from api.crud import CrudResource
from schemas.project import (
    Project,
    ProjectCreate,
    ProjectListResponse,
    ProjectPatch,
    ProjectResponse,
    ProjectUpdate,
)
from schemas.task import Task, TaskCreate, TaskListResponse, TaskPatch, TaskResponse, TaskUpdate

projects = CrudResource(
    name="project",
    plural="projects",
    table=Project,
    owner="user_id",
    create=ProjectCreate,
    replace=ProjectUpdate,
    patch=ProjectPatch,
    read=ProjectResponse,
    page=ProjectListResponse,
    sort=("created_at", "updated_at", "name"),
    default_sort="-created_at",
    search=("name",),
    filters=("archived",),
    counted=True,
)

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
    sort=("created_at", "updated_at", "title", "due_date", "priority"),
    default_sort="-created_at",
    search=("title", "description"),
    filters={
        "completed": "completed",
        "priority": "priority",
        "tag": "tags",
        "due": "due_date",  # due_before, due_after
        "project_id": "project_id",
    },
    status="completed",
    overdue=("due_date", "completed"),
    references={"project_id": projects},  # only the caller's own projects
    toggles={"complete": "completed"},  # PATCH …/tasks/{id}/complete
    facets={"tags": "tags"},  # GET /api/{user_id}/tags
    stamps={"completed_at": "completed"},  # when it was completed; cleared if reopened
    counted=True,  # item_count, kept by triggers (migration 0004)
    aliases={"complete": "completed"},  # the name the original front end reads and sends
)

RESOURCES: tuple[CrudResource, ...] = (tasks, projects)
