"""Seeds a dedicated benchmark database: N users x 100 tasks plus one user with 10,000."""

import argparse
import os
import random
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
ADMIN_URL = os.environ.get("BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
DEFAULT_ROWS = 100_000
TASKS_PER_USER = 100
HEAVY_USER = "user-heavy"
HEAVY_TASKS = 10_000
# v2: priority, due_date, tags, project_id (migration 0005); v3: tags_folded (0006)
SEED_VERSION = "todo-bench v3"
COLUMNS = (  # in the order of the API's task responses (schemas/task.py TaskResponse)
    "id",
    "user_id",
    "title",
    "description",
    "completed",
    "completed_at",
    "priority",
    "due_date",
    "tags",
    "project_id",
    "created_at",
    "updated_at",
    "version",
)
PRIORITIES = ("low", "medium", "high")
PRIORITY_WEIGHTS = (25, 55, 20)
# Tags, most used first: a task has 0 to 3 of them, drawn by these weights, so `work` is
# on about a third of the tasks (the tag-filter check lists `?tag=work`).
TAGS = (
    *("work", "home", "errands", "shopping", "health"),
    *("finance", "family", "reading", "travel", "someday"),
)
TAG_WEIGHTS = (30, 20, 12, 10, 8, 6, 5, 4, 3, 2)
COMMON_TAG = TAGS[0]
DUE_SHARE = 0.3  # tasks with a due date
_YEAR_US = 365 * 24 * 3600 * 1_000_000
_HOUR_US = 3600 * 1_000_000
NULL = "\\N"  # COPY's text format


@dataclass(frozen=True)
class Dataset:
    """A seeded database: where it is, who is in it, and when it was seeded."""

    dsn: str
    rows: int  # regular users' rows; the heavy user's come on top
    seeded_at: datetime

    @property
    def total(self) -> int:
        return self.rows + HEAVY_TASKS


def user_name(n: int) -> str:
    return f"user-{n:05d}"


def database_name(rows: int) -> str:
    return "todo_bench" if rows == DEFAULT_ROWS else f"todo_bench_{rows}"


def dsn_for(database: str) -> str:
    base, _, _ = ADMIN_URL.rpartition("/")
    return f"{base}/{database}"


def _marker(rows: int) -> str:
    return f"{SEED_VERSION} rows={rows} heavy={HEAVY_TASKS} at="


def _seeded_at(comment: str | None, rows: int) -> datetime | None:
    """The seed time recorded with the data (rows created later came from a run)."""
    if not comment or not comment.startswith(_marker(rows)):
        return None
    return datetime.fromisoformat(comment.removeprefix(_marker(rows)))


def _comment_or_create(admin: psycopg.Connection, database: str) -> str | None:
    """The database's comment (the seed marker); a missing database is created empty."""
    row = admin.execute(
        "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
        (database,),
    ).fetchone()
    if row is None:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
        return None
    return str(row[0]) if row[0] else None


def migrate(dsn: str) -> None:
    """`alembic upgrade head` from the repository root, as production runs it."""
    env = {**os.environ, "DATABASE_URL": dsn}
    alembic = Path(sys.executable).parent / "alembic"
    subprocess.run([str(alembic), "upgrade", "head"], cwd=ROOT, env=env, check=True)


def _uuid7(unix_us: int, rng: random.Random) -> str:
    value = (unix_us // 1000) << 80 | rng.getrandbits(80)
    value = value & ~(0xF << 76) | 0x7 << 76
    value = value & ~(0x3 << 62) | 0x2 << 62
    return str(uuid.UUID(int=value))


def _timestamp(unix_us: int) -> str:
    return datetime.fromtimestamp(unix_us / 1_000_000, UTC).isoformat()


def _tags(rng: random.Random) -> list[str]:
    """0 to 3 distinct tags, the common ones more often."""
    picked: list[str] = []
    for tag in rng.choices(TAGS, TAG_WEIGHTS, k=rng.randint(0, 3)):
        if tag not in picked:
            picked.append(tag)
    return picked


def _kinds(rng: random.Random, created: int) -> tuple[str, str, str, str]:
    """priority, due_date, tags, project_id in COPY's text format: a due date (on the hour,
    1 to 30 days after creation) on 30% of the tasks, no project."""
    priority = rng.choices(PRIORITIES, PRIORITY_WEIGHTS)[0]
    due = NULL
    if rng.random() < DUE_SHARE:
        due = _timestamp((created // _HOUR_US + rng.randint(24, 720)) * _HOUR_US)
    return priority, due, "{" + ",".join(_tags(rng)) + "}", NULL


def _lines(rows: int, end_us: int, seed: int = 42) -> list[str]:
    """Tasks in creation order with owners interleaved, as a real table fills: one
    person's tasks end up scattered over the heap, not packed together."""
    rng = random.Random(seed)
    owners = [u for n in range(rows // TASKS_PER_USER) for u in [user_name(n)] * TASKS_PER_USER]
    owners += [HEAVY_USER] * HEAVY_TASKS
    rng.shuffle(owners)
    step = _YEAR_US // len(owners)
    start = end_us - step * len(owners)
    lines = []
    for i, owner in enumerate(owners):
        created = start + i * step
        done = rng.random() < 0.3
        finished = _timestamp(created + 86_400_000_000) if done else None
        description = f"Notes for task {i}: remember the details." if i % 2 else NULL
        created_text = _timestamp(created)
        kinds = _kinds(rng, created)
        fields = (
            _uuid7(created, rng),
            owner,
            f"Task {i}",
            description,
            "t" if done else "f",
            finished or NULL,
            *kinds,
            created_text,
            finished or created_text,
            "1",
            kinds[2].lower(),  # tags_folded: the tags lower-cased, as the API writes them
        )
        lines.append("\t".join(fields) + "\n")
    return lines


def _load(dsn: str, rows: int, seeded_at: datetime) -> None:
    lines = _lines(rows, int(seeded_at.timestamp() * 1_000_000))
    columns = sql.SQL(", ").join(map(sql.Identifier, (*COLUMNS, "tags_folded")))
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("TRUNCATE task")
        with conn.cursor() as cur:
            copy_sql = sql.SQL("COPY task ({}) FROM STDIN").format(columns)
            with cur.copy(copy_sql) as copy:
                for chunk in range(0, len(lines), 50_000):
                    copy.write("".join(lines[chunk : chunk + 50_000]))
        conn.execute("VACUUM (ANALYZE) task")


def reset(dataset: Dataset) -> int:
    """Remove rows the benchmark created, so every server sees the same table."""
    with psycopg.connect(dataset.dsn, autocommit=True) as conn:
        removed = conn.execute(
            "DELETE FROM task WHERE created_at > %s", (dataset.seeded_at,)
        ).rowcount
        if removed:
            conn.execute("VACUUM (ANALYZE) task")
    return removed


def ensure(rows: int = DEFAULT_ROWS, *, reseed: bool = False) -> Dataset:
    """The database for `rows`, seeded now unless an earlier run left it intact."""
    database = database_name(rows)
    dsn = dsn_for(database)
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        previous = _seeded_at(_comment_or_create(admin, database), rows)
    migrate(dsn)
    if previous is not None and not reseed:
        dataset = Dataset(dsn, rows, previous)
        reset(dataset)
        return dataset
    started = time.perf_counter()
    now = datetime.now(UTC).replace(microsecond=0)
    _load(dsn, rows, now)
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(
            sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                sql.Identifier(database), sql.Literal(_marker(rows) + now.isoformat())
            )
        )
    print(f"seeded {database}: {rows + HEAVY_TASKS:,} rows in {time.perf_counter() - started:.1f}s")
    return Dataset(dsn, rows, now)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS, help="regular users' rows")
    parser.add_argument("--reseed", action="store_true", help="reload even if already seeded")
    args = parser.parse_args()
    dataset = ensure(args.rows, reseed=args.reseed)
    print(f"{dataset.dsn}: {dataset.total:,} rows, seeded at {dataset.seeded_at.isoformat()}")


if __name__ == "__main__":
    main()
