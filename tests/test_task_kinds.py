"""The task's field kinds, filters, sorts, the project reference, the toggle action and
the tag counts, on both databases."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.support import User, list_page, titles

PAST = "2020-01-01T09:00:00+02:00"
SOON = (datetime.now(UTC) + timedelta(days=1)).isoformat()


async def test_new_fields_default_and_round_trip(alice: User) -> None:
    plain = await alice.create(title="plain")
    assert (plain["priority"], plain["due_date"], plain["tags"], plain["project_id"]) == (
        "medium",
        None,
        [],
        None,
    )
    full = await alice.create(
        title="full", priority="high", due_date=PAST, tags=[" Home ", "home", "Work", "HOME"]
    )
    assert full["priority"] == "high"
    assert full["due_date"] == "2020-01-01T07:00:00.000000Z"  # stored and shown as UTC
    assert full["tags"] == ["Home", "Work"]  # trimmed, first spelling kept, order kept
    got = await alice.request("GET", alice.url(item_id=full["id"]))
    assert got.json() == full


@pytest.mark.parametrize(
    ("body", "loc", "words"),
    [
        pytest.param({"priority": "urgent"}, ["body", "priority"], "", id="priority-unknown"),
        pytest.param(
            {"due_date": "2026-12-24T18:00:00"}, ["body", "due_date"], "offset", id="naive"
        ),
        pytest.param({"due_date": "tomorrow"}, ["body", "due_date"], "", id="not-a-time"),
        pytest.param({"tags": ["x"] * 21}, ["body", "tags"], "", id="21-tags"),
        pytest.param({"tags": ["x" * 51]}, ["body", "tags", 0], "", id="tag-51-chars"),
        pytest.param({"tags": ["  "]}, ["body", "tags", 0], "visible", id="tag-blank"),
        pytest.param({"tags": "home"}, ["body", "tags"], "", id="tags-not-a-list"),
        pytest.param({"project_id": "nope"}, ["body", "project_id"], "", id="project-not-id"),
    ],
)
async def test_invalid_kinds_are_422_naming_the_field(
    alice: User, body: dict[str, Any], loc: list[Any], words: str
) -> None:
    r = await alice.request("POST", alice.url(), json={"title": "t", **body})
    assert r.status_code == 422, r.text
    [error] = r.json()["errors"]
    assert error["loc"] == loc
    assert words in error["msg"]
    assert await alice.items() == []


async def test_filters_by_kind(alice: User) -> None:
    done = await alice.create(title="done", completed=True, priority="low", tags=["Home"])
    late = await alice.create(title="late", due_date=PAST, priority="high", tags=["home", "work"])
    soon = await alice.create(title="soon", due_date=SOON, tags=["work"])
    assert set(await titles(alice, status="pending")) == {"late", "soon"}
    assert await titles(alice, status="completed") == ["done"]
    assert len(await titles(alice, status="all")) == 3
    assert set(await titles(alice, priority=["low", "high"])) == {"done", "late"}
    assert set(await titles(alice, tag="HOME")) == {"done", "late"}
    assert await titles(alice, tag=["home", "Work"]) == ["late"]
    assert await titles(alice, overdue="true") == ["late"]
    assert set(await titles(alice, overdue="false")) == {"done", "soon"}
    assert await titles(alice, due_before="2021-01-01T00:00:00Z") == ["late"]
    assert await titles(alice, due_after="2021-01-01T00:00:00Z") == ["soon"]
    page = await list_page(alice, tag="work", status="pending", limit=1)
    assert page["count"] == 2
    assert {done["id"], late["id"], soon["id"]} == {t["id"] for t in await alice.items()}


@pytest.mark.parametrize(
    ("params", "name"),
    [
        pytest.param({"priority": "urgent"}, "priority", id="priority"),
        pytest.param({"status": "done"}, "status", id="status"),
        pytest.param({"overdue": "yes"}, "overdue", id="overdue"),
        pytest.param({"due_before": "2026-01-01T00:00:00"}, "due_before", id="naive-time"),
        pytest.param({"project_id": "12"}, "project_id", id="project"),
        pytest.param({"tag": ["x"] * 21}, "tag", id="21-tags"),
    ],
)
async def test_bad_filter_values_are_422(alice: User, params: dict[str, Any], name: str) -> None:
    r = await alice.request("GET", alice.url(), params=params)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["loc"][:2] == ["query", name]


@pytest.mark.parametrize("sort", ["due_date", "-due_date", "priority", "-priority"])
async def test_sorts_put_empty_last_and_cursor_pages_cover_everything(
    alice: User, sort: str
) -> None:
    specs = [
        ("a", "low", PAST),
        ("b", "high", None),
        ("c", "medium", SOON),
        ("d", "high", PAST),
        ("e", "low", None),
        ("f", "medium", None),
    ]
    for title, priority, due in specs:
        await alice.create(title=title, priority=priority, due_date=due)
    everything = await titles(alice, sort=sort)
    if sort.endswith("due_date"):
        assert set(everything[-3:]) == {"b", "e", "f"}, everything  # nulls last both ways
    if sort == "-priority":
        assert set(everything[:2]) == {"b", "d"}, everything  # high first
    if sort == "priority":
        assert set(everything[:2]) == {"a", "e"}, everything
    walked: list[str] = []
    page = await list_page(alice, sort=sort, limit=2)
    while True:
        walked += [t["title"] for t in page["tasks"]]
        if page["next_cursor"] is None:
            break
        page = await list_page(alice, sort=sort, limit=2, cursor=page["next_cursor"])
    assert walked == everything


async def test_project_reference_must_be_your_own(alice: User, bob: User) -> None:
    mine = await alice.create("projects", name="Home", color="#3b82f6")
    theirs = await bob.create("projects", name="Bob's")
    task = await alice.create(title="in a project", project_id=mine["id"])
    assert task["project_id"] == mine["id"]
    missing = "01890000-0000-7000-8000-000000000000"
    problems = []
    for project_id in (theirs["id"], missing):
        r = await alice.request("POST", alice.url(), json={"title": "x", "project_id": project_id})
        assert r.status_code == 422, r.text
        patched = await alice.request(
            "PATCH", alice.url(item_id=task["id"]), json={"project_id": project_id}
        )
        assert patched.status_code == 422, patched.text
        problems.append((r.json()["errors"], patched.json()["errors"]))
    assert problems[0] == problems[1]  # another person's project reads as a missing one
    assert problems[0][0] == [{"loc": ["body", "project_id"], "msg": "No such project."}]
    assert await titles(alice, project_id=mine["id"]) == ["in a project"]
    assert await titles(alice, project_id="none") == []
    r = await alice.request("DELETE", alice.url("projects", mine["id"]))
    assert r.status_code == 204, r.text
    kept = (await alice.request("GET", alice.url(item_id=task["id"]))).json()
    assert kept["project_id"] is None
    assert await titles(alice, project_id="none") == ["in a project"]


async def test_complete_action_toggles_sets_and_honours_if_match(alice: User, bob: User) -> None:
    task = await alice.create(title="t")
    url = alice.url(item_id=task["id"]) + "/complete"
    first = await alice.request("PATCH", url)
    assert first.status_code == 200, first.text
    assert (first.json()["completed"], first.json()["complete"]) == (True, True)
    assert first.headers["etag"] == f'"{first.json()["version"]}"'
    stamp = first.json()["completed_at"]
    assert stamp is not None
    kept = await alice.request("PATCH", url, json={"completed": True})
    assert (kept.json()["completed"], kept.json()["completed_at"]) == (True, stamp)
    stale = await alice.request("PATCH", url, headers={"If-Match": first.headers["etag"]})
    assert stale.status_code == 412, stale.text
    reopened = await alice.request(
        "PATCH", url, json={"complete": False}, headers={"If-Match": kept.headers["etag"]}
    )
    assert reopened.status_code == 200, reopened.text
    assert (reopened.json()["completed"], reopened.json()["completed_at"]) == (False, None)
    toggled = await alice.request("PATCH", url, json={})
    assert toggled.json()["completed"] is True
    bad = await alice.request("PATCH", url, json={"completed": "yes"})
    assert bad.status_code == 422, bad.text
    assert (
        await bob.request("PATCH", bob.url(item_id=task["id"]) + "/complete")
    ).status_code == 404
    assert (await bob.request("PATCH", url)).status_code == 403
    assert (
        await alice.request("PATCH", alice.url(item_id="nope") + "/complete")
    ).status_code == 404


async def test_tags_are_listed_with_counts(alice: User, bob: User) -> None:
    await alice.create(title="a", tags=["Work", "home"])
    await alice.create(title="b", tags=["work"])
    await bob.create(title="c", tags=["secret"])
    r = await alice.request("GET", f"/api/{alice.user_id}/tags")
    assert r.status_code == 200, r.text
    assert r.json() == {"tags": [{"name": "home", "count": 1}, {"name": "Work", "count": 2}]}
    assert (await bob.request("GET", f"/api/{alice.user_id}/tags")).status_code == 403
