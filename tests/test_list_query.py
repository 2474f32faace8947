"""The list endpoint: envelope, filters, search, sorting, paging and its refusals."""

import uuid
from typing import Any

import pytest

from tests.support import User, list_page, titles

PROBLEM = "application/problem+json"


async def test_envelope_and_defaults(alice: User) -> None:
    empty = {"tasks": [], "count": 0, "limit": 100, "offset": 0, "next_cursor": None}
    assert await list_page(alice) == empty
    for i in range(25):
        await alice.create(title=f"task {i:02}")
    page = await list_page(alice, limit="20")
    assert set(page) == {"tasks", "count", "limit", "offset", "next_cursor"}
    assert (page["count"], page["limit"], page["offset"], len(page["tasks"])) == (25, 20, 0, 20)


async def test_default_sort_is_newest_first(alice: User) -> None:
    created = [await alice.create(title=f"t{i}") for i in range(5)]
    assert [t["id"] for t in (await list_page(alice))["tasks"]] == [t["id"] for t in created[::-1]]


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
    page = await list_page(alice, completed=completed, sort="title", limit=1)
    assert page["count"] == len(expected)
    assert await titles(alice, completed=completed, sort="title") == expected


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
    page = await list_page(alice, search=search, sort="title")
    assert [t["title"] for t in page["tasks"]] == expected
    assert page["count"] == len(expected)


async def test_search_and_filter_combine(alice: User) -> None:
    await alice.create(title="milk", completed=True)
    await alice.create(title="more milk")
    await alice.create(title="bread", completed=True)
    assert await titles(alice, search="milk", completed="true") == ["milk"]


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
    everything = (await list_page(alice, limit=100))["tasks"]
    # Touch some tasks so updated_at differs from created_at order.
    for task in everything[::3]:
        r = await alice.request("PATCH", alice.url(item_id=task["id"]), json={"completed": True})
        assert r.status_code == 200, r.text
    everything = (await list_page(alice, limit=100))["tasks"]
    expected = _expected_order(everything, sort)
    seen: list[str] = []
    for offset in range(0, len(SORT_TITLES) + 3, 3):
        page = await list_page(alice, sort=sort, limit=3, offset=offset)
        assert page["count"] == len(SORT_TITLES)
        assert (page["limit"], page["offset"]) == (3, offset)
        seen += [t["id"] for t in page["tasks"]]
    assert seen == expected
    again = [t["id"] for t in (await list_page(alice, sort=sort, limit=100))["tasks"]]
    assert again == expected


async def test_title_sort_ignores_case(alice: User) -> None:
    for title in ("banana", "Cherry", "apple"):
        await alice.create(title=title)
    assert await titles(alice, sort="title") == ["apple", "banana", "Cherry"]
    assert await titles(alice, sort="-title") == ["Cherry", "banana", "apple"]


async def test_count_is_total_matching_filters_across_pages(alice: User) -> None:
    for i in range(7):
        await alice.create(title=f"t{i}", completed=i % 2 == 0)
    counts = {
        (await list_page(alice, completed="true", limit=1, offset=offset))["count"]
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
    page = await list_page(alice, **params)
    assert page["tasks"] == []
    assert page["count"] == count
    assert page["offset"] == params["offset"]


@pytest.mark.parametrize(
    ("params", "loc"),
    [
        pytest.param({"limit": "0"}, ["query", "limit"], id="limit-0"),
        pytest.param({"limit": "1001"}, ["query", "limit"], id="limit-1001"),
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
        pytest.param("1000", "0", id="largest-limit"),
        pytest.param("20", "10000", id="largest-offset"),
    ],
)
async def test_bounds_are_inclusive(alice: User, limit: str, offset: str) -> None:
    page = await list_page(alice, limit=limit, offset=offset)
    assert (page["limit"], page["offset"]) == (int(limit), int(offset))


@pytest.mark.parametrize("name", ["colour", "page", "user_id", "project", "__"])
async def test_unknown_query_parameters_are_422_naming_them(alice: User, name: str) -> None:
    r = await alice.request("GET", alice.url(), params={name: "x", "limit": "5"})
    assert r.status_code == 422, r.text
    assert r.json()["errors"] == [{"loc": ["query", name], "msg": f"Unknown field `{name}`."}]


async def test_the_cache_buster_is_allowed(alice: User) -> None:
    await alice.create(title="only")
    page = await list_page(alice, _="1733140000000", limit="5")
    assert [t["title"] for t in page["tasks"]] == ["only"]
    assert page["limit"] == 5


async def _walk(user: User, **params: Any) -> list[dict[str, Any]]:
    """Every page of a list, following `next_cursor` until it is null."""
    pages = [await list_page(user, **params)]
    while pages[-1]["next_cursor"] is not None:
        pages.append(await list_page(user, **{**params, "cursor": pages[-1]["next_cursor"]}))
        assert len(pages) < 100, "the cursor never ends"
    return pages


@pytest.mark.parametrize(
    "sort",
    [
        pytest.param(s, id=s)
        for s in ("title", "-title", "created_at", "-created_at", "updated_at", "-updated_at")
    ],
)
async def test_cursor_pages_cover_everything_once_in_order(alice: User, sort: str) -> None:
    for title in SORT_TITLES:
        await alice.create(title=title)
    for task in (await list_page(alice, limit=100))["tasks"][::3]:
        r = await alice.request("PATCH", alice.url(item_id=task["id"]), json={"completed": True})
        assert r.status_code == 200, r.text
    expected = _expected_order((await list_page(alice, limit=100))["tasks"], sort)
    pages = await _walk(alice, sort=sort, limit=3)
    assert [len(p["tasks"]) for p in pages] == [3, 3, 2]
    assert [t["id"] for p in pages for t in p["tasks"]] == expected
    assert {(p["count"], p["offset"], p["limit"]) for p in pages} == {(len(SORT_TITLES), 0, 3)}


async def test_cursor_keeps_filters_and_search(alice: User) -> None:
    for i in range(9):
        await alice.create(title=f"milk {i}" if i % 3 else f"bread {i}", completed=i % 2 == 0)
    pages = await _walk(alice, search="MILK", completed="true", sort="title", limit=1)
    assert [t["title"] for p in pages for t in p["tasks"]] == ["milk 2", "milk 4", "milk 8"]
    assert {p["count"] for p in pages} == {3}


async def test_cursor_neither_skips_nor_repeats_when_items_change_between_pages(
    alice: User,
) -> None:
    created = [await alice.create(title=f"t{i}") for i in range(9)]
    first = await list_page(alice, limit=3)  # newest first: t8, t7, t6
    # Between pages, the client deletes one task it has not seen yet and one it has, and
    # someone adds a new one; an offset would now skip one.
    for gone in (created[4], created[7]):
        r = await alice.request("DELETE", alice.url(item_id=gone["id"]))
        assert r.status_code == 204, r.text
    await alice.create(title="newer")
    rest = await _walk(alice, limit=3, cursor=first["next_cursor"])
    titles = [t["title"] for p in rest for t in p["tasks"]]
    assert titles == ["t5", "t3", "t2", "t1", "t0"]
    assert rest[0]["count"] == 8


@pytest.mark.parametrize(
    "cursor",
    [
        pytest.param("not-a-cursor", id="garbage"),
        pytest.param("e30", id="json-object"),  # {}
        pytest.param("WyItY3JlYXRlZF9hdCIsMSwieCJd", id="wrong-types"),  # ["-created_at",1,"x"]
        # ["-created_at","2026-01-01T00:00:00","01a20236-385e-721c-88a9-b9b83c25ba7a"]: naive
        pytest.param(
            "WyItY3JlYXRlZF9hdCIsIjIwMjYtMDEtMDFUMDA6MDA6MDAiLCIwMWEyMDIzNi0zODVlLTcyMWMtODhh"
            "OS1iOWI4M2MyNWJhN2EiXQ",
            id="naive-timestamp",
        ),
        pytest.param("x" * 1025, id="too-long"),
        pytest.param("a+b/", id="not-url-safe"),
    ],
)
async def test_a_cursor_not_made_here_is_422(alice: User, cursor: str) -> None:
    await alice.create(title="one")
    r = await alice.request("GET", alice.url(), params={"cursor": cursor})
    assert r.status_code == 422, r.text
    assert [e["loc"] for e in r.json()["errors"]] == [["query", "cursor"]]


async def test_a_cursor_is_refused_with_another_sort_or_with_an_offset(alice: User) -> None:
    for i in range(3):
        await alice.create(title=f"t{i}")
    cursor = (await list_page(alice, limit=1, sort="title"))["next_cursor"]
    assert cursor is not None
    for params in ({"sort": "-title"}, {"sort": "title", "offset": 1}):
        r = await alice.request("GET", alice.url(), params={**params, "cursor": cursor})
        assert r.status_code == 422, r.text
        assert r.json()["code"] == "VALIDATION_ERROR"
    assert await titles(alice, sort="title", limit=5, cursor=cursor) == ["t1", "t2"]


async def test_count_follows_creates_and_deletes(alice: User, bob: User) -> None:
    """The unfiltered count is kept by triggers, not counted; it must never drift."""
    tasks = [await alice.create(title=f"t{i}") for i in range(6)]
    await bob.create(title="bob's")
    for task in tasks[:4]:
        r = await alice.request("DELETE", alice.url(item_id=task["id"]))
        assert r.status_code == 204, r.text
    await alice.create(title="later")
    assert (await list_page(alice))["count"] == 3
    assert (await list_page(alice, offset=50))["count"] == 3  # the empty page's own count
    assert (await list_page(bob))["count"] == 1
