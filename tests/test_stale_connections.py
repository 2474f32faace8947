"""Connections the server closed while idle (Neon suspending its compute, a restart) cost
no request: a real server process on PostgreSQL, its every backend terminated."""

import asyncio
import time
import uuid
from collections.abc import Iterator

import httpx
import psycopg
import pytest

from tests.server_process import ServerProcess
from tests.support import User, make_token

POOL_SIZE = 8
TERMINATE_ALL = """
    SELECT pid, pg_terminate_backend(pid, 5000) FROM pg_stat_activity
    WHERE datname = current_database() AND pid <> pg_backend_pid()
"""
PASSWORD = "a long enough passphrase"


@pytest.fixture(scope="module")
def server(pg_template: str) -> Iterator[ServerProcess]:
    env = {"DB_POOL_SIZE": str(POOL_SIZE), "DB_STATEMENT_TIMEOUT_MS": "0"}
    with ServerProcess(pg_template, env) as process:
        yield process


def terminate_every_backend(dsn: str) -> int:
    """What Neon does on suspend: the server ends every session (waiting until each
    backend has exited, so its socket is closed as it would be minutes later)."""
    with psycopg.connect(dsn, autocommit=True) as admin:
        ended = admin.execute(TERMINATE_ALL).fetchall()
    assert all(done for _, done in ended), f"backends that did not exit: {ended}"
    return len(ended)


OTHER_BACKENDS = """
    SELECT count(*) FROM pg_stat_activity
    WHERE datname = current_database() AND pid <> pg_backend_pid()
"""


async def warm(user: User, dsn: str) -> None:
    """Bursts of concurrent reads until the pool holds several connections: a server that
    answers each read before the next one arrives needs only one."""
    for _ in range(20):
        burst = (user.request("GET", user.url()) for _ in range(2 * POOL_SIZE))
        pages = await asyncio.gather(*burst)
        assert {r.status_code for r in pages} == {200}, [r.text for r in pages]
        with psycopg.connect(dsn, autocommit=True) as admin:
            (connected,) = admin.execute(OTHER_BACKENDS).fetchone() or (0,)
        if connected >= 2:
            return
    raise AssertionError(f"the pool holds {connected} connection(s) after 20 bursts")


async def create(user: User, n: int, *, idempotent: bool = False) -> httpx.Response:
    headers = {"Idempotency-Key": uuid.uuid4().hex} if idempotent else {}
    return await user.request("POST", user.url(), json={"title": f"task {n}"}, headers=headers)


async def test_writes_after_every_backend_was_terminated_all_succeed(
    server: ServerProcess, pg_template: str
) -> None:
    async with server.client() as http:
        name = f"u{uuid.uuid4().hex[:12]}"
        user = User(http, name, make_token(name))

        await warm(user, pg_template)
        ended = terminate_every_backend(pg_template)
        assert ended >= 2, f"only {ended} pooled connections to sever"
        sequential = [await create(user, n) for n in range(10)]
        assert [r.status_code for r in sequential] == [201] * 10, server.describe(
            str([r.text for r in sequential if r.status_code != 201])
        )

        await warm(user, pg_template)
        ended = terminate_every_backend(pg_template)
        assert ended >= 2, f"only {ended} pooled connections to sever"
        concurrent = await asyncio.gather(
            *(create(user, 10 + n, idempotent=n % 2 == 1) for n in range(16))
        )
        assert [r.status_code for r in concurrent] == [201] * 16, server.describe(
            str([r.text for r in concurrent if r.status_code != 201])
        )

        page = await user.request("GET", user.url(), params={"limit": 100})
        assert page.status_code == 200, page.text
        assert page.json()["count"] == 26, page.text
        assert len({t["id"] for t in page.json()["tasks"]}) == 26


async def test_account_routes_after_every_backend_was_terminated(
    server: ServerProcess, pg_template: str
) -> None:
    async with server.client() as http:
        email = f"ada-{uuid.uuid4().hex[:8]}@example.com"
        login = {"username": email, "password": PASSWORD}
        r = await http.post("/auth/register", json={"email": email, "password": PASSWORD})
        assert r.status_code == 201, r.text
        tokens = await asyncio.gather(*(http.post("/auth/jwt/login", data=login) for _ in range(4)))
        assert {t.status_code for t in tokens} == {200}, [t.text for t in tokens]

        terminate_every_backend(pg_template)
        for _ in range(3):
            r = await http.post("/auth/jwt/login", data=login)
            assert r.status_code == 200, server.describe(r.text)
            me = await http.get(
                "/users/me", headers={"Authorization": f"Bearer {r.json()['access_token']}"}
            )
            assert me.status_code == 200, server.describe(me.text)
            assert me.json()["email"] == email


async def test_a_write_whose_connection_dies_after_sending_is_not_sent_again(
    server: ServerProcess, pg_template: str
) -> None:
    """The statement reached the server (it waits on a lock there) when its session is
    ended: it may have run, so the API answers 503 rather than sending it again."""
    async with server.client() as http:
        name = f"u{uuid.uuid4().hex[:12]}"
        user = User(http, name, make_token(name))
        with (
            psycopg.connect(pg_template, autocommit=True) as locker,
            psycopg.connect(pg_template, autocommit=True) as admin,
            locker.transaction(),
        ):
            locker.execute("LOCK TABLE task IN ACCESS EXCLUSIVE MODE")
            pending = asyncio.create_task(create(user, 0))
            waiter = await _lock_waiter(admin)
            admin.execute("SELECT pg_terminate_backend(%s, 5000)", (waiter,))
            response = await asyncio.wait_for(pending, 5)
        assert response.status_code == 503, server.describe(response.text)
        assert response.json()["code"] == "SERVICE_UNAVAILABLE"
        assert int(response.headers["retry-after"]) > 0
        page = await user.request("GET", user.url())
        assert page.status_code == 200, page.text
        assert page.json()["count"] == 0, "the terminated statement was run again"


async def _lock_waiter(conn: psycopg.Connection[tuple[object, ...]]) -> int:
    """The pid of the API's session waiting for the lock (`conn` in autocommit: a
    transaction would see one snapshot of the statistics)."""
    deadline = time.monotonic() + 5
    query = """
        SELECT pid FROM pg_stat_activity WHERE datname = current_database()
        AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()
    """
    while not (rows := conn.execute(query).fetchall()):
        assert time.monotonic() < deadline, "the API's statement never waited on the lock"
        await asyncio.sleep(0.02)
    assert len(rows) == 1, rows
    pid = rows[0][0]
    assert isinstance(pid, int)
    return pid
