"""Helpers for the MCP tests: the SDK's own streamable-HTTP client acting as one user of
a real server, and the tool names the declarations promise."""

import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult, TextContent
from pydantic import BaseModel

from api.crud.declaration import CrudResource
from tests.support import User, example_body, make_token

MODERN = "2026-07-28"  # one request per call, no session
LEGACY = "legacy"  # the initialize handshake, as most desktop assistants speak today


def tool_names(resource: CrudResource) -> dict[str, str]:
    """Each verb's tool for `resource`, by the REST operation it runs."""
    name, plural = resource.name, resource.plural
    return {
        f"list_{plural}": f"list_{plural}",
        f"get_{name}": f"get_{name}",
        f"create_{name}": f"add_{name}",
        f"update_{name}": f"update_{name}",
        f"complete_{name}": f"complete_{name}",
        f"delete_{name}": f"delete_{name}",
    }


@dataclass(frozen=True)
class Assistant:
    """An MCP session of one user, with a REST client of the same user to check what the
    tools did against what the API itself says."""

    mcp: Client
    rest: User

    async def call(self, tool: str, **arguments: Any) -> dict[str, Any]:
        """A successful call's structured content (the REST body)."""
        result = await self.mcp.call_tool(tool, arguments)
        assert not result.is_error, f"{tool}: {text_of(result)}"
        assert isinstance(result.structured_content, dict), result
        return result.structured_content

    async def fail(self, tool: str, **arguments: Any) -> tuple[str, dict[str, Any]]:
        """A failed call's text and structured content (`code`, `errors`...)."""
        result = await self.mcp.call_tool(tool, arguments)
        assert result.is_error, f"{tool} succeeded: {result.structured_content}"
        assert isinstance(result.structured_content, dict), result
        return text_of(result), result.structured_content


def required_body(schema: type[BaseModel]) -> dict[str, Any]:
    """The smallest valid body: the required fields, from the examples the schema publishes."""
    body = example_body(schema)
    return {name: body[name] for name in schema.model_json_schema().get("required", ())}


def text_of(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


def new_user() -> str:
    return f"user-{uuid.uuid4().hex[:12]}"


@asynccontextmanager
async def assistant(
    base_url: str, user_id: str, *, mode: str = MODERN, token: str | None = None
) -> AsyncIterator[Assistant]:
    token = token or make_token(user_id)
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=30.0) as http,
        Client(streamable_http_client(f"{base_url}/mcp", http_client=http), mode=mode) as mcp,
        httpx.AsyncClient(base_url=base_url, timeout=30.0) as rest,
    ):
        yield Assistant(mcp, User(rest, user_id, token))


def deref(schema: Any, definitions: Mapping[str, Any], depth: int = 0) -> Any:
    """`schema` with every local reference (`#/components/schemas/X`, `#/$defs/X`)
    replaced by what it names: two documents compare by content, not by layout."""
    assert depth < 50, "a recursive schema: compare these by hand"
    if isinstance(schema, list):
        return [deref(item, definitions, depth + 1) for item in schema]
    if not isinstance(schema, dict):
        return schema
    ref = schema.get("$ref")
    if isinstance(ref, str):
        name = ref.rsplit("/", 1)[-1]
        rest = {k: v for k, v in schema.items() if k != "$ref"}
        return deref({**definitions[name], **rest}, definitions, depth + 1)
    return {k: deref(v, definitions, depth + 1) for k, v in schema.items() if k != "$defs"}
