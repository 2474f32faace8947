"""CPU of an MCP tool call against the REST request it runs, in one uvicorn process.

    .venv/bin/python -m bench.mcp_cost [--calls 300] [--rounds 3] [--database-url URL]
                                       [--mode 2026-07-28|legacy]

Each operation is sent `--calls` times in a row (one at a time, after a warm-up) as a
REST request (httpx) and as the matching tool call (the SDK's streamable-HTTP client),
alternating, `--rounds` times. The figure is the server process's CPU time per request
(all its threads, from /proc/<pid>/task/*/schedstat, in ns) and the ratio tool call /
REST, median over the rounds. SQLite in a scratch directory unless `--database-url`
names a migrated database. Not part of `make bench`.
"""

import argparse
import asyncio
import statistics
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

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


async def per_call(pid: int, calls: int, call: Call) -> float:
    """Milliseconds of server CPU per call."""
    before = cpu_ns(pid)
    for i in range(calls):
        await call(i)
    return (cpu_ns(pid) - before) / calls / 1e6


def operations(rest: httpx.AsyncClient, mcp: Client, item: str) -> list[tuple[str, Call, Call]]:
    base = f"/api/{USER}/tasks"

    def rest_call(method: str, url: str, body: Callable[[int], Any] | None = None) -> Call:
        async def call(i: int) -> None:
            response = await rest.request(method, url, json=body(i) if body else None)
            assert response.is_success, response.text

        return call

    def tool_call(name: str, arguments: Callable[[int], dict[str, Any]]) -> Call:
        async def call(i: int) -> None:
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


async def run(calls: int, rounds: int, database_url: str | None, mode: str) -> None:
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
            print(f"server CPU per request: {rounds} rounds of {calls} calls, MCP protocol {mode}")
            print(f"{'operation':<18}{'REST ms':>9}{'tool ms':>9}{'ratio':>7}")
            for label, rest_call, tool_call in operations(rest, mcp, item):
                for warm in range(30):  # caches, prepared statements, first-use imports
                    await rest_call(warm)
                    await tool_call(warm)
                rest_ms, tool_ms = [], []
                for _ in range(rounds):
                    rest_ms.append(await per_call(server.pid, calls, rest_call))
                    tool_ms.append(await per_call(server.pid, calls, tool_call))
                r, t = statistics.median(rest_ms), statistics.median(tool_ms)
                print(f"{label:<18}{r:>9.3f}{t:>9.3f}{t / r:>7.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description="CPU of a tool call against its REST request")
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--mode", default="2026-07-28", help="MCP protocol version, or legacy")
    args = parser.parse_args()
    asyncio.run(run(args.calls, args.rounds, args.database_url, args.mode))


if __name__ == "__main__":
    main()
