"""`/mcp` over HTTP: behind the same bearer token as REST, says where to get one (RFC
9728), answers in the API's problem bodies, and its tool calls pass the REST limits and
write the REST request log."""

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp.shared.inbound import ERROR_CODE_HTTP_STATUS
from mcp.types import CallToolResult
from mcp_types import (
    CLIENT_CAPABILITIES_META_KEY,
    CLIENT_INFO_META_KEY,
    HEADER_MISMATCH,
    INVALID_PARAMS,
    INVALID_REQUEST,
    PARSE_ERROR,
    PROTOCOL_VERSION_META_KEY,
    SERVER_INFO_META_KEY,
)

from api.resources import RESOURCES
from tests.mcp_support import MODERN, assistant, new_user, required_body, tool_names
from tests.server_process import ServerProcess
from tests.support import make_token

METADATA = "/.well-known/oauth-protected-resource"


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    # These concern HTTP and tokens, not storage: SQLite is enough.
    path = tmp_path / "todo.db"
    path.write_bytes(sqlite_template.read_bytes())
    return f"sqlite:///{path}"


@pytest.fixture
def server(sqlite_url: str) -> Iterator[ServerProcess]:
    with ServerProcess(sqlite_url) as process:
        yield process


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "AUTH_MISSING"),
        ({"Authorization": "Bearer not-a-token"}, "AUTH_INVALID"),
        ({"Authorization": f"Bearer {make_token('alice', lifetime=-120)}"}, "AUTH_INVALID"),
        ({"Authorization": f"Bearer {make_token('alice', secret='x' * 40)}"}, "AUTH_INVALID"),
    ],
    ids=["no-token", "malformed", "expired", "foreign-signature"],
)
async def test_without_a_valid_token_mcp_is_401_naming_the_resource_metadata(
    server: ServerProcess, headers: dict[str, str], code: str
) -> None:
    async with server.client() as client:
        r = await client.post(
            "/mcp", headers=headers, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
        )
    assert r.status_code == 401, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == code
    challenge = r.headers["www-authenticate"]
    assert challenge.startswith("Bearer "), challenge
    assert f'resource_metadata="{server.base_url}{METADATA}"' in challenge
    assert "not-a-token" not in r.text


async def test_only_post_is_served_and_bodies_are_limited_as_for_rest(
    server: ServerProcess,
) -> None:
    headers = {"Authorization": f"Bearer {make_token('alice')}"}
    async with server.client() as client:
        for method in ("GET", "DELETE", "PUT"):
            r = await client.request(method, "/mcp", headers=headers)
            assert r.status_code == 405, r.text
            assert r.headers["allow"] == "POST"
            assert r.json()["code"] == "METHOD_NOT_ALLOWED"
        huge = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"x": "a" * 70_000}}
        r = await client.post("/mcp", headers=headers, json=huge)
    assert r.status_code == 413, r.text
    assert r.json()["code"] == "PAYLOAD_TOO_LARGE"


async def test_the_metadata_names_the_resource(server: ServerProcess) -> None:
    async with server.client() as client:
        for path in (METADATA, f"{METADATA}/mcp"):
            r = await client.get(path)
            assert r.status_code == 200, r.text
            document = r.json()
            assert document["resource"] == f"{server.base_url}/mcp"
            assert document["bearer_methods_supported"] == ["header"]
            assert "authorization_servers" not in document  # none configured
        contract = (await client.get("/openapi.json")).json()
    assert not [path for path in contract["paths"] if "mcp" in path or "well-known" in path]


async def test_with_better_auth_the_metadata_names_it(sqlite_url: str) -> None:
    better_auth = "https://app.example.com"
    with ServerProcess(sqlite_url, {"BETTER_AUTH_URL": f"{better_auth}/"}) as server:
        async with server.client() as client:
            r = await client.get(METADATA)
    assert r.status_code == 200, r.text
    assert r.json()["authorization_servers"] == [better_auth]


def _call(tool: str, arguments: Any, request_id: Any = 1) -> dict[str, Any]:
    """A tools/call message at the per-request protocol version, as the SDK sends it."""
    meta = {
        PROTOCOL_VERSION_META_KEY: MODERN,
        CLIENT_INFO_META_KEY: {"name": "raw", "version": "1"},
        CLIENT_CAPABILITIES_META_KEY: {},
    }
    params = {"name": tool, "arguments": arguments, "_meta": meta}
    return {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params}


def _call_headers(token: str, tool: str) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {token}",
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": MODERN,
        "Mcp-Method": "tools/call",
        "Mcp-Name": tool,
    }


async def test_a_tool_call_is_answered_as_the_sdk_answers_it(server: ServerProcess) -> None:
    resource = RESOURCES[0]
    add = tool_names(resource)[f"create_{resource.name}"]
    headers = _call_headers(make_token(new_user()), add)
    arguments = required_body(resource.create)
    text_field = next(name for name, value in arguments.items() if isinstance(value, str))
    arguments[text_field] = 'Café ✓ "quoted"'
    async with server.client() as client:
        r = await client.post("/mcp", headers=headers, json=_call(add, arguments, "call-1"))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    message = r.json()
    assert message["jsonrpc"] == "2.0"
    assert message["id"] == "call-1"
    result = CallToolResult.model_validate(message["result"])  # the SDK's own model
    assert result.structured_content is not None
    assert result.structured_content[text_field] == 'Café ✓ "quoted"'
    assert [block.type for block in result.content] == ["text"]
    assert json.loads(result.content[0].text) == result.structured_content  # type: ignore[union-attr]
    assert message["result"]["resultType"] == "complete"
    assert message["result"]["_meta"][SERVER_INFO_META_KEY]["name"] == "todo-api"


def _unknown_tool(headers: dict[str, str], message: dict[str, Any]) -> None:
    headers["Mcp-Name"] = message["params"]["name"] = "drop_tasks"


REFUSALS: dict[
    str, tuple[Callable[[dict[str, str], dict[str, Any]], object] | None, int, int | None]
] = {
    "name-header-mismatch": (
        lambda h, m: h.update({"Mcp-Name": "list_tasks"}),
        400,
        HEADER_MISMATCH,
    ),
    "no-envelope": (lambda h, m: m["params"].pop("_meta"), 400, INVALID_PARAMS),
    "arguments-not-an-object": (
        lambda h, m: m["params"].update(arguments=["a"]),
        400,
        INVALID_PARAMS,
    ),
    "boolean-id": (lambda h, m: m.update(id=True), 400, INVALID_REQUEST),
    "unknown-tool": (_unknown_tool, 400, INVALID_PARAMS),
    "no-json-accepted": (lambda h, m: h.update({"Accept": "text/plain"}), 406, None),
    "not-json-content": (lambda h, m: h.update({"Content-Type": "text/plain"}), 400, None),
    "empty-object": (lambda h, m: m.clear(), 400, INVALID_REQUEST),  # not a notification either
    "not-json": (None, 400, PARSE_ERROR),
}


@pytest.mark.parametrize(("change", "status", "code"), REFUSALS.values(), ids=REFUSALS.keys())
async def test_a_call_the_sdk_would_refuse_gets_its_refusal(
    server: ServerProcess,
    change: Callable[[dict[str, str], dict[str, Any]], object] | None,
    status: int,
    code: int | None,
) -> None:
    """Each goes on to the SDK (with the body it was sent), which answers it."""
    headers = _call_headers(make_token(new_user()), "add_task")
    message = _call("add_task", {"title": "x"})
    content: bytes = b'{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {'
    if change is not None:
        change(headers, message)
        content = json.dumps(message).encode()
    headers.setdefault("Content-Type", "application/json")
    async with server.client() as client:
        r = await client.post("/mcp", headers=headers, content=content)
    assert r.status_code == status, r.text
    if code is not None:
        assert r.json()["error"]["code"] == code, r.text
        assert ERROR_CODE_HTTP_STATUS[code] == status


async def test_tool_calls_count_against_the_rate_limit_and_are_logged(sqlite_url: str) -> None:
    resource = RESOURCES[0]
    add = tool_names(resource)[f"create_{resource.name}"]
    env = {"RATE_LIMIT_PER_MINUTE": "2", "LOG_LEVEL": "INFO"}
    with ServerProcess(sqlite_url, env) as server:
        user = new_user()
        mark = server.log_mark()
        async with assistant(server.base_url, user) as me:
            for _ in range(2):
                await me.call(add, **required_body(resource.create))
            text, details = await me.fail(add, **required_body(resource.create))
            rest = await me.rest.request("GET", me.rest.url(resource.plural))
        assert details["code"] == "RATE_LIMITED", details
        assert details["retry_after"] > 0, details
        assert text.startswith("More than 2 requests"), text
        assert rest.status_code == 429, rest.text  # one budget for REST and tools
        route = f"/api/{{user_id}}/{resource.plural}"
        # A line is written once its response is sent: wait for the last one.
        output = await _log_with(server, mark, lambda lines: _count(lines, route, user) >= 4)
    lines = _access_log(output)
    # This user's lines: the server's readiness probe (a 401 on the same route, logged
    # once its response is sent) may land after the mark.
    created = [line for line in lines if line["route"] == route and line["user_id"] == user]
    assert [(line["method"], line["status"]) for line in created] == [
        ("POST", 201),
        ("POST", 201),
        ("POST", 429),
        ("GET", 429),
    ]
    calls = {line["request_id"] for line in lines if line["route"] == "/mcp"}
    assert {line["request_id"] for line in created[:3]} <= calls  # one id per tool call
    assert "Bearer" not in output


async def _log_with(
    server: ServerProcess, mark: int, ready: Callable[[list[dict[str, Any]]], bool]
) -> str:
    deadline = time.monotonic() + 10
    while not ready(_access_log(output := server.log_since(mark))):
        assert time.monotonic() < deadline, output
        await asyncio.sleep(0.05)
    return output


def _count(lines: list[dict[str, Any]], route: str, user: str) -> int:
    return sum(1 for line in lines if line["route"] == route and line["user_id"] == user)


def _access_log(output: str) -> list[dict[str, Any]]:
    lines = []
    for line in output.splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            if record.get("logger") == "todo_api.access":
                lines.append(record)
    return lines
