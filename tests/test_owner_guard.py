"""The public seam for hand-written endpoints: `OwnerGuardedRoute` and `CurrentOwner` give
a custom action the generated routes' order of checks and their problem bodies."""

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from pydantic import BaseModel, ConfigDict

from api.crud import CurrentOwner, OwnerGuardedRoute
from api.errors import NotFound
from api.main import create_app
from api.settings import Settings
from tests.support import User, make_token, serve


class Greeting(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    text: str


def _app(settings: Settings) -> FastAPI:
    app = create_app(settings)
    router = APIRouter(route_class=OwnerGuardedRoute)

    @router.post("/api/{user_id}/greetings", status_code=201)
    async def greet(user_id: str, owner: CurrentOwner, greeting: Greeting) -> dict[str, str]:
        if greeting.text == "missing":
            raise NotFound("No such greeting.")
        return {"owner": owner, "text": greeting.text}

    app.include_router(router)
    return app


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with serve(_app(settings)) as client:
        yield client


async def test_hand_written_endpoint_checks_in_the_generated_order(
    client: httpx.AsyncClient,
) -> None:
    alice = User(client, "alice", make_token("alice"))
    url = "/api/alice/greetings"
    json = {"content-type": "application/json"}
    no_token = await client.post(url, content=b"{not json", headers=json)
    assert (no_token.status_code, no_token.json()["code"]) == (401, "AUTH_MISSING")
    assert no_token.headers["www-authenticate"].startswith("Bearer")
    foreign = await alice.request("POST", "/api/bob/greetings", content=b"{", headers=json)
    assert (foreign.status_code, foreign.json()["code"]) == (403, "AUTH_FORBIDDEN")
    not_json = await alice.request("POST", url, content=b"text=hi")
    assert (not_json.status_code, not_json.json()["code"]) == (415, "UNSUPPORTED_MEDIA_TYPE")
    broken = await alice.request("POST", url, content=b"{", headers=json)
    assert (broken.status_code, broken.json()["code"]) == (400, "VALIDATION_ERROR")
    invalid = await alice.request("POST", url, json={"text": 1})
    assert (invalid.status_code, invalid.json()["code"]) == (422, "VALIDATION_ERROR")
    missing = await alice.request("POST", url, json={"text": "missing"})
    assert (missing.status_code, missing.json()["detail"]) == (404, "No such greeting.")
    ok = await alice.request("POST", url, json={"text": "hi"})
    assert ok.status_code == 201, ok.text
    assert ok.json() == {"owner": "alice", "text": "hi"}
