"""The resources the API serves: one declaration each; the factory does the rest."""

from api.crud import CrudResource
from schemas.task import Task, TaskCreate, TaskListResponse, TaskPatch, TaskResponse, TaskUpdate

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
    stamps={"completed_at": "completed"},  # when it was completed; cleared if reopened
    counted=True,  # item_count, kept by triggers (migration 0004)
    aliases={"complete": "completed"},  # the name the original front end reads and sends
)

RESOURCES: tuple[CrudResource, ...] = (tasks,)
