"""MCP tools against a real server, through the SDK's own streamable-HTTP client: the
tools are the REST contract, and every call keeps the REST guarantees (one user's items,
validation, idempotency). Loops over RESOURCES, so a new resource is covered as it is."""

import asyncio
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from mcp.shared.exceptions import MCPError

from api.crud.declaration import CrudResource
from api.resources import RESOURCES
from tests.conftest import ENGINES, _truncate
from tests.mcp_support import (
    LEGACY,
    Assistant,
    assistant,
    deref,
    new_user,
    required_body,
    text_of,
    tool_names,
)
from tests.server_process import ServerProcess

BY_PLURAL = pytest.mark.parametrize("resource", RESOURCES, ids=lambda r: r.plural)


@pytest.fixture(scope="module", params=ENGINES)
def server(request: pytest.FixtureRequest) -> Iterator[ServerProcess]:
    """One server per engine for the module; each test acts as users of its own."""
    if request.param == "sqlite":
        factory: pytest.TempPathFactory = request.getfixturevalue("tmp_path_factory")
        path = factory.mktemp("mcp") / "todo.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("pg_template")
    with ServerProcess(url) as process:
        yield process
    if request.param == "postgresql":
        _truncate(url)


def _text_field(resource: CrudResource) -> str:
    """A text field that tells items apart: one the list searches, else the first
    required string of the create schema."""
    if resource.search:
        return resource.search[0]
    properties = resource.create.model_json_schema()["properties"]
    strings: list[str] = [n for n, p in properties.items() if p.get("type") == "string"]
    required = resource.create.model_json_schema().get("required", [])
    found = [name for name in strings if name in required] or strings
    assert found, f"{resource.plural}: the test needs a text field to tell items apart"
    return found[0]


def _new(resource: CrudResource, text: str) -> dict[str, Any]:
    return {**required_body(resource.create), _text_field(resource): text}


def _optional(schema: dict[str, Any]) -> dict[str, Any]:
    """An optional body's object schema (`X | null` is X: the tool sends none without
    arguments for it)."""
    variants = [v for v in schema.get("anyOf", []) if v.get("type") != "null"]
    return dict(variants[0]) if len(variants) == 1 else schema


def _essence(schema: dict[str, Any]) -> dict[str, Any]:
    """A property's schema without its labels (a parameter's title names the parameter)."""
    return {k: v for k, v in schema.items() if k not in ("title", "description")}


async def _tools(me: Assistant) -> dict[str, Any]:
    return {tool.name: tool for tool in (await me.mcp.list_tools()).tools}


async def test_tools_are_the_rest_contract(server: ServerProcess) -> None:
    async with assistant(server.base_url, new_user()) as me:
        tools = await _tools(me)
        contract = (await me.rest.client.get("/openapi.json")).json()
    components = contract["components"]["schemas"]
    operations = {
        op["operationId"]: op for item in contract["paths"].values() for op in item.values()
    }
    expected = {
        tool: operation
        for resource in RESOURCES
        for operation, tool in tool_names(resource).items()
        if operation in operations  # e.g. complete_task once the action is declared
    }
    assert set(tools) == set(expected)
    for name, operation_id in expected.items():
        operation, tool = operations[operation_id], tools[name]
        inputs = deref(tool.input_schema, tool.input_schema.get("$defs", {}))
        wanted: dict[str, Any] = {}
        for parameter in operation.get("parameters", []):
            if parameter["name"] == "user_id" or parameter["name"].lower().startswith("if-"):
                continue  # the owner comes from the token; tools are unconditional
            wanted[parameter["name"].lower().replace("-", "_")] = parameter["schema"]
        body = operation.get("requestBody", {}).get("content", {}).get("application/json")
        body_schema = _optional(deref(body["schema"], components)) if body else {"properties": {}}
        wanted.update(
            (field, schema)
            for field, schema in body_schema["properties"].items()
            if not schema.get("deprecated")
        )
        assert set(inputs["properties"]) == set(wanted), name
        for argument, schema in wanted.items():
            published = _essence(inputs["properties"][argument])
            assert published == _essence(deref(schema, components)), f"{name}.{argument}"
        assert "user_id" not in inputs["properties"], name
        required = {p["name"] for p in operation.get("parameters", []) if p.get("required")}
        required -= {"user_id"}
        assert set(inputs["required"]) == required | set(body_schema.get("required", [])), name
        success = next(r for s, r in sorted(operation["responses"].items()) if s[0] == "2")
        content = success.get("content", {}).get("application/json")
        if content is None:
            assert tool.output_schema is None, name
        else:
            output = deref(tool.output_schema, tool.output_schema.get("$defs", {}))
            assert output == deref(content["schema"], components), name


@BY_PLURAL
async def test_a_user_manages_items_through_tools(
    server: ServerProcess, resource: CrudResource
) -> None:
    names, item_id = tool_names(resource), resource.item_id
    add, get, update, delete = (
        names[f"{verb}_{resource.name}"] for verb in ("create", "get", "update", "delete")
    )
    listing, plural = names[f"list_{resource.plural}"], resource.plural
    async with assistant(server.base_url, new_user()) as me:
        first = await me.call(add, **_new(resource, "alpha needle"))
        second = await me.call(add, **_new(resource, "beta"))
        seen = await me.rest.request("GET", me.rest.url(plural, first["id"]))
        assert seen.json() == first  # the tool's result is the REST body

        if resource.search:
            found = await me.call(listing, search="needle")
            assert [item["id"] for item in found[plural]] == [first["id"]], found
            assert found["count"] == 1

        page = await me.call(listing, limit=1)
        assert page["count"] == 2, page
        assert page["next_cursor"], page
        rest = await me.call(listing, limit=1, cursor=page["next_cursor"])
        assert rest["next_cursor"] is None, rest
        ids = {item["id"] for item in page[plural] + rest[plural]}
        assert ids == {first["id"], second["id"]}

        text = _text_field(resource)
        changed = await me.call(update, **{item_id: first["id"], text: "renamed"})
        assert changed[text] == "renamed"
        assert changed["version"] == first["version"] + 1
        assert await me.call(get, **{item_id: first["id"]}) == changed
        assert (await me.rest.request("GET", me.rest.url(plural, first["id"]))).json() == changed

        deleted = await me.mcp.call_tool(delete, {item_id: first["id"]})
        assert not deleted.is_error, text_of(deleted)
        assert text_of(deleted) == f"Deleted the {resource.name}."
        gone = await me.rest.request("GET", me.rest.url(plural, first["id"]))
        assert gone.status_code == 404, gone.text
        _, details = await me.fail(get, **{item_id: first["id"]})
        assert details["code"] == "NOT_FOUND"


@BY_PLURAL
async def test_another_user_neither_sees_nor_changes_them(
    server: ServerProcess, resource: CrudResource
) -> None:
    names, item_id, plural = tool_names(resource), resource.item_id, resource.plural
    async with (
        assistant(server.base_url, new_user()) as alice,
        assistant(server.base_url, new_user()) as bob,
    ):
        item = await alice.call(names[f"create_{resource.name}"], **_new(resource, "secret"))
        attempts = [
            (names[f"get_{resource.name}"], {item_id: item["id"]}),
            (names[f"update_{resource.name}"], {item_id: item["id"], _text_field(resource): "x"}),
            (names[f"delete_{resource.name}"], {item_id: item["id"]}),
        ]
        for tool, arguments in attempts:
            text, details = await bob.fail(tool, **arguments)
            assert details["code"] == "NOT_FOUND", (tool, details)
            assert text == f"No such {resource.name}.", tool  # as for a missing one
        page = await bob.call(names[f"list_{plural}"])
        assert page["count"] == 0, page
        # Naming the owner is no way in: the token alone says who the caller is.
        smuggled = await bob.mcp.call_tool(names[f"list_{plural}"], {"user_id": alice.rest.user_id})
        assert smuggled.is_error or smuggled.structured_content["count"] == 0, smuggled
        _, details = await bob.fail(
            names[f"create_{resource.name}"], **_new(resource, "x"), user_id=alice.rest.user_id
        )
        assert details["code"] == "VALIDATION_ERROR", details
        assert await alice.call(names[f"get_{resource.name}"], **{item_id: item["id"]}) == item


@BY_PLURAL
async def test_invalid_arguments_are_tool_errors_with_the_rest_problem(
    server: ServerProcess, resource: CrudResource
) -> None:
    names = tool_names(resource)
    add = names[f"create_{resource.name}"]
    body = {**_new(resource, "x"), "no_such_field": 1}
    async with assistant(server.base_url, new_user()) as me:
        text, details = await me.fail(add, **body)
        problem = (await me.rest.request("POST", me.rest.url(resource.plural), json=body)).json()
        assert details["code"] == problem["code"] == "VALIDATION_ERROR"
        assert text.splitlines()[0] == problem["detail"]
        assert ["no_such_field"] in [error["loc"] for error in details["errors"]], details
        assert "no_such_field" in text  # the field errors reach clients that show only text

        _, details = await me.fail(names[f"list_{resource.plural}"], limit=0)
        assert details["code"] == "VALIDATION_ERROR"
        assert [error["loc"] for error in details["errors"]] == [["limit"]]

        _, details = await me.fail(names[f"get_{resource.name}"], **{resource.item_id: "a/b"})
        assert details["code"] == "VALIDATION_ERROR"

        with pytest.raises(MCPError, match="Unknown tool"):
            await me.mcp.call_tool(f"drop_all_{resource.plural}", {})


@BY_PLURAL
async def test_add_with_an_idempotency_key_replays_the_first_item(
    server: ServerProcess, resource: CrudResource
) -> None:
    names = tool_names(resource)
    add, listing = names[f"create_{resource.name}"], names[f"list_{resource.plural}"]
    body = _new(resource, "once")
    async with assistant(server.base_url, new_user()) as me:
        first = await me.call(add, **body, idempotency_key="retry-1")
        again = await me.call(add, **body, idempotency_key="retry-1")
        assert again == first
        assert (await me.call(listing))["count"] == 1
        _, details = await me.fail(add, **_new(resource, "other"), idempotency_key="retry-1")
        assert details["code"] == "VALIDATION_ERROR", details
        _, details = await me.fail(add, **body, idempotency_key="no spaces allowed")
        assert details["errors"][0]["loc"] == ["idempotency_key"], details


async def test_a_handshake_era_client_uses_the_same_tools(server: ServerProcess) -> None:
    resource = RESOURCES[0]
    names = tool_names(resource)
    async with assistant(server.base_url, new_user(), mode=LEGACY) as me:
        assert me.mcp.protocol_version != "2026-07-28"
        assert names[f"create_{resource.name}"] in await _tools(me)
        item = await me.call(names[f"create_{resource.name}"], **_new(resource, "old client"))
        assert (
            await me.call(names[f"get_{resource.name}"], **{resource.item_id: item["id"]}) == item
        )


async def test_concurrent_complete_calls_leave_a_consistent_item(server: ServerProcess) -> None:
    async with assistant(server.base_url, new_user()) as me:
        tools = await _tools(me)
    completable = [r for r in RESOURCES if f"complete_{r.name}" in tools]
    if not completable:
        pytest.skip("no resource declares a complete action yet")
    async with assistant(server.base_url, new_user()) as me:
        for resource in completable:
            names = tool_names(resource)
            item = await me.call(names[f"create_{resource.name}"], **_new(resource, "race"))
            complete, target = names[f"complete_{resource.name}"], {resource.item_id: item["id"]}
            toggled = await asyncio.gather(*(me.call(complete, **target) for _ in range(2)))
            final = (await me.rest.request("GET", me.rest.url(resource.plural, item["id"]))).json()
            assert final["version"] == item["version"] + 2  # both applied, neither lost
            for stamp, flag in resource.stamps.items():
                assert sorted(t[flag] for t in toggled) == [False, True], toggled
                assert final[flag] == item[flag]  # toggled twice
                assert (final[stamp] is not None) == final[flag], final
                both = await asyncio.gather(
                    *(me.call(complete, **target, **{flag: True}) for _ in range(2))
                )
                assert all(t[flag] and t[stamp] is not None for t in both), both
                assert both[0][stamp] == both[1][stamp], both  # set once, then kept
