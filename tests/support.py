"""Helpers the tests share: tokens, and a client acting as one user."""

import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
from fastapi import FastAPI
from pydantic import BaseModel

TEST_SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789"


def make_token(sub: str, *, secret: str = TEST_SECRET, lifetime: int = 600, **claims: Any) -> str:
    now = int(time.time())
    payload: dict[str, Any] = {"sub": sub, "iat": now, "exp": now + lifetime, **claims}
    return jwt.encode(payload, secret, algorithm="HS256")


def example_body(schema: type[BaseModel]) -> dict[str, Any]:
    """A valid body for any resource, from the `examples` its schema publishes: every
    field that has one, so each required field must declare one."""
    document = schema.model_json_schema()
    body: dict[str, Any] = {}
    for name, prop in document["properties"].items():
        examples = [e for p in (prop, *prop.get("anyOf", ())) for e in p.get("examples", ())]
        if examples:
            body[name] = examples[0]
        else:
            assert name not in document.get("required", ()), (
                f"{schema.__name__}.{name} is required: give it `examples` so tests can fill it"
            )
    return body


@asynccontextmanager
async def serve(app: FastAPI, *, lifespan: bool = True) -> AsyncIterator[httpx.AsyncClient]:
    """A client for `app`; without `lifespan`, nothing runs at start-up (no migration)."""
    async with AsyncExitStack() as stack:
        if lifespan:
            await stack.enter_async_context(app.router.lifespan_context(app))
        transport = httpx.ASGITransport(app=app)
        yield await stack.enter_async_context(
            httpx.AsyncClient(transport=transport, base_url="http://testserver")
        )


@dataclass(frozen=True)
class User:
    """A client acting as `user_id`, with helpers for its own task URLs."""

    client: httpx.AsyncClient
    user_id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def url(self, plural: str = "tasks", item_id: str | None = None) -> str:
        base = f"/api/{self.user_id}/{plural}"
        return base if item_id is None else f"{base}/{item_id}"

    async def request(self, method: str, url: str, **kw: Any) -> httpx.Response:
        headers = {**self.headers, **kw.pop("headers", {})}
        return await self.client.request(method, url, headers=headers, **kw)

    async def create(self, plural: str = "tasks", **body: Any) -> dict[str, Any]:
        response = await self.request("POST", self.url(plural), json=body)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    async def items(self, plural: str = "tasks") -> list[dict[str, Any]]:
        """Everything this user has, straight from the API (to check what changed)."""
        response = await self.request("GET", self.url(plural), params={"limit": 100})
        assert response.status_code == 200, response.text
        page: dict[str, Any] = response.json()
        assert page["count"] <= 100, "items() reads one page; keep test data small"
        items: list[dict[str, Any]] = page[plural]
        return items


async def list_page(user: User, **params: Any) -> dict[str, Any]:
    """One page of the user's tasks with these query parameters (asserting 200)."""
    r = await user.request("GET", user.url(), params=params)
    assert r.status_code == 200, r.text
    page: dict[str, Any] = r.json()
    return page


async def titles(user: User, **params: Any) -> list[str]:
    return [t["title"] for t in (await list_page(user, **params))["tasks"]]
