"""Every error is one problem+json envelope, and none leaks SQL, drivers or tracebacks."""

import sqlite3
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from fastapi import FastAPI
from psycopg import sql
from sqlalchemy.engine import make_url

from api.main import create_app
from tests.conftest import test_settings
from tests.support import User, make_token, serve

PROBLEM = "application/problem+json"
PROBLEM_FIELDS = {"type", "title", "status", "detail", "code", "request_id"}
NEVER_SHOWN = ("sqlalchemy", "psycopg", "sqlite", "traceback", "select", "relation", "table")
ITEM = "/api/alice/tasks/01970000-0000-7000-8000-000000000000"
ALICE = {"Authorization": f"Bearer {make_token('alice')}"}
JSON = {**ALICE, "content-type": "application/json"}

# (method, path, headers, body, status, code)
ERRORS = [
    pytest.param("GET", "/nope", {}, None, 404, "NOT_FOUND", id="unknown-route"),
    pytest.param("GET", "/api/alice/notes", ALICE, None, 404, "NOT_FOUND", id="unknown-resource"),
    pytest.param("GET", "/api/alice/tasks/", ALICE, None, 404, "NOT_FOUND", id="trailing-slash"),
    pytest.param("GET", f"{ITEM}/", ALICE, None, 404, "NOT_FOUND", id="item-trailing-slash"),
    pytest.param("GET", "/api//tasks", ALICE, None, 404, "NOT_FOUND", id="empty-user"),
    pytest.param("GET", ITEM, ALICE, None, 404, "NOT_FOUND", id="missing-item"),
    pytest.param("DELETE", "/api/alice/tasks", ALICE, None, 405, "METHOD_NOT_ALLOWED", id="405"),
    pytest.param("GET", "/api/alice/tasks", {}, None, 401, "AUTH_MISSING", id="401"),
    pytest.param("GET", "/api/bob/tasks", ALICE, None, 403, "AUTH_FORBIDDEN", id="403"),
    pytest.param("POST", "/api/alice/tasks", JSON, b"{", 400, "VALIDATION_ERROR", id="400"),
    pytest.param("POST", "/api/alice/tasks", JSON, b"{}", 422, "VALIDATION_ERROR", id="422"),
    pytest.param(
        "GET", "/api/alice/tasks?limit=0", ALICE, None, 422, "VALIDATION_ERROR", id="422-query"
    ),
    pytest.param("POST", "/api/alice/tasks", ALICE, b"x", 415, "UNSUPPORTED_MEDIA_TYPE", id="415"),
]


def _assert_problem(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    problem: dict[str, Any] = r.json()
    assert problem.keys() >= PROBLEM_FIELDS, problem
    assert (problem["status"], problem["code"]) == (status, code)
    assert all(isinstance(problem[k], str) and problem[k] for k in PROBLEM_FIELDS - {"status"})
    assert problem["request_id"] == r.headers["x-request-id"]
    assert not [word for word in NEVER_SHOWN if word in r.text.lower()], r.text
    return problem


@pytest.mark.parametrize(("method", "path", "headers", "content", "status", "code"), ERRORS)
async def test_every_error_is_a_problem(
    client: httpx.AsyncClient,
    method: str,
    path: str,
    headers: dict[str, str],
    content: bytes | None,
    status: int,
    code: str,
) -> None:
    r = await client.request(method, path, headers=headers, content=content)
    _assert_problem(r, status, code)


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        pytest.param("DELETE", "/api/alice/tasks", {"GET", "POST"}, id="collection"),
        pytest.param("PUT", "/api/alice/tasks", {"GET", "POST"}, id="collection-put"),
        pytest.param("POST", ITEM, {"GET", "PUT", "PATCH", "DELETE"}, id="item"),
    ],
)
async def test_wrong_method_is_405_with_allow(
    client: httpx.AsyncClient, method: str, path: str, allowed: set[str]
) -> None:
    r = await client.request(method, path, headers=ALICE)
    _assert_problem(r, 405, "METHOD_NOT_ALLOWED")
    assert {m.strip() for m in r.headers["allow"].split(",")} == allowed


async def test_unexpected_exception_is_500_internal_error(database_url: str) -> None:
    app = create_app(test_settings(database_url))

    async def explode() -> None:
        raise RuntimeError("SELECT secret FROM internals")

    app.add_api_route("/explode", explode)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        r = await client.get("/explode")
    problem = _assert_problem(r, 500, "INTERNAL_ERROR")
    assert "internals" not in r.text
    assert problem["detail"]


def _six(item_id: str) -> list[tuple[str, str, Any]]:
    return [
        ("GET", "/api/alice/tasks", None),
        ("POST", "/api/alice/tasks", {"title": "x"}),
        ("GET", f"/api/alice/tasks/{item_id}", None),
        ("PUT", f"/api/alice/tasks/{item_id}", {"title": "x", "completed": False}),
        ("PATCH", f"/api/alice/tasks/{item_id}", {"title": "x"}),
        ("DELETE", f"/api/alice/tasks/{item_id}", None),
    ]


@pytest.fixture
def tableless_database_url(database_url: str) -> Iterator[str]:
    """A migrated database whose `task` table is gone: a copied SQLite file, or a new,
    never-migrated PostgreSQL database (dropped afterwards)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        with sqlite3.connect(str(url.database)) as conn:
            conn.execute("DROP TABLE task")
        yield database_url
        return
    name = f"todo_broken_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(database_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield url.set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(database_url, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


async def test_database_error_is_500_without_details(tableless_database_url: str) -> None:
    app = create_app(test_settings(tableless_database_url))
    async with serve(app) as client:
        for method, path, body in _six(str(uuid.uuid4())):
            r = await client.request(method, path, headers=ALICE, json=body)
            problem = _assert_problem(r, 500, "DATABASE_ERROR")
            assert "task" not in problem["detail"].lower()


@pytest.mark.parametrize(
    "database_url",
    [
        pytest.param("postgresql://postgres@127.0.0.1:1/nowhere", id="postgresql-refused"),
        pytest.param("sqlite:///{missing}/todo.db", id="sqlite-missing-directory"),
    ],
)
async def test_unreachable_database_is_503_with_retry_after(
    database_url: str, tmp_path: Path
) -> None:
    app: FastAPI = create_app(test_settings(database_url.format(missing=tmp_path / "gone")))
    async with serve(app, lifespan=False) as client:
        alice = User(client, "alice", make_token("alice"))
        for method, path, body in _six(str(uuid.uuid4())):
            started = time.monotonic()
            r = await alice.request(method, path, json=body)
            elapsed = time.monotonic() - started
            _assert_problem(r, 503, "SERVICE_UNAVAILABLE")
            assert int(r.headers["retry-after"]) > 0
            assert elapsed < 10, f"{method} {path}: {elapsed:.1f} s to report 503"
