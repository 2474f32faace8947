"""Request bodies: what is refused (and then changes nothing), what is accepted, exactly."""

import json
from typing import Any

import httpx
import pytest

from tests.support import User

PROBLEM = "application/problem+json"
WRITES = ("POST", "PUT", "PATCH")

# (body, where the error points); invalid for POST, PUT and PATCH alike.
INVALID = [
    pytest.param({"title": ""}, ["body", "title"], id="title-empty"),
    pytest.param({"title": "   "}, ["body", "title"], id="title-blank"),
    pytest.param({"title": "\u3000\u00a0"}, ["body", "title"], id="title-unicode-whitespace"),
    pytest.param({"title": "x" * 201}, ["body", "title"], id="title-201-chars"),
    pytest.param({"title": "a\x00b"}, ["body", "title"], id="title-nul"),
    pytest.param({"title": "a\nb"}, ["body", "title"], id="title-newline"),
    pytest.param({"title": "a\tb"}, ["body", "title"], id="title-tab"),
    pytest.param({"title": "a\x7fb"}, ["body", "title"], id="title-del"),
    pytest.param({"title": "a\x85b"}, ["body", "title"], id="title-c1-nel"),
    pytest.param({"title": 5}, ["body", "title"], id="title-number"),
    pytest.param(
        {"title": "t", "description": "d" * 1001}, ["body", "description"], id="desc-1001"
    ),
    pytest.param({"title": "t", "description": "a\x00b"}, ["body", "description"], id="desc-nul"),
    pytest.param({"title": "t", "description": "\x1b[31m"}, ["body", "description"], id="desc-esc"),
    pytest.param({"title": "t", "completed": "yes"}, ["body", "completed"], id="completed-yes"),
    pytest.param({"title": "t", "completed": "true"}, ["body", "completed"], id="completed-str"),
    pytest.param({"title": "t", "completed": 1}, ["body", "completed"], id="completed-1"),
    pytest.param({"title": "t", "completed": 0}, ["body", "completed"], id="completed-0"),
    pytest.param({"title": "t", "completed": None}, ["body", "completed"], id="completed-null"),
    pytest.param({"title": "t", "colour": "red"}, ["body", "colour"], id="unknown-field"),
    pytest.param({"title": "t", "id": "0" * 32}, ["body", "id"], id="read-only-id"),
    pytest.param({"title": "t", "user_id": "bob"}, ["body", "user_id"], id="read-only-user_id"),
    pytest.param(
        {"title": "t", "created_at": "2030-01-01T00:00:00Z"},
        ["body", "created_at"],
        id="read-only-created_at",
    ),
    pytest.param(
        {"title": "t", "updated_at": "2030-01-01T00:00:00Z"},
        ["body", "updated_at"],
        id="read-only-updated_at",
    ),
    pytest.param(
        {"title": "t", "completed_at": "2030-01-01T00:00:00Z"},
        ["body", "completed_at"],
        id="read-only-completed_at",
    ),
    pytest.param([{"title": "t"}], ["body"], id="body-array"),
    pytest.param("t", ["body"], id="body-string"),
    pytest.param(1, ["body"], id="body-number"),
]
# Invalid for POST and PUT (a full task), but a fine PATCH.
INVALID_WHOLE = [
    pytest.param({}, ["body", "title"], id="title-missing"),
    pytest.param({"description": "d"}, ["body", "title"], id="title-missing-with-others"),
    pytest.param(None, ["body"], id="body-null"),
]
# Invalid for PATCH: null on a field that cannot be null.
INVALID_PATCH = [
    pytest.param({"title": None}, ["body", "title"], id="title-null"),
    pytest.param({"completed": None}, ["body", "completed"], id="completed-null"),
]


def _assert_validation_problem(r: httpx.Response, loc: list[str]) -> None:
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == PROBLEM
    problem = r.json()
    assert problem["code"] == "VALIDATION_ERROR"
    assert problem["errors"], problem
    assert all(set(e) == {"loc", "msg"} and e["msg"] for e in problem["errors"]), problem
    assert any(e["loc"][: len(loc)] == loc for e in problem["errors"]), problem


async def _send(alice: User, method: str, item_id: str, **kw: Any) -> httpx.Response:
    url = alice.url() if method == "POST" else alice.url(item_id=item_id)
    return await alice.request(method, url, **kw)


async def _send_json(alice: User, method: str, item_id: str, body: Any) -> httpx.Response:
    """`body` serialised as is (httpx would send no body at all for None)."""
    headers = {"content-type": "application/json"}
    return await _send(alice, method, item_id, content=json.dumps(body), headers=headers)


@pytest.mark.parametrize(("body", "loc"), INVALID)
async def test_invalid_body_is_422_and_changes_nothing(
    alice: User, body: Any, loc: list[str]
) -> None:
    task = await alice.create(title="keep", description="as is")
    for method in WRITES:
        r = await _send_json(alice, method, task["id"], body)
        _assert_validation_problem(r, loc)
    assert await alice.items() == [task]


@pytest.mark.parametrize(("body", "loc"), INVALID_WHOLE)
async def test_incomplete_task_is_422_on_post_and_put(
    alice: User, body: Any, loc: list[str]
) -> None:
    task = await alice.create(title="keep")
    for method in ("POST", "PUT"):
        _assert_validation_problem(await _send_json(alice, method, task["id"], body), loc)
    assert await alice.items() == [task]


@pytest.mark.parametrize(("body", "loc"), INVALID_PATCH)
async def test_null_on_required_field_is_422_on_patch(
    alice: User, body: Any, loc: list[str]
) -> None:
    task = await alice.create(title="keep", completed=True)
    _assert_validation_problem(await _send_json(alice, "PATCH", task["id"], body), loc)
    assert await alice.items() == [task]


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"title": "x" * 200}, id="title-200-chars"),
        pytest.param({"title": "x"}, id="title-1-char"),
        pytest.param({"title": "🎉" * 200}, id="title-200-emoji"),
        pytest.param({"title": "買い物リスト 🛒"}, id="title-cjk-emoji"),
        pytest.param({"title": "👩‍👩‍👧 family"}, id="title-zwj-sequence"),
        pytest.param({"title": "cafe\u0301 not normalised"}, id="title-combining-mark"),
        pytest.param(
            {"title": "t", "description": "line 1\nline 2\r\n\tindented"}, id="desc-breaks"
        ),
        pytest.param({"title": "t", "description": "д" * 1000}, id="desc-1000-chars"),
        pytest.param({"title": "t", "description": ""}, id="desc-empty"),
        pytest.param({"title": "t", "completed": True}, id="completed-true"),
    ],
)
async def test_valid_fields_round_trip_identically(alice: User, fields: dict[str, Any]) -> None:
    created = await alice.create(**fields)
    assert {k: created[k] for k in fields} == fields
    other = await alice.create(title="placeholder")
    for method, body in (("PUT", {"completed": False, **fields}), ("PATCH", fields)):
        r = await _send(alice, method, other["id"], json=body)
        assert r.status_code == 200, r.text
        assert {k: r.json()[k] for k in fields} == fields
    by_id = {t["id"]: t for t in await alice.items()}
    assert by_id[created["id"]] == created
    assert {k: by_id[other["id"]][k] for k in fields} == fields


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b'{"title": ', id="truncated"),
        pytest.param(b"{'title': 'single quotes'}", id="single-quotes"),
        pytest.param(b'{"title": "t",}', id="trailing-comma"),
        pytest.param(b"\xff\xfe", id="not-utf8"),
    ],
)
async def test_malformed_json_is_400_and_changes_nothing(alice: User, content: bytes) -> None:
    task = await alice.create(title="keep")
    for method in WRITES:
        r = await _send(
            alice, method, task["id"], content=content, headers={"content-type": "application/json"}
        )
        assert r.status_code == 400, r.text
        assert r.headers["content-type"] == PROBLEM
        assert r.json()["code"] == "VALIDATION_ERROR"
    assert await alice.items() == [task]


@pytest.mark.parametrize(
    "content_type",
    [
        pytest.param(None, id="missing"),
        pytest.param("text/plain", id="text-plain"),
        pytest.param("application/x-www-form-urlencoded", id="form"),
        pytest.param("multipart/form-data; boundary=x", id="multipart"),
        pytest.param("application/xml", id="xml"),
        pytest.param("application/jsonx", id="json-lookalike"),
        pytest.param("text/json", id="text-json"),
    ],
)
async def test_body_that_is_not_json_is_415(alice: User, content_type: str | None) -> None:
    task = await alice.create(title="keep")
    headers = {} if content_type is None else {"content-type": content_type}
    for method in WRITES:
        r = await _send(alice, method, task["id"], content=b'{"title": "changed"}', headers=headers)
        assert r.status_code == 415, r.text
        assert r.headers["content-type"] == PROBLEM
        assert r.json()["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert await alice.items() == [task]


@pytest.mark.parametrize(
    ("method", "content_type"),
    [
        pytest.param("PATCH", "application/merge-patch+json", id="patch-merge-patch"),
        pytest.param("PATCH", "application/json; charset=utf-8", id="patch-charset"),
        pytest.param("PUT", "application/json; charset=utf-8", id="put-charset"),
        pytest.param("POST", "Application/JSON", id="post-mixed-case"),
    ],
)
async def test_json_media_types_are_accepted(alice: User, method: str, content_type: str) -> None:
    task = await alice.create(title="before")
    r = await _send(
        alice,
        method,
        task["id"],
        content='{"title": "after ✓", "completed": false}'.encode(),
        headers={"content-type": content_type},
    )
    assert r.status_code == (201 if method == "POST" else 200), r.text
    assert r.json()["title"] == "after ✓"
