"""The six task endpoints behave as the contract says, on both databases."""

import re
import uuid

import pytest

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
    url = alice.url(item_id=task["id"])
    r = await alice.request("PUT", url, json={"title": "b", "completed": False})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["title"], body["description"], body["completed"]) == ("b", None, False)
    assert body["completed_at"] is None
    assert body["created_at"] == task["created_at"]
    assert body["updated_at"] > task["updated_at"]


async def test_put_never_creates(alice: User) -> None:
    missing = str(uuid.uuid4())
    body = {"title": "x", "completed": False}
    r = await alice.request("PUT", alice.url(item_id=missing), json=body)
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


async def test_put_without_title_or_completion_flag_is_422(alice: User) -> None:
    task = await alice.create(title="t", description="d")
    url = alice.url(item_id=task["id"])
    for body, missing in (({"title": "x"}, "completed"), ({"completed": True}, "title")):
        r = await alice.request("PUT", url, json=body)
        assert r.status_code == 422, r.text
        assert r.json()["errors"] == [{"loc": ["body", missing], "msg": "Field required"}]
    assert (await alice.request("GET", url)).json() == task


async def test_empty_patch_is_400_and_changes_nothing(alice: User) -> None:
    task = await alice.create(title="t")
    url = alice.url(item_id=task["id"])
    r = await alice.request("PATCH", url, json={})
    assert r.status_code == 400, r.text
    assert (r.json()["code"], r.json()["detail"]) == (
        "VALIDATION_ERROR",
        "At least one field must be provided.",
    )
    assert (await alice.request("GET", url)).json() == task


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
        body = {"title": "again"} if method == "PATCH" else None
        again = await alice.request(method, url, json=body)
        assert again.status_code == 404, again.text
        assert again.json()["code"] == "NOT_FOUND"


@pytest.mark.parametrize(
    "item_id",
    ["not-a-uuid", "42", "0" * 64, "{00000000-0000-0000-0000-000000000000}", "0" * 32],
)
async def test_an_id_that_is_not_an_id_is_404_like_a_missing_task(
    alice: User, item_id: str
) -> None:
    writes = (("PUT", {"title": "x", "completed": True}), ("PATCH", {"title": "x"}))
    for method, body in (("GET", None), *writes, ("DELETE", None)):
        r = await alice.request(method, alice.url(item_id=item_id), json=body)
        assert r.status_code == 404, r.text
        assert r.json()["code"] == "NOT_FOUND"
