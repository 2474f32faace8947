"""The reference server's database side: a small async connection pool and its SQL."""

import asyncio
from typing import Any

import psycopg

from bench.seed import COLUMNS as COLUMNS  # the task columns (re-exported for the server)

# As the API: PostgreSQL renders timestamps as RFC 3339 text (six fraction digits, `Z`),
# under the columns' own names; so ORDER BY names `task.created_at`, the column (the bare
# name would sort by the text, which no index serves).
_STAMPS = frozenset({"completed_at", "due_date", "created_at", "updated_at"})
_FORMAT = """'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'"""
_SELECT = ", ".join(
    f"to_char({c} AT TIME ZONE 'UTC', {_FORMAT}) AS {c}" if c in _STAMPS else c for c in COLUMNS
)
WRITTEN = COLUMNS[:-1]  # what an insert sends; `version` starts at 1

# As the API: the total from `item_count` (kept by the count triggers), one row more than
# the page to know whether there is a next one.
_TOTAL = "coalesce((SELECT total FROM item_count WHERE resource = 'task' AND owner = %s), 0)"
LIST = f"""
    SELECT {_SELECT}, (SELECT {_TOTAL})
    FROM task WHERE user_id = %s
    ORDER BY task.created_at DESC, task.id DESC LIMIT %s OFFSET %s"""  # noqa: S608
COUNT = f"SELECT {_TOTAL}"
GET = f"SELECT {_SELECT} FROM task WHERE user_id = %s AND id = %s"  # noqa: S608
DELETE = "DELETE FROM task WHERE user_id = %s AND id = %s"
# As the API: the tags' lower-cased copy (what tag filters compare) is written with them,
# by PostgreSQL, from the same parameter.
_FOLDED = "todo_lower_array(%s::text[])"
_INTO = f"INSERT INTO task ({', '.join(WRITTEN)}, version, tags_folded)"
_VALUES = ", ".join(["%s"] * len(WRITTEN))
# The API refuses a create past `MAX_ITEMS_PER_USER`, in the same statement; so does this.
# Parameters: the WRITTEN values, the tags again, then (capped) the owner and the cap.
INSERT_CAPPED = f"{_INTO} SELECT {_VALUES}, 1, {_FOLDED} WHERE (SELECT {_TOTAL}) < %s"
INSERT = f"{_INTO} VALUES ({_VALUES}, 1, {_FOLDED})"

_updates: dict[tuple[str, ...], str] = {}


def update_sql(fields: tuple[str, ...]) -> str:
    """UPDATE for the fields a request sets (`completed_at` follows `completed`)."""
    statement = _updates.get(fields)
    if statement is None:
        sets = [f"{name} = %({name})s" for name in fields]
        if "tags" in fields:
            sets.append("tags_folded = todo_lower_array(%(tags)s::text[])")
        if "completed" in fields:
            sets.append(
                "completed_at = CASE WHEN %(completed)s THEN coalesce(completed_at, %(now)s) END"
            )
        sets.append("updated_at = %(now)s, version = version + 1")
        # Names come from the fixed set of writable columns, never from the request.
        where = "user_id = %(owner)s AND id = %(id)s"
        statement = f"UPDATE task SET {', '.join(sets)} WHERE {where} RETURNING {_SELECT}"  # noqa: S608
        _updates[fields] = statement
    return statement


class Pool:
    """A fixed set of autocommit connections handed out in turn: one statement each."""

    def __init__(self, conninfo: str, size: int) -> None:
        self._conninfo = conninfo
        self._size = size
        self._idle: asyncio.Queue[psycopg.AsyncConnection[Any]] = asyncio.Queue()

    async def open(self) -> None:
        for _ in range(self._size):
            conn = await psycopg.AsyncConnection.connect(
                self._conninfo, autocommit=True, options="-c TimeZone=UTC"
            )
            self._idle.put_nowait(conn)

    async def close(self) -> None:
        while not self._idle.empty():
            await self._idle.get_nowait().close()

    async def rows(self, query: str, params: Any) -> list[tuple[Any, ...]]:
        conn = await self._idle.get()
        try:
            cursor = await conn.execute(query, params)
            return await cursor.fetchall()
        finally:
            self._idle.put_nowait(conn)

    async def rowcount(self, query: str, params: Any) -> int:
        conn = await self._idle.get()
        try:
            cursor = await conn.execute(query, params)
            return cursor.rowcount
        finally:
            self._idle.put_nowait(conn)
