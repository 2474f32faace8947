"""The list endpoint: envelope, filters, search, sorting, paging and its refusals."""

import uuid
from typing import Any

import pytest

from tests.support import User

PROBLEM = "application/problem+json"


async def _list(user: User, **params: Any) -> dict[str, Any]:
    r = await user.request("GET", user.url(), params=params)
    assert r.status_code == 200, r.text
    page: dict[str, Any] = r.json()
    return page


async def _titles(user: User, **params: Any) -> list[str]:
    return [t["title"] for t in (await _list(user, **params))["tasks"]]


async def test_envelope_and_defaults(alice: User) -> None:
    assert await _list(alice) == {"tasks": [], "count": 0, "limit": 20, "offset": 0}
    for i in range(25):
        await alice.create(title=f"task {i:02}")
    page = await _list(alice)
    assert set(page) == {"tasks", "count", "limit", "offset"}
    assert (page["count"], page["limit"], page["offset"], len(page["tasks"])) == (25, 20, 0, 20)


async def test_default_sort_is_newest_first(alice: User) -> None:
    created = [await alice.create(title=f"t{i}") for i in range(5)]
    assert [t["id"] for t in (await _list(alice))["tasks"]] == [t["id"] for t in created[::-1]]


@pytest.mark.parametrize(
    ("completed", "expected"),
    [
        pytest.param("true", ["done 1", "done 2"], id="true"),
        pytest.param("false", ["open 1", "open 2", "open 3"], id="false"),
    ],
)
async def test_completed_filter(alice: User, completed: str, expected: list[str]) -> None:
    for title in ("open 1", "done 1", "open 2", "done 2", "open 3"):
        await alice.create(title=title, completed=title.startswith("done"))
    page = await _list(alice, completed=completed, sort="title", limit=1)
    assert page["count"] == len(expected)
    assert await _titles(alice, completed=completed, sort="title") == expected


SEARCHABLE = [
    ("Buy MILK", None),
    ("call mum", "about the milkman"),
    ("100% done", None),
    ("1000 things", None),
    ("snake_case", None),
    ("snakeXcase", None),
    ("back\\slash", None),
    ("nothing here", "plain"),
]


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        pytest.param("milk", ["Buy MILK", "call mum"], id="case-insensitive-title-or-description"),
        pytest.param("MILKMAN", ["call mum"], id="description-only"),
        pytest.param("%", ["100% done"], id="percent-is-literal"),
        pytest.param("0%", ["100% done"], id="percent-in-term"),
        pytest.param("_", ["snake_case"], id="underscore-is-literal"),
        pytest.param("e_c", ["snake_case"], id="underscore-in-term"),
        pytest.param("\\", ["back\\slash"], id="backslash-is-literal"),
        pytest.param("/", [], id="escape-char-is-literal"),
        pytest.param("absent", [], id="no-match"),
    ],
)
async def test_search(alice: User, search: str, expected: list[str]) -> None:
    for title, description in SEARCHABLE:
        await alice.create(title=title, description=description)
    page = await _list(alice, search=search, sort="title")
    assert [t["title"] for t in page["tasks"]] == expected
    assert page["count"] == len(expected)


async def test_search_and_filter_combine(alice: User) -> None:
    await alice.create(title="milk", completed=True)
    await alice.create(title="more milk")
    await alice.create(title="bread", completed=True)
    assert await _titles(alice, search="milk", completed="true") == ["milk"]


# Titles with ties (case-insensitively equal), so the `id` tie-break matters.
SORT_TITLES = ["banana", "Apple", "cherry", "apple", "Banana", "APPLE", "date", "apple"]


def _expected_order(tasks: list[dict[str, Any]], sort: str) -> list[str]:
    field = sort.removeprefix("-")

    def key(task: dict[str, Any]) -> tuple[str, uuid.UUID]:
        value = task[field].lower() if field == "title" else task[field]  # RFC 3339: sortable
        return value, uuid.UUID(task["id"])

    return [t["id"] for t in sorted(tasks, key=key, reverse=sort.startswith("-"))]


@pytest.mark.parametrize(
    "sort",
    [
        pytest.param(s, id=s)
        for s in ("title", "-title", "created_at", "-created_at", "updated_at", "-updated_at")
    ],
)
async def test_sort_pages_are_stable_and_cover_everything_once(alice: User, sort: str) -> None:
    for title in SORT_TITLES:
        await alice.create(title=title)
    everything = (await _list(alice, limit=100))["tasks"]
    # Touch some tasks so updated_at differs from created_at order.
    for task in everything[::3]:
        r = await alice.request("PATCH", alice.url(item_id=task["id"]), json={"completed": True})
        assert r.status_code == 200, r.text
    everything = (await _list(alice, limit=100))["tasks"]
    expected = _expected_order(everything, sort)
    seen: list[str] = []
    for offset in range(0, len(SORT_TITLES) + 3, 3):
        page = await _list(alice, sort=sort, limit=3, offset=offset)
        assert page["count"] == len(SORT_TITLES)
        assert (page["limit"], page["offset"]) == (3, offset)
        seen += [t["id"] for t in page["tasks"]]
    assert seen == expected
    again = [t["id"] for t in (await _list(alice, sort=sort, limit=100))["tasks"]]
    assert again == expected


async def test_title_sort_ignores_case(alice: User) -> None:
    for title in ("banana", "Cherry", "apple"):
        await alice.create(title=title)
    assert await _titles(alice, sort="title") == ["apple", "banana", "Cherry"]
    assert await _titles(alice, sort="-title") == ["Cherry", "banana", "apple"]


async def test_count_is_total_matching_filters_across_pages(alice: User) -> None:
    for i in range(7):
        await alice.create(title=f"t{i}", completed=i % 2 == 0)
    counts = {
        (await _list(alice, completed="true", limit=1, offset=offset))["count"]
        for offset in range(5)
    }
    assert counts == {4}


@pytest.mark.parametrize(
    ("params", "count"),
    [
        pytest.param({"offset": 5}, 5, id="just-past-the-end"),
        pytest.param({"offset": 10_000}, 5, id="far-past-the-end"),
        pytest.param({"offset": 3, "completed": "true"}, 2, id="past-the-end-filtered"),
        pytest.param({"offset": 1, "search": "zzz"}, 0, id="past-the-end-no-match"),
    ],
)
async def test_offset_beyond_the_end_is_an_empty_page_with_the_count(
    alice: User, params: dict[str, Any], count: int
) -> None:
    for i in range(5):
        await alice.create(title=f"t{i}", completed=i < 2)
    page = await _list(alice, **params)
    assert page["tasks"] == []
    assert page["count"] == count
    assert page["offset"] == params["offset"]


@pytest.mark.parametrize(
    ("params", "loc"),
    [
        pytest.param({"limit": "0"}, ["query", "limit"], id="limit-0"),
        pytest.param({"limit": "101"}, ["query", "limit"], id="limit-101"),
        pytest.param({"limit": "-1"}, ["query", "limit"], id="limit-negative"),
        pytest.param({"limit": "abc"}, ["query", "limit"], id="limit-not-a-number"),
        pytest.param({"limit": "1.5"}, ["query", "limit"], id="limit-fraction"),
        pytest.param({"offset": "-1"}, ["query", "offset"], id="offset-negative"),
        pytest.param({"offset": "10001"}, ["query", "offset"], id="offset-too-far"),
        pytest.param({"sort": "unknown"}, ["query", "sort"], id="sort-unknown"),
        pytest.param({"sort": "user_id"}, ["query", "sort"], id="sort-owner"),
        pytest.param({"sort": "description"}, ["query", "sort"], id="sort-not-whitelisted"),
        pytest.param({"sort": "+title"}, ["query", "sort"], id="sort-plus-prefix"),
        pytest.param({"sort": "--title"}, ["query", "sort"], id="sort-double-minus"),
        pytest.param({"completed": "yes"}, ["query", "completed"], id="completed-yes"),
        pytest.param({"completed": "1"}, ["query", "completed"], id="completed-1"),
        pytest.param({"search": "a\x00b"}, ["query", "search"], id="search-nul"),
        pytest.param({"search": "x" * 201}, ["query", "search"], id="search-too-long"),
    ],
)
async def test_out_of_range_or_unknown_values_are_422(
    alice: User, params: dict[str, str], loc: list[str]
) -> None:
    r = await alice.request("GET", alice.url(), params=params)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == PROBLEM
    problem = r.json()
    assert problem["code"] == "VALIDATION_ERROR"
    assert [e["loc"] for e in problem["errors"]] == [loc]


@pytest.mark.parametrize(
    ("limit", "offset"),
    [
        pytest.param("1", "0", id="smallest-limit"),
        pytest.param("100", "0", id="largest-limit"),
        pytest.param("20", "10000", id="largest-offset"),
    ],
)
async def test_bounds_are_inclusive(alice: User, limit: str, offset: str) -> None:
    page = await _list(alice, limit=limit, offset=offset)
    assert (page["limit"], page["offset"]) == (int(limit), int(offset))


async def test_unknown_query_parameters_are_ignored(alice: User) -> None:
    await alice.create(title="only")
    page = await _list(alice, colour="red", page="2", user_id="bob", limit="5")
    assert [t["title"] for t in page["tasks"]] == ["only"]
    assert page["limit"] == 5
