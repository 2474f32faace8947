"""Throwaway tables the tests create and drop: prefixed, and checked against the real ones.

A test table once shared its name (`note`) with a real resource and its `drop_all` deleted
the real table. Every throwaway table is named `zz_test_...` and goes through `create` and
`drop` here, which refuse any table the application's metadata also has.
"""

from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncEngine

from api.resources import RESOURCES
from schemas.metadata import metadata as real_metadata

PREFIX = "zz_test_"


def assert_disjoint(throwaway: MetaData) -> None:
    """Every throwaway table is prefixed and none is (or is named as) a real table."""
    names = set(throwaway.tables)
    unprefixed = sorted(name for name in names if not name.startswith(PREFIX))
    assert not unprefixed, f"throwaway tables must be named {PREFIX}...: {unprefixed}"
    real = set(real_metadata.tables) | {r.sql_table.name for r in RESOURCES}
    clashing = sorted(names & real)
    assert not clashing, f"throwaway tables named as real ones: {clashing}"


async def create(engine: AsyncEngine, throwaway: MetaData) -> None:
    assert_disjoint(throwaway)
    async with engine.begin() as conn:
        await conn.run_sync(throwaway.create_all)


async def drop(engine: AsyncEngine, throwaway: MetaData) -> None:
    assert_disjoint(throwaway)  # checked again: a drop is where a clash destroys data
    async with engine.begin() as conn:
        await conn.run_sync(throwaway.drop_all)
