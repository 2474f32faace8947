"""The embedded default (SQLite) keeps every write it acknowledged: through a SIGKILL right
after the last response, and through a SIGTERM that lands while requests are in flight."""

import asyncio
import signal
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing
from pathlib import Path

import httpx

from api.main import create_app
from tests.conftest import test_settings
from tests.server_process import Acknowledged, ServerProcess, acknowledge, assert_readable
from tests.support import User, make_token

SEQUENTIAL = 60  # creates, then a patch of every other one
WORKERS, PER_WORKER = 8, 10  # concurrent creates, then a patch of every other one
IN_FLIGHT = 5


def as_user(client: httpx.AsyncClient, name: str) -> User:
    return User(client, name, make_token(name))


@asynccontextmanager
async def reopened(url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A fresh app on the file the dead server left, in this process (a subprocess start
    costs seconds and proves nothing more: what counts is what the file holds)."""
    app = create_app(test_settings(url))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://reopened") as client:
            yield client


async def write(user: User, acked: Acknowledged, count: int, gone: set[str]) -> int:
    """`count` creates and a patch of every other one, one request at a time; the last
    create is deleted again (a delete is a write too). Returns the writes acknowledged."""
    created: list[str] = []
    for n in range(count):
        body = {"title": f"{user.user_id} #{n}", "description": f"note {n}"}
        response = await user.request("POST", user.url(), json=body)
        acknowledge(acked, response)
        created.append(user.url(item_id=response.json()["id"]))
    for n, path in enumerate(created[::2]):
        patch = {"title": f"renamed {n}", "completed": n % 3 == 0, "description": None}
        acknowledge(acked, await user.request("PATCH", path, json=patch))
    response = await user.request("DELETE", created[-1])
    assert response.status_code == 204, response.text
    gone.add(created[-1])
    acked.pop(created[-1])
    return len(created) + len(created[::2]) + 1


async def test_sigkill_right_after_the_last_response_loses_nothing(tmp_path: Path) -> None:
    database = tmp_path / "todo.db"
    url = f"sqlite:///{database}"
    acked: Acknowledged = {}
    gone: set[str] = set()
    server = ServerProcess(url)
    with server:
        async with server.client() as http:
            writes = await write(as_user(http, "solo"), acked, SEQUENTIAL, gone)
            users = [as_user(http, f"worker{n}") for n in range(WORKERS)]
            jobs = (write(user, acked, PER_WORKER, gone) for user in users)
            writes += sum(await asyncio.gather(*jobs))
            assert server.kill() == -9  # no shutdown, no checkpoint, nothing flushed by Python
        wal_bytes = (tmp_path / "todo.db-wal").stat().st_size

    with closing(sqlite3.connect(database)) as db:  # recovers the WAL the kill left
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        stored = {uuid.UUID(str(row[0])) for row in db.execute("SELECT id FROM task")}
    assert stored == {uuid.UUID(path.rsplit("/", 1)[1]) for path in acked}

    async with reopened(url) as http:
        await assert_readable(http, acked)
        for path in gone:
            response = await as_user(http, path.split("/")[2]).request("GET", path)
            assert response.status_code == 404, response.text
    print(
        f"\n[sqlite SIGKILL] {writes} acknowledged writes, {len(acked)} items read back "
        f"identical, {len(gone)} deletes held; WAL at kill: {wal_bytes} bytes"
    )


async def test_sigterm_lets_requests_in_flight_finish(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'todo.db'}"
    headers_sent = [asyncio.Event() for _ in range(IN_FLIGHT)]
    release = asyncio.Event()

    async def slow_body(n: int) -> AsyncIterator[bytes]:
        # A client uploading slowly: the request is in the app, its body not yet complete.
        yield b'{"title": "in flight '
        headers_sent[n].set()
        await release.wait()
        yield f'{n}"}}'.encode()

    acked: Acknowledged = {}
    with ServerProcess(url) as server:
        async with server.client() as http:
            user = as_user(http, "alice")
            json_type = {"Content-Type": "application/json"}
            requests = [
                asyncio.create_task(
                    user.request("POST", user.url(), content=slow_body(n), headers=json_type)
                )
                for n in range(IN_FLIGHT)
            ]
            await asyncio.wait_for(asyncio.gather(*(e.wait() for e in headers_sent)), 5)
            await asyncio.sleep(0.3)  # uvicorn has read the heads of all of them
            server.terminate()
            signalled = time.monotonic()
            await asyncio.sleep(0.5)
            assert server.process.poll() is None, server.describe("exited with requests open")
            async with server.client() as late:
                try:
                    refused = await late.get("/api/alice/tasks")
                except httpx.ConnectError:
                    pass  # shutting down: no new connections
                else:
                    raise AssertionError(f"accepted after SIGTERM: {refused.status_code}")
            release.set()
            responses = await asyncio.wait_for(asyncio.gather(*requests), 10)
            finished = time.monotonic() - signalled
        for response in responses:
            assert response.status_code == 201, response.text
            acknowledge(acked, response)
        # uvicorn re-raises the signal it caught once it has shut down cleanly.
        assert server.wait(10) in (0, -signal.SIGTERM), server.describe("unclean exit")
        assert "Application shutdown complete" in server.log_tail(), server.describe("no shutdown")

    async with reopened(url) as http:
        await assert_readable(http, acked)
    print(
        f"\n[sqlite SIGTERM] {len(acked)} in-flight creates finished with 201 "
        f"{finished:.2f}s after the signal; all read back"
    )
