"""The front end this API's specification was written for works unmodified, over real HTTP.

It signs its own HS256 token `{user_id, iat, exp}` (no `sub`) with BETTER_AUTH_SECRET,
sends `Content-Type: application/json` on every request, lists without a query string,
and reads and writes the completion flag as `complete`.
"""

import time
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest

from tests.server_process import ServerProcess

BETTER_AUTH_SECRET = "the-front-end-s-own-better-auth-secret-0123456789"
WEEK = 7 * 24 * 3600


def front_end_token(user_id: str, *, lifetime: int = WEEK) -> str:
    now = int(time.time())
    payload = {"user_id": user_id, "iat": now, "exp": now + lifetime}
    return jwt.encode(payload, BETTER_AUTH_SECRET, algorithm="HS256")


@pytest.fixture
def server(database_url: str) -> Iterator[ServerProcess]:
    # Only BETTER_AUTH_SECRET, as in the front end's documented setup (JWT_SECRET unset).
    env = {"JWT_SECRET": "", "BETTER_AUTH_SECRET": BETTER_AUTH_SECRET}
    with ServerProcess(database_url, env) as process:
        yield process


class FrontEnd:
    """The calls the front end's API client makes, as it makes them."""

    def __init__(self, client: httpx.AsyncClient, user_id: str) -> None:
        self.client, self.user_id = client, user_id
        self.token = front_end_token(user_id)

    async def call(self, method: str, path: str, body: Any = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        return await self.client.request(
            method, f"/api/{self.user_id}/tasks{path}", headers=headers, json=body
        )


async def test_the_front_ends_calls_work_unmodified(server: ServerProcess) -> None:
    async with server.client() as client:
        app = FrontEnd(client, "user-5f3a")
        body = {"title": "Buy milk", "description": "2 litres", "priority": "high"}
        created = await app.call("POST", "", body)
        assert created.status_code == 201, created.text
        task = created.json()
        assert (task["complete"], task["completed"], task["priority"]) == (False, False, "high")

        checked = await app.call("PATCH", f"/{task['id']}", {"complete": True})
        assert checked.status_code == 200, checked.text
        assert (checked.json()["complete"], checked.json()["completed"]) == (True, True)
        assert checked.json()["completed_at"] is not None

        edit = {"title": "Buy oat milk", "description": None, "complete": False, "priority": "low"}
        edited = await app.call("PUT", f"/{task['id']}", edit)
        assert edited.status_code == 200, edited.text
        assert {k: edited.json()[k] for k in edit} == edit
        assert edited.json()["completed_at"] is None

        fetched = await app.call("GET", f"/{task['id']}")
        assert fetched.status_code == 200, fetched.text
        assert fetched.json() == edited.json()

        deleted = await app.call("DELETE", f"/{task['id']}")
        assert (deleted.status_code, deleted.content) == (204, b"")
        gone = await app.call("GET", f"/{task['id']}")
        assert gone.status_code == 404, gone.text
        assert gone.json()["detail"] == "No such task."


async def test_an_unpaged_list_returns_all_of_a_hundred_tasks(server: ServerProcess) -> None:
    async with server.client() as client:
        app = FrontEnd(client, "user-many")
        for n in range(100):
            r = await app.call("POST", "", {"title": f"task {n}", "complete": n % 2 == 0})
            assert r.status_code == 201, r.text
        listed = await app.call("GET", "")
        assert listed.status_code == 200, listed.text
        page = listed.json()
        assert (page["count"], page["limit"], len(page["tasks"])) == (100, 100, 100)
        assert page["next_cursor"] is None
        assert {t["title"] for t in page["tasks"]} == {f"task {n}" for n in range(100)}
        assert all(t["complete"] is t["completed"] for t in page["tasks"])


async def test_the_front_ends_mistakes_get_the_answers_it_expects(server: ServerProcess) -> None:
    async with server.client() as client:
        app = FrontEnd(client, "user-errors")
        task = (await app.call("POST", "", {"title": "t"})).json()
        empty = await app.call("PATCH", f"/{task['id']}", {})
        assert empty.status_code == 400, empty.text
        assert empty.json()["detail"] == "At least one field must be provided."
        no_flag = await app.call("PUT", f"/{task['id']}", {"title": "x"})
        assert no_flag.status_code == 422, no_flag.text

        other = FrontEnd(client, "someone-else")
        other.token = app.token  # a token for user-errors used on another user's path
        assert (await other.call("GET", "")).status_code == 403

        expired = FrontEnd(client, "user-errors")
        expired.token = front_end_token("user-errors", lifetime=-3600)
        r = await expired.call("GET", "")
        assert r.status_code == 401, r.text  # "sign in again"
        assert r.json()["detail"] == "The token has expired."
