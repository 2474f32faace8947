"""Request ids, the JSON access log (one line per request, never a token) and CORS."""

import asyncio
import io
import json
import logging
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from api.main import create_app
from api.observability import FLUSH_SECONDS, JsonFormatter, LineHandler
from tests.conftest import test_settings
from tests.support import User, make_token, serve

GENERATED_ID = re.compile(r"^[0-9a-f]{32}$")
ORIGIN = "https://app.example"


class Records(logging.Handler):
    """Keeps every record it is given (the `todo_api` logger does not propagate)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def access(self, request_id: str) -> list[dict[str, Any]]:
        lines = [
            JsonFormatter().format(r)
            for r in self.records
            if r.name == "todo_api.access"
            and getattr(r, "fields", {}).get("request_id") == request_id
        ]
        assert all("\n" not in line for line in lines), lines
        return [json.loads(line) for line in lines]


@pytest.fixture
async def logged(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(test_settings(database_url, log_level="INFO"))
    async with serve(app) as client:
        yield client


@pytest.fixture
def records() -> Iterator[Records]:
    handler = Records()
    loggers = [logging.getLogger(), logging.getLogger("todo_api")]
    for logger in loggers:
        logger.addHandler(handler)
    yield handler
    for logger in loggers:
        logger.removeHandler(handler)


@pytest.mark.parametrize(
    "request_id",
    ["abc-123", "0f5e3b2a-6c4d-4e8f-9a1b-2c3d4e5f6a7b", "trace.id:42_x", "x" * 128],
    ids=["short", "uuid", "punctuation", "128-chars"],
)
async def test_well_formed_request_id_is_echoed(alice: User, request_id: str) -> None:
    headers = {"X-Request-ID": request_id}
    ok = await alice.request("GET", alice.url(), headers=headers)
    assert ok.status_code == 200, ok.text
    assert ok.headers["x-request-id"] == request_id
    problem = await alice.request("GET", alice.url(item_id="0" * 32), headers=headers)
    assert problem.status_code == 404, problem.text
    assert problem.headers["x-request-id"] == request_id
    assert problem.json()["request_id"] == request_id


@pytest.mark.parametrize(
    "request_id",
    ["has spaces", "x" * 129, "x" * 500, "<script>", "a/b", "", "ünïcode"],
    ids=["spaces", "129-chars", "500-chars", "markup", "slash", "empty", "non-ascii"],
)
async def test_malformed_request_id_is_replaced(alice: User, request_id: str) -> None:
    headers = {"X-Request-ID": request_id.encode()}  # bytes: httpx sends them as they are
    r = await alice.request("GET", alice.url(item_id="0" * 32), headers=headers)
    assert r.status_code == 404, r.text
    assert GENERATED_ID.match(r.headers["x-request-id"]), r.headers
    assert r.json()["request_id"] == r.headers["x-request-id"]


async def test_request_id_is_generated_per_request(client: httpx.AsyncClient) -> None:
    first, second = await client.get("/api/alice/tasks"), await client.get("/api/alice/tasks")
    ids = [r.headers["x-request-id"] for r in (first, second)]
    assert all(GENERATED_ID.match(i) for i in ids), ids
    assert ids[0] != ids[1]
    assert [r.json()["request_id"] for r in (first, second)] == ids


async def test_one_access_log_line_per_request(logged: httpx.AsyncClient, records: Records) -> None:
    alice = User(logged, "alice", make_token("alice"))
    task = await alice.create(title="logged")
    item = "/api/{user_id}/tasks/{task_id}"
    cases: list[tuple[str, str, dict[str, str], Any, int, str | None, str | None]] = [
        ("GET", alice.url(), alice.headers, None, 200, "alice", "/api/{user_id}/tasks"),
        ("POST", alice.url(), alice.headers, {"title": "t"}, 201, "alice", "/api/{user_id}/tasks"),
        ("PATCH", alice.url(item_id=task["id"]), alice.headers, {"title": "u"}, 200, "alice", item),
        ("DELETE", alice.url(item_id="0" * 32), alice.headers, None, 404, "alice", item),
        ("GET", alice.url(), {}, None, 401, None, "/api/{user_id}/tasks"),
        ("GET", "/api/bob/tasks", alice.headers, None, 403, "alice", "/api/{user_id}/tasks"),
        ("GET", "/nowhere", {}, None, 404, None, None),
    ]
    for number, (method, url, headers, body, status, user_id, route) in enumerate(cases):
        request_id = f"log-test-{number}"
        r = await logged.request(
            method, url, headers={**headers, "X-Request-ID": request_id}, json=body
        )
        assert r.status_code == status, r.text
        [line] = records.access(request_id)
        duration = line.pop("duration_ms")
        assert isinstance(duration, float | int), line
        assert 0 <= duration < 10_000, duration
        expected = {"method": method, "route": route, "status": status, "user_id": user_id}
        assert {k: line[k] for k in expected} == expected, line
        assert line["logger"] == "todo_api.access"


async def test_tokens_never_reach_the_log(logged: httpx.AsyncClient, records: Records) -> None:
    alice, bob = make_token("alice"), make_token("bob")
    forged = make_token("alice", secret="a-different-secret-that-is-long-enough!")
    garbage = "not.a-token-but-still-a-secret-looking-string"
    requests: list[tuple[str, str, str, Any]] = [
        ("POST", "/api/alice/tasks", alice, {"title": "t"}),
        ("GET", "/api/alice/tasks", alice, None),
        ("GET", "/api/alice/tasks", bob, None),
        ("GET", "/api/alice/tasks", forged, None),
        ("GET", "/api/alice/tasks", garbage, None),
        ("GET", "/api/alice/tasks/not-a-uuid", alice, None),
        ("GET", "/nowhere", alice, None),
    ]
    for method, url, token, body in requests:
        await logged.request(method, url, json=body, headers={"Authorization": f"Bearer {token}"})
    assert len([r for r in records.records if r.name == "todo_api.access"]) == len(requests)
    formatter = JsonFormatter()
    for record in records.records:
        text = formatter.format(record) + repr(record.__dict__)
        for token in (alice, bob, forged, garbage):
            assert token not in text, f"token in {record.name} record: {text}"


class Stream(io.StringIO):
    """Counts flushes, and keeps what had been written at the last one."""

    def __init__(self) -> None:
        super().__init__()
        self.flushes, self.flushed = 0, ""

    def flush(self) -> None:
        self.flushes, self.flushed = self.flushes + 1, self.getvalue()


def _line(level: int) -> logging.LogRecord:
    return logging.makeLogRecord(
        {"name": "todo_api.access", "levelno": level, "levelname": "X", "msg": "request"}
    )


async def test_lines_in_a_loop_are_written_at_once_and_flushed_together() -> None:
    stream = Stream()
    handler = LineHandler(stream)
    handler.setFormatter(JsonFormatter())
    for _ in range(3):
        handler.handle(_line(logging.INFO))
    assert stream.getvalue().count("\n") == 3, stream.getvalue()
    assert stream.flushes == 0, "one flush per line"
    await asyncio.sleep(FLUSH_SECONDS * 2)  # the loop runs the flush that was scheduled
    assert (stream.flushes, stream.flushed) == (1, stream.getvalue())
    handler.handle(_line(logging.WARNING))
    assert stream.flushes == 2, "warnings and errors are flushed at once"
    assert [json.loads(line)["logger"] for line in stream.flushed.splitlines()] == [
        "todo_api.access"
    ] * 4


def test_lines_outside_a_loop_are_flushed_at_once() -> None:
    stream = Stream()
    handler = LineHandler(stream)
    handler.handle(_line(logging.INFO))
    assert (stream.flushes, stream.flushed) == (1, "request\n")


@pytest.fixture
async def cors(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(test_settings(database_url, cors_origins=[ORIGIN]))
    async with serve(app) as client:
        yield client


def _preflight(origin: str) -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": "PATCH",
        "Access-Control-Request-Headers": "authorization, content-type, if-match",
    }


async def test_cors_preflight_from_an_allowed_origin(cors: httpx.AsyncClient) -> None:
    r = await cors.options("/api/alice/tasks/" + "0" * 32, headers=_preflight(ORIGIN))
    assert r.status_code == 200, r.text
    assert r.headers["access-control-allow-origin"] == ORIGIN
    assert "PATCH" in r.headers["access-control-allow-methods"]
    allowed = {h.strip().lower() for h in r.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type", "if-match"} <= allowed


@pytest.mark.parametrize(
    ("token", "status"), [("alice", 200), (None, 401)], ids=["success", "problem"]
)
async def test_cors_responses_expose_the_api_headers(
    cors: httpx.AsyncClient, token: str | None, status: int
) -> None:
    headers = {"Origin": ORIGIN}
    if token:
        headers["Authorization"] = f"Bearer {make_token(token)}"
    r = await cors.get("/api/alice/tasks", headers=headers)
    assert r.status_code == status, r.text
    assert r.headers["access-control-allow-origin"] == ORIGIN
    exposed = {h.strip().lower() for h in r.headers["access-control-expose-headers"].split(",")}
    assert {"location", "etag", "x-request-id"} <= exposed


async def test_cors_gives_a_disallowed_origin_nothing(cors: httpx.AsyncClient) -> None:
    evil = "https://evil.example"
    preflight = await cors.options("/api/alice/tasks", headers=_preflight(evil))
    actual = await cors.get(
        "/api/alice/tasks",
        headers={"Origin": evil, "Authorization": f"Bearer {make_token('alice')}"},
    )
    assert actual.status_code == 200, actual.text
    for r in (preflight, actual):
        # Without Allow-Origin the browser lets the page read nothing (Starlette still
        # sends its static credentials, method, header and expose lists: harmless).
        assert "access-control-allow-origin" not in r.headers, r.headers
    assert preflight.status_code == 400, preflight.text


async def test_no_cors_headers_without_cors_origins(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/alice/tasks", headers={"Origin": ORIGIN})
    assert "access-control-allow-origin" not in r.headers
