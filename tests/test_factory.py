"""The CRUD router factory: a new resource is a declaration, not endpoint code; and a
declaration that does not hold together is refused when it is made."""

import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

import httpx
import pytest
from pydantic import MISSING, BaseModel, ConfigDict, Field, StrictBool
from sqlalchemy import Boolean, Column, Integer, MetaData, String, Table, UniqueConstraint, Uuid
from sqlalchemy.ext.asyncio import create_async_engine

from api.crud import CrudResource, DeclarationError
from api.db import normalize_url
from api.main import create_app
from api.resources import RESOURCES, tasks
from schemas.task import TaskListResponse
from schemas.types import MULTI_LINE, UTCDateTime, UtcTimestamp
from tests import throwaway
from tests.conftest import test_settings
from tests.support import User, make_token, serve

# A throwaway resource: prefixed names (table, paths, operation ids) that no real resource
# can have, checked by tests.throwaway before the table is created or dropped.
note_metadata = MetaData()
note_table = Table(
    "zz_test_note",
    note_metadata,
    Column("id", Uuid, primary_key=True),
    Column("author", String(255), nullable=False, index=True),
    Column("body", String(500), nullable=False),
    Column("pinned", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("version", Integer, nullable=False),
    UniqueConstraint("author", "body", name="uq_zz_test_note_author_body"),
)

Body = Annotated[str, Field(min_length=1, max_length=500, pattern=MULTI_LINE, examples=["Hi"])]


class _Write(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class NoteCreate(_Write):
    body: Body
    pinned: StrictBool = False


class NoteUpdate(_Write):
    body: Body
    pinned: StrictBool = False


class NotePatch(_Write):
    body: Body | MISSING = MISSING
    pinned: StrictBool | MISSING = MISSING


class NoteResponse(BaseModel):
    id: uuid.UUID
    author: str
    body: str
    pinned: bool
    created_at: UtcTimestamp
    updated_at: UtcTimestamp
    version: int


class NoteListResponse(BaseModel):
    zz_test_notes: list[NoteResponse]
    count: int
    limit: int
    offset: int
    next_cursor: str | None


NOTE: dict[str, Any] = {
    "name": "zz_test_note",
    "plural": "zz_test_notes",
    "table": note_table,
    "owner": "author",
    "create": NoteCreate,
    "replace": NoteUpdate,
    "patch": NotePatch,
    "read": NoteResponse,
    "page": NoteListResponse,
    "sort": ("created_at", "body"),
    "default_sort": "-created_at",
    "search": ("body",),
    "filters": ("pinned",),
}
notes = CrudResource(**NOTE)
PLURAL = notes.plural


@pytest.fixture
async def client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """An app serving every real resource and the notes, whose table exists for the test."""
    engine = create_async_engine(normalize_url(database_url))
    await throwaway.create(engine, note_metadata)
    try:
        app = create_app(test_settings(database_url), (*RESOURCES, notes))
        async with serve(app) as client:
            yield client
    finally:
        await throwaway.drop(engine, note_metadata)
        await engine.dispose()


def test_throwaway_names_cannot_be_real_ones() -> None:
    throwaway.assert_disjoint(note_metadata)
    assert not {notes.name, notes.plural} & {n for r in RESOURCES for n in (r.name, r.plural)}
    for name in (RESOURCES[0].sql_table.name, "note"):  # a real table; an unprefixed one
        clashing = MetaData()
        Table(name, clashing, Column("id", Integer, primary_key=True))
        with pytest.raises(AssertionError, match="throwaway tables"):
            throwaway.assert_disjoint(clashing)


async def test_declared_resource_gets_six_documented_endpoints(
    client: httpx.AsyncClient,
) -> None:
    document = (await client.get("/openapi.json")).json()
    operations = {
        op["operationId"]: (method.upper(), path)
        for path, item in document["paths"].items()
        for method, op in item.items()
    }
    notes_path = "/api/{user_id}/zz_test_notes"
    note_path = notes_path + "/{zz_test_note_id}"
    assert {k: v for k, v in operations.items() if "zz_test_note" in k} == {
        "list_zz_test_notes": ("GET", notes_path),
        "create_zz_test_note": ("POST", notes_path),
        "get_zz_test_note": ("GET", note_path),
        "replace_zz_test_note": ("PUT", note_path),
        "update_zz_test_note": ("PATCH", note_path),
        "delete_zz_test_note": ("DELETE", note_path),
    }
    assert document["components"]["schemas"]["NoteCreate"]["additionalProperties"] is False


async def test_declared_resource_works_end_to_end(client: httpx.AsyncClient) -> None:
    alice = User(client, "alice", make_token("alice"))
    created = await alice.request("POST", alice.url(PLURAL), json={"body": "first"})
    assert created.status_code == 201, created.text
    note = created.json()
    assert created.headers["location"] == alice.url(PLURAL, note["id"])
    assert (note["author"], note["body"], note["pinned"]) == ("alice", "first", False)
    await alice.create(PLURAL, body="Second, pinned", pinned=True)

    pinned = await alice.request("GET", alice.url(PLURAL), params={"pinned": "true"})
    assert [n["body"] for n in pinned.json()[PLURAL]] == ["Second, pinned"], pinned.text
    found = await alice.request("GET", alice.url(PLURAL), params={"search": "FIRST"})
    assert [n["id"] for n in found.json()[PLURAL]] == [note["id"]], found.text
    by_body = await alice.request("GET", alice.url(PLURAL), params={"sort": "body"})
    assert [n["body"] for n in by_body.json()[PLURAL]] == ["first", "Second, pinned"]

    url = alice.url(PLURAL, note["id"])
    replaced = await alice.request("PUT", url, json={"body": "replaced"})
    assert replaced.status_code == 200, replaced.text
    patched = await alice.request("PATCH", url, json={"pinned": True})
    assert (patched.json()["body"], patched.json()["pinned"]) == ("replaced", True)
    assert (await alice.request("GET", url)).json() == patched.json()
    deleted = await alice.request("DELETE", url)
    assert deleted.status_code == 204, deleted.text
    assert (await alice.request("GET", url)).status_code == 404
    for resource in RESOURCES:  # the real resources are separate
        assert await alice.items(resource.plural) == []


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({}, id="body-missing"),
        pytest.param({"body": ""}, id="body-empty"),
        pytest.param({"body": "x", "pinned": "yes"}, id="pinned-not-strict"),
        pytest.param({"body": "x", "author": "bob"}, id="owner-in-body"),
        pytest.param({"body": "x", "id": str(uuid.uuid4())}, id="id-in-body"),
        pytest.param({"body": "x", "title": "a task field"}, id="unknown-field"),
    ],
)
async def test_declared_resource_validates(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    alice = User(client, "alice", make_token("alice"))
    r = await alice.request("POST", alice.url(PLURAL), json=body)
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "VALIDATION_ERROR"
    assert await alice.items(PLURAL) == []


async def test_declared_resource_isolates_owners(client: httpx.AsyncClient) -> None:
    alice = User(client, "alice", make_token("alice"))
    bob = User(client, "bob", make_token("bob"))
    note = await alice.create(PLURAL, body="private")
    writes = (("PUT", {"body": "x"}), ("PATCH", {"pinned": True}))
    for method, body in (("GET", None), *writes, ("DELETE", None)):
        mine = await bob.request(method, bob.url(PLURAL, note["id"]), json=body)
        assert mine.status_code == 404, mine.text
        hers = await bob.request(method, alice.url(PLURAL, note["id"]), json=body)
        assert hers.status_code == 403, hers.text
    assert await bob.items(PLURAL) == []
    assert await alice.items(PLURAL) == [note]


async def test_unique_violation_is_409_conflict(client: httpx.AsyncClient) -> None:
    alice = User(client, "alice", make_token("alice"))
    bob = User(client, "bob", make_token("bob"))
    first = await alice.create(PLURAL, body="only once")
    again = await alice.request("POST", alice.url(PLURAL), json={"body": "only once"})
    assert again.status_code == 409, again.text
    assert again.json()["code"] == "CONFLICT"
    assert "uq_zz_test_note" not in again.text
    assert "unique" not in again.text.lower()
    other = await alice.create(PLURAL, body="another")
    clash = await alice.request("PUT", alice.url(PLURAL, other["id"]), json={"body": "only once"})
    assert clash.status_code == 409, clash.text
    assert await alice.items(PLURAL) in ([other, first], [first, other])
    await bob.create(PLURAL, body="only once")  # unique per author only


class NoteWithId(NoteCreate):
    id: uuid.UUID


class NoteWithAuthor(NoteUpdate):
    author: str


class LaxNotePatch(BaseModel):
    body: str | None = None


class NotePatchWithColour(NotePatch):
    colour: str | MISSING = MISSING


class NoteResponseWithColour(NoteResponse):
    colour: str


class NoteResponseWithoutVersion(BaseModel):
    id: uuid.UUID
    body: str


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        pytest.param({"owner": "owner_id"}, "table has no 'owner_id' column", id="owner-column"),
        pytest.param(
            {"create": NoteWithId},
            "create schema NoteWithId exposes server-owned ['id']",
            id="write-schema-exposes-id",
        ),
        pytest.param(
            {"replace": NoteWithAuthor},
            "replace schema NoteWithAuthor exposes server-owned ['author']",
            id="write-schema-exposes-owner",
        ),
        pytest.param(
            {"patch": LaxNotePatch},
            "patch schema LaxNotePatch must forbid unknown fields",
            id="extra-not-forbidden",
        ),
        pytest.param(
            {"patch": NotePatchWithColour},
            "patch schema NotePatchWithColour has fields with no column ['colour']",
            id="write-field-without-column",
        ),
        pytest.param(
            {"read": NoteResponseWithColour},
            "read schema NoteResponseWithColour has fields without columns ['colour']",
            id="read-field-without-column",
        ),
        pytest.param(
            {"read": NoteResponseWithoutVersion},
            "read schema NoteResponseWithoutVersion must include version",
            id="read-without-version",
        ),
        pytest.param(
            {"sort": ("created_at", "colour")},
            "sort field 'colour' is not a column",
            id="sort-not-a-column",
        ),
        pytest.param(
            {"sort": ("created_at",), "default_sort": "-body"},
            "default sort '-body' is not in sort",
            id="default-sort-not-in-sort",
        ),
        pytest.param(
            {"search": ("colour",)}, "search field 'colour' is not a column", id="search-column"
        ),
        pytest.param(
            {"filters": ("body",)},
            "filter: no filter for column 'body'",
            id="filter-of-a-kind-without-filters",
        ),
        pytest.param(
            {"filters": ("archived",)},
            "filter 'archived' is not a column",
            id="filter-not-a-column",
        ),
        pytest.param(
            {"page": TaskListResponse},
            "page schema TaskListResponse must have zz_test_notes, count, limit, offset",
            id="page-wrong-shape",
        ),
        pytest.param({"table": object}, "is not a table", id="not-a-table"),
        pytest.param(
            {"stamps": {"body": "pinned"}},
            "stamp 'body' is not a timestamp column",
            id="stamp-not-a-timestamp",
        ),
        pytest.param(
            {"stamps": {"created_at": "body"}},
            "stamp flag 'body' is not a boolean column",
            id="stamp-flag-not-bool",
        ),
        pytest.param(
            {"sort": ("id",), "default_sort": "id"}, "cannot be keyset-paged", id="sort-uuid"
        ),
        pytest.param({"status": "body"}, "status 'body' is not a boolean", id="status-not-bool"),
        pytest.param(
            {"overdue": ("pinned", "pinned")}, "is not (timestamp column", id="overdue-kinds"
        ),
        pytest.param(
            {"references": {"id": tasks}}, "reference 'id' has no foreign key", id="reference-fk"
        ),
        pytest.param(
            {"toggles": {"flip": "body"}}, "toggle 'flip': 'body' is not a boolean", id="toggle"
        ),
        pytest.param(
            {"facets": {"bodies": "body"}},
            "facet 'bodies': 'body' is not a string-array",
            id="facet",
        ),
        pytest.param(
            {"aliases": {"text": "missing"}}, "alias 'text' names 'missing'", id="alias-target"
        ),
        pytest.param(
            {"aliases": {"body": "pinned"}}, "alias 'body' is a column", id="alias-column"
        ),
    ],
)
def test_bad_declaration_is_refused_with_a_clear_message(
    overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(DeclarationError) as caught:
        CrudResource(**{**NOTE, **overrides})
    assert str(caught.value).startswith("resource 'zz_test_note': ")
    assert message in str(caught.value)


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(DeclarationError) as caught:
        CrudResource(**{**NOTE, "sort": ("colour",), "filters": ("archived",)})
    problems = str(caught.value).removeprefix("resource 'zz_test_note': ").split("; ")
    assert len(problems) == 3, problems  # bad sort field, default sort, bad filter
