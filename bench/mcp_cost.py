"""CPU of an MCP tool call against the REST request it runs, in one uvicorn process.

    .venv/bin/python -m bench.mcp_cost [--calls 300] [--rounds 3] [--block 50]
                                       [--database-url URL] [--mode 2026-07-28|legacy]
                                       [--client sdk|raw] [--pace MS]

Each operation is sent `--calls` times per round (one at a time, after a warm-up) as a
REST request (httpx) and as the matching tool call (the SDK's streamable-HTTP client),
`--rounds` times. Within a round the two alternate in blocks of `--block` calls, so both
run under the same outside load (on a shared machine it moves within seconds). The
figure is the server process's CPU time per request (all its threads, from
/proc/<pid>/task/*/schedstat, in ns), median over the rounds, and the ratio tool call /
REST, the median of each round's ratio. SQLite in a scratch directory unless
`--database-url` names a migrated database. Not part of `make bench`.

`--pace MS` makes every call, REST or tool, take at least MS ms of the client's time
(busy): both then reach the server at the same cadence. Back to back (the default), the
REST client sends its next request at once while the SDK's client first spends several
ms of CPU on the answer (it validates the structured content against the output
schema), and a server left idle that long finds its caches cold: its CPU per request
depends on that gap (REST requests with 8 ms of client work between them cost
1.8-2.4x what back-to-back ones do).

`--client raw` sends each tool call as the HTTP request the SDK's client sends (same
headers, same message) with httpx instead, as light a client as the REST one.
"""

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import httpx2
import orjson
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp_types import (
    CLIENT_CAPABILITIES_META_KEY,
    CLIENT_INFO_META_KEY,
    PROTOCOL_VERSION_META_KEY,
)

from bench.servers import Server, clean_env
from tests.support import TEST_SECRET, make_token

USER = "bench-user"
Call = Callable[[int], Awaitable[None]]


def cpu_ns(pid: int) -> int:
    """Time on CPU of every thread of the process (aiosqlite runs one per connection)."""
    total = 0
    for stat in Path(f"/proc/{pid}/task").glob("*/schedstat"):
        try:
            total += int(stat.read_text().split()[0])
        except (OSError, IndexError, ValueError):
            continue  # a thread that ended meanwhile
    return total


async def per_call(
    pid: int, calls: int, block: int, pace: float, rest: Call, tool: Call
) -> tuple[float, float]:
    """Milliseconds of server CPU per REST request and per tool call, `calls` of each,
    alternating in blocks; each call takes at least `pace` seconds of the client's."""
    spent = [0, 0]
    for start in range(0, calls, block):
        for kind, call in enumerate((rest, tool)):
            before = cpu_ns(pid)
            for i in range(start, min(start + block, calls)):
                began = time.perf_counter()
                await call(i)
                while time.perf_counter() - began < pace:
                    pass  # busy, as a client that works between its calls
            spent[kind] += cpu_ns(pid) - before
    return spent[0] / calls / 1e6, spent[1] / calls / 1e6


def operations(
    rest: httpx.AsyncClient, mcp: Client, item: str, raw: bool
) -> list[tuple[str, Call, Call]]:
    base = f"/api/{USER}/tasks"
    meta = {
        PROTOCOL_VERSION_META_KEY: mcp.protocol_version,
        CLIENT_INFO_META_KEY: {"name": "mcp", "version": "0.1.0"},
        CLIENT_CAPABILITIES_META_KEY: {},
    }

    async def raw_call(i: int, name: str, arguments: dict[str, Any]) -> None:
        """The request the SDK's client sends at a per-request version, by hand."""
        params = {"name": name, "arguments": arguments, "_meta": meta}
        message = {"jsonrpc": "2.0", "id": i, "method": "tools/call", "params": params}
        headers = {
            "accept": "application/json, text/event-stream",
            "content-type": "application/json",
            "mcp-protocol-version": str(mcp.protocol_version),
            "mcp-method": "tools/call",
            "mcp-name": name,
        }
        response = await rest.post("/mcp", content=orjson.dumps(message), headers=headers)
        assert response.is_success, response.text
        assert not response.json()["result"].get("isError"), response.text

    def rest_call(method: str, url: str, body: Callable[[int], Any] | None = None) -> Call:
        async def call(i: int) -> None:
            response = await rest.request(method, url, json=body(i) if body else None)
            assert response.is_success, response.text

        return call

    def tool_call(name: str, arguments: Callable[[int], dict[str, Any]]) -> Call:
        async def call(i: int) -> None:
            if raw:
                await raw_call(i, name, arguments(i))
                return
            result = await mcp.call_tool(name, arguments(i))
            assert not result.is_error, result.content

        return call

    return [
        (
            "get",
            rest_call("GET", f"{base}/{item}"),
            tool_call("get_task", lambda i: {"task_id": item}),
        ),
        (
            "list (20 items)",
            rest_call("GET", f"{base}?limit=20"),
            tool_call("list_tasks", lambda i: {"limit": 20}),
        ),
        (
            "update (PATCH)",
            rest_call("PATCH", f"{base}/{item}", lambda i: {"title": f"rest {i}"}),
            tool_call("update_task", lambda i: {"task_id": item, "title": f"mcp {i}"}),
        ),
        (
            "add (POST)",
            rest_call("POST", base, lambda i: {"title": f"rest {i}"}),
            tool_call("add_task", lambda i: {"title": f"mcp {i}"}),
        ),
    ]


async def run(
    calls: int,
    rounds: int,
    block: int,
    database_url: str | None,
    mode: str,
    client: str,
    pace: float,
) -> None:
    if client == "raw" and mode == "legacy":
        raise SystemExit("--client raw speaks the per-request versions only")
    workdir = Path(tempfile.mkdtemp(prefix="mcp-cost-"))
    env = clean_env(
        DATABASE_URL=database_url or f"sqlite:///{workdir}/bench.db",
        JWT_SECRET=TEST_SECRET,
        RATE_LIMIT_PER_MINUTE="0",
        MAX_ITEMS_PER_USER="0",
        LOG_LEVEL="WARNING",  # no access log on either side
    )
    auth = {"Authorization": f"Bearer {make_token(USER, lifetime=3600)}"}
    with Server("api", "api.main:app", env, workdir, ready_path="/mcp") as server:
        async with (
            httpx.AsyncClient(base_url=server.url, headers=auth) as rest,
            httpx2.AsyncClient(headers=auth) as http,
            Client(streamable_http_client(f"{server.url}/mcp", http_client=http), mode=mode) as mcp,
        ):
            created = [
                await rest.post(f"/api/{USER}/tasks", json={"title": "seed"}) for _ in range(30)
            ]
            item = created[0].json()["id"]
            print(
                f"server CPU per request: {rounds} rounds of {calls} calls, "
                f"MCP protocol {mode}, {client} client, pace {pace * 1000:g} ms"
            )
            print(f"{'operation':<18}{'REST ms':>9}{'tool ms':>9}{'ratio':>7}")
            for label, rest_call, tool_call in operations(rest, mcp, item, client == "raw"):
                for warm in range(30):  # caches, prepared statements, first-use imports
                    await rest_call(warm)
                    await tool_call(warm)
                rest_ms, tool_ms, ratios = [], [], []
                for _ in range(rounds):
                    r, t = await per_call(server.pid, calls, block, pace, rest_call, tool_call)
                    rest_ms.append(r)
                    tool_ms.append(t)
                    ratios.append(t / r)
                r, t = statistics.median(rest_ms), statistics.median(tool_ms)
                print(f"{label:<18}{r:>9.3f}{t:>9.3f}{statistics.median(ratios):>7.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description="CPU of a tool call against its REST request")
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--block", type=int, default=50, help="calls of one kind in a row")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--mode", default="2026-07-28", help="MCP protocol version, or legacy")
    parser.add_argument("--client", choices=("sdk", "raw"), default="sdk", help="tool calls by")
    parser.add_argument("--pace", type=float, default=0.0, help="ms of client time per call")
    args = parser.parse_args()
    options = (args.database_url, args.mode, args.client, args.pace / 1000)
    asyncio.run(run(args.calls, args.rounds, args.block, *options))


if __name__ == "__main__":
    main()
