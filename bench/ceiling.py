"""The framework ceiling: bare Starlette answering one constant, task-sized JSON body."""

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

BODY = orjson.dumps(
    {
        "id": "019aa9ad-9612-7094-915a-f7242cfdfb8c",
        "user_id": "user-00001",
        "title": "Task 1",
        "description": "Notes for task 1: remember the details.",
        "completed": False,
        "completed_at": None,
        "created_at": "2026-11-22T03:48:37.010000Z",
        "updated_at": "2026-11-22T03:48:37.010000Z",
        "version": 1,
    }
)


async def constant(request: Request) -> Response:
    return Response(BODY, media_type="application/json")


app = Starlette(routes=[Route("/", constant)])
