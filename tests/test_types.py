"""Shared column and field types: time-ordered ids and UTC timestamps on both dialects."""

import time
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import TypeAdapter
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect

from schemas.types import UTCDateTime, UtcTimestamp, uuid7

DIALECTS = [
    pytest.param(sqlite.dialect(), id="sqlite"),
    pytest.param(postgresql.dialect(), id="postgresql"),  # type: ignore[no-untyped-call]
]


def test_uuid7_is_version_7_and_time_ordered() -> None:
    earlier = uuid7()
    time.sleep(0.002)
    later = [uuid7() for _ in range(100)]
    assert all(u.version == 7 and u.variant == uuid.RFC_4122 for u in [earlier, *later])
    assert all(earlier < u for u in later)
    assert len(set(later)) == len(later)
    assert abs((earlier.int >> 80) - time.time_ns() // 1_000_000) < 5_000


@pytest.mark.parametrize("dialect", DIALECTS)
def test_naive_datetimes_are_never_stored(dialect: Dialect) -> None:
    with pytest.raises(ValueError, match="naive"):
        UTCDateTime().process_bind_param(datetime(2030, 1, 1), dialect)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_timestamps_are_stored_and_read_back_as_utc(dialect: Dialect) -> None:
    column = UTCDateTime()
    paris = datetime(2030, 6, 1, 14, 30, tzinfo=timezone(timedelta(hours=2)))
    stored = column.process_bind_param(paris, dialect)
    assert stored is not None
    assert stored.replace(tzinfo=UTC) == paris
    loaded = column.process_result_value(stored, dialect)
    assert loaded == paris
    assert loaded is not None
    assert loaded.tzinfo == UTC
    assert column.process_bind_param(None, dialect) is None
    assert column.process_result_value(None, dialect) is None


def test_timestamps_render_rfc3339_with_z() -> None:
    adapter = TypeAdapter(UtcTimestamp)
    value = datetime(2030, 6, 1, 14, 30, 5, 7, tzinfo=timezone(timedelta(hours=2)))
    assert adapter.dump_json(value) == b'"2030-06-01T12:30:05.000007Z"'
