"""The MCP tools in the test process itself (ASGI, no server): the SDK's client on both
databases, so the tools' code is measured by the coverage gate like the routes'."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import httpx2
from fastapi import FastAPI
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.mcp_support import LEGACY, MODERN, Assistant, text_of
from tests.support import User, make_token


@asynccontextmanager
async def in_process(app: FastAPI, user_id: str, mode: str = MODERN) -> AsyncIterator[Assistant]:
    token = make_token(user_id)
    headers = {"Authorization": f"Bearer {token}"}
    transport = httpx2.ASGITransport(app=app)
    async with (
        httpx2.AsyncClient(
            transport=transport, headers=headers, base_url="http://testserver"
        ) as http,
        Client(streamable_http_client("http://testserver/mcp", http_client=http), mode=mode) as mcp,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as rest,
    ):
        yield Assistant(mcp, User(rest, user_id, token))


async def test_tools_work_in_process_and_isolate_owners(app: FastAPI) -> None:
    async with in_process(app, "alice") as alice, in_process(app, "bob") as bob:
        tools = {tool.name for tool in (await alice.mcp.list_tools()).tools}
        assert {"add_task", "list_tasks", "complete_task", "add_project"} <= tools
        project = await alice.call("add_project", name="Home")
        task = await alice.call(
            "add_task", title="Buy milk", tags=["home"], project_id=project["id"]
        )
        listed = await alice.call("list_tasks", tag=["HOME"], limit=1)
        assert [t["id"] for t in listed["tasks"]] == [task["id"]]
        done = await alice.call("complete_task", task_id=task["id"])
        assert done["completed"] is True
        updated = await alice.call("update_task", task_id=task["id"], priority="high")
        assert updated["priority"] == "high"
        text, problem = await bob.fail("get_task", task_id=task["id"])
        assert (problem["code"], text) == ("NOT_FOUND", "No such task.")
        _, invalid = await alice.fail("add_task", title="")
        assert invalid["code"] == "VALIDATION_ERROR"
        deleted = await alice.mcp.call_tool("delete_task", {"task_id": task["id"]})
        assert not deleted.is_error, deleted
        assert await alice.rest.items() == []


async def test_a_handshake_era_client_gets_the_same_results(app: FastAPI) -> None:
    """Its calls go through the SDK's own pipeline (the per-request version's are
    answered by the endpoint): the same results, errors included."""
    async with in_process(app, "alice") as modern, in_process(app, "alice", LEGACY) as legacy:
        assert legacy.mcp.protocol_version != MODERN
        task = await legacy.call("add_task", title="Café ✓", tags=["x"])
        assert await modern.call("get_task", task_id=task["id"]) == task
        assert await legacy.call("get_task", task_id=task["id"]) == task
        assert await legacy.call("list_tasks") == await modern.call("list_tasks")
        (old_text, old_error), (new_text, new_error) = [
            await client.fail("add_task", title="") for client in (legacy, modern)
        ]
        assert old_text == new_text
        assert old_error.pop("request_id") != new_error.pop("request_id")  # one per call
        assert old_error == new_error
        deleted = await legacy.mcp.call_tool("delete_task", {"task_id": task["id"]})
        assert (text_of(deleted), deleted.structured_content) == ("Deleted the task.", None)
