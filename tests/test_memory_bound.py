"""What callers choose (which fields a PATCH sends, how many tags its If-Match lists) cannot
grow a worker's memory without bound: RSS of a real server process on PostgreSQL."""

import asyncio
import itertools
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from schemas.task import TaskPatch
from tests.server_process import ServerProcess
from tests.support import User, make_token

GROWTH_LIMIT_MIB = 15.0
WARM_UP = 600  # first-use allocations (imports, pools, caches filling) are not growth
MEASURED = 2400
WORKERS = 8  # each patches its own task, so versions are known without reading back
IF_MATCH_MAX = 1000  # the header's documented maximum length
# A value for each patchable field this test knows; fields added later join the shapes.
VALUES: dict[str, tuple[Any, ...]] = {
    "title": ("a title", "another title"),
    "description": ("some words", None),
    "completed": (True, False),
    "priority": ("low", "high"),
    "tags": (["home"], ["work", "urgent"]),
    "due_date": (None, None),  # the field set makes the shape, not the value
}
FIELDS = [name for name in VALUES if name in TaskPatch.model_fields]
SHAPES = [
    subset for size in range(1, len(FIELDS) + 1) for subset in itertools.combinations(FIELDS, size)
]


@pytest.fixture(scope="module")
def server(pg_template: str) -> Iterator[ServerProcess]:
    with ServerProcess(pg_template, {"DB_POOL_SIZE": str(WORKERS)}) as process:
        yield process


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def request_shape(n: int, tags_from: int) -> tuple[dict[str, Any], int]:
    """The n-th PATCH: a field set, values, and how many tags its If-Match lists (each
    count from `tags_from` up is a shape the server has not seen before)."""
    fields = SHAPES[n % len(SHAPES)]
    body = {name: VALUES[name][(n // len(SHAPES)) % 2] for name in fields}
    return body, tags_from + n // (2 * len(SHAPES))


async def patch_many(user: User, first: int, count: int, tags_from: int) -> None:
    async def worker(start: int) -> None:
        task = await user.create(title="patched")
        version: int = task["version"]
        for n in range(start, first + count, WORKERS):
            body, tags = request_shape(n, tags_from)
            # The current version after tags of none (versions start at 1): 200.
            if_match = ",".join(['"0"'] * (tags - 1) + [f'"{version}"'])
            assert len(if_match) <= IF_MATCH_MAX, "more tags than the header may carry"
            r = await user.request(
                "PATCH", user.url(item_id=task["id"]), json=body, headers={"If-Match": if_match}
            )
            assert r.status_code == 200, r.text
            version = r.json()["version"]

    await asyncio.gather(*(worker(first + w) for w in range(WORKERS)))


async def test_distinct_patch_shapes_do_not_grow_a_worker(server: ServerProcess) -> None:
    async with server.client(timeout=30) as http:
        name = f"u{uuid.uuid4().hex[:12]}"
        user = User(http, name, make_token(name))
        await patch_many(user, 0, WARM_UP, tags_from=1)
        before = rss_mib(server.process.pid)
        # Counts the warm-up never sent: in a cache keyed by shape, each is a new entry.
        seen = 1 + WARM_UP // (2 * len(SHAPES)) + 1
        await patch_many(user, 0, MEASURED, tags_from=seen)
        after = rss_mib(server.process.pid)
    shapes = len(SHAPES) * 2 * (MEASURED // (2 * len(SHAPES)) + 1)
    print(
        f"\n[{MEASURED} PATCHes, ~{shapes} request shapes after {WARM_UP} to warm up] "
        f"RSS {before:.1f} -> {after:.1f} MiB (+{after - before:.1f})"
    )
    assert after - before < GROWTH_LIMIT_MIB, (
        f"a worker grew by {after - before:.1f} MiB over {MEASURED} PATCHes"
    )
