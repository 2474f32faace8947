"""Retry-safe creates: the first response per (user, Idempotency-Key) is kept for 24 h and
replayed for retries; the same key with a different request is refused."""

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Table, bindparam, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from api.crud.store import Session, Statement
from api.errors import Conflict, ValidationFailed
from schemas.idempotency import IdempotencyKey
from schemas.types import UTCDateTime, described

KEEP_FOR = timedelta(hours=24)
KEY_PATTERN = described(
    r"^[\x21-\x7e]{1,255}$", "Must be 1 to 255 visible ASCII characters, without spaces."
)
_table: Table = IdempotencyKey.__table__  # type: ignore[attr-defined]
_ours = (_table.c.user_id == bindparam("k_owner")) & (_table.c.key == bindparam("k_key"))
_claim_values = {
    "user_id": bindparam("k_owner"),
    "key": bindparam("k_key"),
    "path": bindparam("path"),
    "request_hash": bindparam("digest"),
    "created_at": bindparam("now", type_=UTCDateTime()),
}
_EXPIRE = Statement(
    delete(_table)
    .where(_table.c.user_id == bindparam("k_owner"))
    .where(_table.c.created_at < bindparam("expired", type_=UTCDateTime()))
    .returning(_table.c.key)
)
_CLAIM = Statement(
    sqlite_insert(_table).values(_claim_values).on_conflict_do_nothing().returning(_table.c.key),
    postgres=pg_insert(_table)
    .values(_claim_values)
    .on_conflict_do_nothing()
    .returning(_table.c.key),
)
_EARLIER = Statement(
    select(
        _table.c.request_hash, _table.c.status_code, _table.c.response_body, _table.c.location
    ).where(_ours)
)
_REMEMBER = Statement(
    update(_table)
    .where(_ours)
    .values(
        status_code=bindparam("status"),
        response_body=bindparam("body"),
        location=bindparam("location"),
    )
    .returning(_table.c.key)
)


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
    session: Session, owner: str, key: str, path: str, digest: str, now: datetime
) -> StoredResponse | None:
    """Reserve the key inside the caller's transaction. None: it is ours, go ahead and
    create. Otherwise the earlier response to replay.

    A concurrent request with the same key waits on the row (PostgreSQL) or the write
    lock (SQLite) until the first commits, then replays its response.
    """
    await session.rows(_EXPIRE, {"k_owner": owner, "expired": now - KEEP_FOR})
    claim_args = {"k_owner": owner, "k_key": key, "path": path, "digest": digest, "now": now}
    if await session.rows(_CLAIM, claim_args):
        return None
    request_hash, status_code, body, location = (
        await session.rows(_EARLIER, {"k_owner": owner, "k_key": key})
    )[0]
    if request_hash != digest:
        # 422, as the IETF Idempotency-Key draft specifies for a key reused with another body.
        raise ValidationFailed("This Idempotency-Key was used with a different request.")
    if status_code is None:
        raise Conflict("A request with this Idempotency-Key is still in progress.")
    return StoredResponse(status_code, body.encode(), location)


async def remember(session: Session, owner: str, key: str, response: StoredResponse) -> None:
    args = {
        "k_owner": owner,
        "k_key": key,
        "status": response.status_code,
        "body": response.body.decode(),
        "location": response.location,
    }
    await session.rows(_REMEMBER, args)
