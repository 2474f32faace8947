"""Keyset pagination cursors: where the last page ended, as an opaque URL-safe string.

A cursor holds the sort it was made for, the last item's sort key and its id; the next
page starts right after that pair, so page 500 costs what page 1 costs. A cursor made
for another sort, or not made here at all, is a 422, never a database error.
"""

import base64
import binascii
import uuid
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Boolean, DateTime, Float, Integer, Table

from api.crud.expressions import storage_type
from api.errors import FieldError, ValidationFailed
from schemas.types import described

MAX_LENGTH = 1024
PATTERN = described(r"^[A-Za-z0-9_-]+$", "Must be a `next_cursor` from an earlier page.")
_WHERE = ["query", "cursor"]


class Cursors:
    def __init__(self, table: Table) -> None:
        self._table = table

    def encode(self, sort: str, key: Any, item_id: uuid.UUID) -> str:
        value = key.isoformat() if isinstance(key, datetime) else key
        raw = orjson.dumps([sort, value, str(item_id)])
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    def decode(self, cursor: str, sort: str) -> tuple[Any, uuid.UUID]:
        """The (key, id) to continue after, for a page sorted by `sort`."""
        try:
            made_for, value, item_id = orjson.loads(
                base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            )
            if made_for != sort:
                raise _invalid("This cursor belongs to a list in another order.")
            return self._key(sort, value), uuid.UUID(item_id)
        except (ValueError, TypeError, AttributeError, binascii.Error):
            raise _invalid("Not a cursor from this list; start again without one.") from None

    def _key(self, sort: str, value: Any) -> Any:
        column = self._table.c[sort.removeprefix("-")]
        column_type = storage_type(column)
        if value is None and column.nullable:
            return None  # nullable sorts put these last; the page continues among them
        enums = getattr(column_type, "enums", None)
        if enums and value not in enums:
            raise ValueError("not one of the values")
        if isinstance(column_type, DateTime):
            key = datetime.fromisoformat(value)
            if key.tzinfo is None:
                raise ValueError("a naive timestamp")
            return key
        if isinstance(column_type, Boolean):
            expected: type | tuple[type, ...] = bool
        elif isinstance(column_type, Integer):
            expected = int
        elif isinstance(column_type, Float):
            expected = (int, float)
        else:
            expected = str
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise TypeError(f"not a {expected}")
        return value


def _invalid(message: str) -> ValidationFailed:
    return ValidationFailed(message, errors=[FieldError(loc=_WHERE, msg=message)])
