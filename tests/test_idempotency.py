"""Retry-safe creates with Idempotency-Key: replayed, never duplicated, scoped per user."""

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import create_async_engine

from api.db import normalize_url
from schemas.idempotency import IdempotencyKey
from schemas.types import utc_now
from tests.support import User


async def _count(user: User) -> int:
    r = await user.request("GET", user.url())
    assert r.status_code == 200, r.text
    count: int = r.json()["count"]
    return count


async def test_replay_returns_the_same_201_without_a_second_task(alice: User) -> None:
    headers = {"Idempotency-Key": "order-42"}
    first = await alice.request("POST", alice.url(), json={"title": "once"}, headers=headers)
    assert first.status_code == 201, first.text
    again = await alice.request("POST", alice.url(), json={"title": "once"}, headers=headers)
    assert again.status_code == 201, again.text
    assert again.content == first.content
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["etag"] == first.headers["etag"]
    assert again.headers["idempotency-replayed"] == "true"
    assert await _count(alice) == 1


async def test_same_key_with_a_different_body_is_422(alice: User) -> None:
    headers = {"Idempotency-Key": "k1"}
    await alice.request("POST", alice.url(), json={"title": "a"}, headers=headers)
    r = await alice.request("POST", alice.url(), json={"title": "b"}, headers=headers)
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "VALIDATION_ERROR"
    assert await _count(alice) == 1


async def test_keys_are_scoped_per_user(alice: User, bob: User) -> None:
    headers = {"Idempotency-Key": "shared-key"}
    a = await alice.request("POST", alice.url(), json={"title": "a"}, headers=headers)
    b = await bob.request("POST", bob.url(), json={"title": "a"}, headers=headers)
    assert a.status_code == b.status_code == 201
    assert a.json()["id"] != b.json()["id"]
    assert b.json()["user_id"] == "bob"


async def test_concurrent_duplicates_create_one_task(alice: User) -> None:
    headers = {"Idempotency-Key": "burst"}
    responses = await asyncio.gather(
        *(
            alice.request("POST", alice.url(), json={"title": "x"}, headers=headers)
            for _ in range(6)
        )
    )
    assert {r.status_code for r in responses} == {201}, [r.text for r in responses]
    assert len({r.json()["id"] for r in responses}) == 1
    assert await _count(alice) == 1


@pytest.mark.parametrize("key", ["", "has space", "x" * 256, "é"])
async def test_malformed_keys_are_422(alice: User, key: str) -> None:
    r = await alice.request(
        "POST", alice.url(), json={"title": "a"}, headers={"Idempotency-Key": key.encode()}
    )
    assert r.status_code == 422, r.text
    assert await _count(alice) == 0


async def test_keys_expire_after_24_hours(alice: User, database_url: str) -> None:
    headers = {"Idempotency-Key": "old"}
    first = await alice.request("POST", alice.url(), json={"title": "a"}, headers=headers)
    engine = create_async_engine(normalize_url(database_url))
    table = IdempotencyKey.__table__  # type: ignore[attr-defined]
    async with engine.begin() as conn:
        await conn.execute(update(table).values(created_at=utc_now() - timedelta(hours=25)))
    await engine.dispose()
    again = await alice.request("POST", alice.url(), json={"title": "a"}, headers=headers)
    assert again.status_code == 201, again.text
    assert again.json()["id"] != first.json()["id"]
    assert await _count(alice) == 2
