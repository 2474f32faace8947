"""The six task endpoints behave as the contract says, on both databases."""

import re
import uuid

from tests.support import User

RFC3339_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


async def test_create_returns_201_location_and_the_task(alice: User) -> None:
    r = await alice.request("POST", alice.url(), json={"title": "  Buy milk  "})
    assert r.status_code == 201, r.text
    task = r.json()
    assert r.headers["location"] == alice.url(item_id=task["id"])
    assert uuid.UUID(task["id"]).version == 7
    assert task["title"] == "Buy milk"  # stored stripped
    assert task["description"] is None
    assert task["completed"] is False
    assert task["completed_at"] is None
    assert task["user_id"] == "alice"
    assert RFC3339_Z.match(task["created_at"])
    assert task["created_at"] == task["updated_at"]
    fetched = await alice.request("GET", r.headers["location"])
    assert fetched.status_code == 200, fetched.text
    assert fetched.json() == task


async def test_create_completed_sets_completed_at(alice: User) -> None:
    task = await alice.create(title="done already", completed=True)
    assert task["completed"] is True
    assert RFC3339_Z.match(task["completed_at"])


async def test_put_replaces_whole_task_and_resets_omitted_fields(alice: User) -> None:
    task = await alice.create(title="a", description="keep?", completed=True)
    r = await alice.request("PUT", alice.url(item_id=task["id"]), json={"title": "b"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["title"], body["description"], body["completed"]) == ("b", None, False)
    assert body["completed_at"] is None
    assert body["created_at"] == task["created_at"]
    assert body["updated_at"] > task["updated_at"]


async def test_put_never_creates(alice: User) -> None:
    missing = str(uuid.uuid4())
    r = await alice.request("PUT", alice.url(item_id=missing), json={"title": "x"})
    assert r.status_code == 404, r.text
    listed = await alice.request("GET", alice.url())
    assert listed.json()["count"] == 0


async def test_patch_merges_absent_untouched_null_clears(alice: User) -> None:
    task = await alice.create(title="t", description="d")
    url = alice.url(item_id=task["id"])
    r = await alice.request("PATCH", url, json={"completed": True})
    assert r.status_code == 200, r.text
    assert (r.json()["title"], r.json()["description"], r.json()["completed"]) == ("t", "d", True)
    r = await alice.request("PATCH", url, json={"description": None})
    assert r.status_code == 200, r.text
    assert r.json()["description"] is None
    assert r.json()["title"] == "t"


async def test_patch_null_on_required_field_is_422_and_changes_nothing(alice: User) -> None:
    task = await alice.create(title="t")
    url = alice.url(item_id=task["id"])
    for body in ({"title": None}, {"completed": None}, {"title": "ok", "completed": None}):
        r = await alice.request("PATCH", url, json=body)
        assert r.status_code == 422, r.text
    assert (await alice.request("GET", url)).json() == task


async def test_empty_patch_is_a_200_no_op(alice: User) -> None:
    task = await alice.create(title="t")
    r = await alice.request("PATCH", alice.url(item_id=task["id"]), json={})
    assert r.status_code == 200, r.text
    assert r.json() == task


async def test_completed_at_kept_while_completed_and_cleared_on_reopen(alice: User) -> None:
    task = await alice.create(title="t")
    url = alice.url(item_id=task["id"])
    first = (await alice.request("PATCH", url, json={"completed": True})).json()
    assert first["completed_at"] is not None
    again = (await alice.request("PATCH", url, json={"completed": True, "title": "u"})).json()
    assert again["completed_at"] == first["completed_at"]
    reopened = (await alice.request("PATCH", url, json={"completed": False})).json()
    assert reopened["completed_at"] is None


async def test_delete_is_204_empty_then_404(alice: User) -> None:
    task = await alice.create(title="t")
    url = alice.url(item_id=task["id"])
    r = await alice.request("DELETE", url)
    assert r.status_code == 204, r.text
    assert r.content == b""
    for method in ("GET", "DELETE", "PATCH"):
        again = await alice.request(method, url, json={} if method == "PATCH" else None)
        assert again.status_code == 404, again.text
        assert again.json()["code"] == "NOT_FOUND"


async def test_malformed_task_id_is_422(alice: User) -> None:
    r = await alice.request("GET", alice.url(item_id="not-a-uuid"))
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["loc"] == ["path", "task_id"]
