"""The built-in account routes map database faults as the task routes do: 503 with
Retry-After in an outage, 500 DATABASE_ERROR otherwise, one JSON log line carrying the
request id, never a raw traceback (a real server process on a throwaway cluster)."""

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from tests.pg_cluster import PgCluster, migrated_cluster
from tests.server_process import ServerProcess
from tests.support import make_token

PASSWORD = "a long enough passphrase"


@pytest.fixture(scope="module")
def cluster() -> Iterator[PgCluster]:
    yield from migrated_cluster()


@pytest.fixture(scope="module")
def server(cluster: PgCluster) -> Iterator[ServerProcess]:
    env = {"DB_CONNECT_TIMEOUT_SECONDS": "2", "DB_POOL_TIMEOUT_SECONDS": "2"}
    with ServerProcess(cluster.url, env) as process:
        yield process


@pytest.fixture
def pg(cluster: PgCluster) -> Iterator[PgCluster]:
    """The cluster, up before and after the test."""
    if not cluster.running:
        cluster.start()
    yield cluster
    if not cluster.running:
        cluster.start()


async def _account(http: httpx.AsyncClient) -> tuple[dict[str, str], str]:
    """A registered account's login form and a fresh access token."""
    email = f"ada-{uuid.uuid4().hex[:8]}@example.com"
    r = await http.post("/auth/register", json={"email": email, "password": PASSWORD})
    assert r.status_code == 201, r.text
    form = {"username": email, "password": PASSWORD}
    r = await http.post("/auth/jwt/login", data=form)
    assert r.status_code == 200, r.text
    return form, str(r.json()["access_token"])


def _requests(form: dict[str, str], token: str) -> list[tuple[str, str, dict[str, Any]]]:
    """Every account route that reads or writes the database, and a generated one."""
    fresh = {"email": f"bo-{uuid.uuid4().hex[:8]}@example.com", "password": PASSWORD}
    bearer = {"Authorization": f"Bearer {token}"}
    task_owner = "carol"
    task_token = {"Authorization": f"Bearer {make_token(task_owner)}"}
    return [
        ("POST", "/auth/register", {"json": fresh}),
        ("POST", "/auth/jwt/login", {"data": form}),
        ("GET", "/users/me", {"headers": bearer}),
        ("PATCH", "/users/me", {"headers": bearer, "json": {"password": PASSWORD + "!"}}),
        (
            "POST",
            f"/api/{task_owner}/tasks",
            {"headers": task_token, "json": {"title": "x"}},
        ),
    ]


async def _each_faulty(
    server: ServerProcess, requests: list[tuple[str, str, dict[str, Any]]], status: int, code: str
) -> None:
    """Each request answers the problem `status`/`code`, logged in exactly one JSON line
    (at WARNING for a 503, ERROR for a 500) with its request id; nothing else is written."""
    mark = server.log_mark()
    ids: list[str] = []
    async with server.client() as http:
        for method, path, kw in requests:
            request_id = f"fault-{uuid.uuid4().hex[:12]}"
            headers = {**kw.pop("headers", {}), "X-Request-ID": request_id}
            r = await http.request(method, path, headers=headers, **kw)
            where = f"{method} {path}: {r.text}"
            assert r.status_code == status, server.describe(where)
            assert r.headers["content-type"] == "application/problem+json", where
            problem = r.json()
            assert problem["code"] == code, where
            assert problem["request_id"] == request_id, where
            for leak in ("psycopg", "sqlalchemy", "SELECT", "Traceback"):
                assert leak not in r.text, where
            if status == 503:
                assert int(r.headers["retry-after"]) > 0, where
            ids.append(request_id)
    records = _json_lines(server.log_since(mark))
    level = "WARNING" if status == 503 else "ERROR"
    for request_id in ids:
        lines = [rec for rec in records if rec.get("request_id") == request_id]
        assert len(lines) == 1, f"{request_id}: {lines}"
        assert lines[0]["level"] == level, lines[0]
        assert lines[0]["code"] == code, lines[0]
        assert ("exception" in lines[0]) == (status == 500), lines[0]


def _json_lines(output: str) -> list[dict[str, Any]]:
    """The server's output since a mark: JSON lines only (a raw traceback fails here)."""
    records = []
    for line in output.splitlines():
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            raise AssertionError(f"not a JSON log line: {line!r}\n{output[-3000:]}") from None
        assert isinstance(record, dict), line
        records.append(record)
    return records


async def test_account_routes_answer_503_while_the_database_is_down(
    pg: PgCluster, server: ServerProcess
) -> None:
    async with server.client() as http:
        form, token = await _account(http)
    pg.stop()
    await _each_faulty(server, _requests(form, token), 503, "SERVICE_UNAVAILABLE")
    pg.start()
    async with server.client() as http:
        r = await http.post("/auth/jwt/login", data=form)
        assert r.status_code == 200, server.describe(r.text)


async def test_account_routes_answer_500_database_error_for_other_faults(
    pg: PgCluster, server: ServerProcess
) -> None:
    async with server.client() as http:
        form, token = await _account(http)
    with pg.connect() as conn:
        conn.execute('ALTER TABLE "user" RENAME TO user_elsewhere')
        conn.execute("ALTER TABLE task RENAME TO task_elsewhere")
    try:
        await _each_faulty(server, _requests(form, token), 500, "DATABASE_ERROR")
    finally:
        with pg.connect() as conn:
            conn.execute('ALTER TABLE user_elsewhere RENAME TO "user"')
            conn.execute("ALTER TABLE task_elsewhere RENAME TO task")
    async with server.client() as http:
        r = await http.post("/auth/jwt/login", data=form)
        assert r.status_code == 200, server.describe(r.text)
