"""Retry-safe creates: the first response per (user, Idempotency-Key) is kept for 24 h and
replayed for retries; the same key with a different request is refused."""

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Table, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from api.errors import Conflict, ValidationFailed
from schemas.idempotency import IdempotencyKey

KEEP_FOR = timedelta(hours=24)
KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"
_table: Table = IdempotencyKey.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status_code: int
    body: bytes
    location: str | None


def fingerprint(path: str, payload: dict[str, Any]) -> str:
    """Same path and same validated body → same fingerprint, whatever the JSON spacing."""
    canonical = orjson.dumps({"path": path, "body": payload}, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()


async def claim(
    conn: AsyncConnection, owner: str, key: str, path: str, digest: str, now: datetime
) -> StoredResponse | None:
    """Reserve the key inside the caller's transaction. None: it is ours, go ahead and
    create. Otherwise the earlier response to replay.

    A concurrent request with the same key waits on the row (PostgreSQL) or the write
    lock (SQLite) until the first commits, then replays its response.
    """
    await conn.execute(
        delete(_table).where(_table.c.user_id == owner, _table.c.created_at < now - KEEP_FOR)
    )
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    claimed = await conn.execute(
        insert(_table)
        .values(user_id=owner, key=key, path=path, request_hash=digest, created_at=now)
        .on_conflict_do_nothing()
        .returning(_table.c.key)
    )
    if claimed.first() is not None:
        return None
    row = (
        await conn.execute(
            select(
                _table.c.request_hash,
                _table.c.status_code,
                _table.c.response_body,
                _table.c.location,
            ).where(_table.c.user_id == owner, _table.c.key == key)
        )
    ).one()
    if row.request_hash != digest:
        # 422, as the IETF Idempotency-Key draft specifies for a key reused with another body.
        raise ValidationFailed("This Idempotency-Key was used with a different request.")
    if row.status_code is None:
        raise Conflict("A request with this Idempotency-Key is still in progress.")
    return StoredResponse(row.status_code, row.response_body.encode(), row.location)


async def remember(conn: AsyncConnection, owner: str, key: str, response: StoredResponse) -> None:
    await conn.execute(
        update(_table)
        .where(_table.c.user_id == owner, _table.c.key == key)
        .values(
            status_code=response.status_code,
            response_body=response.body.decode(),
            location=response.location,
        )
    )
