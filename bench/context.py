"""Where and how a run happened: machine, versions, load from elsewhere, timings."""

import os
import platform
import shlex
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from bench.measure import Timing
from bench.seed import ADMIN_URL

ROOT = Path(__file__).resolve().parent.parent


def _output(*argv: str) -> str:
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False)
    return (done.stdout or done.stderr).strip()


def _revision() -> str:
    commit = _output("git", "rev-parse", "--short", "HEAD") or "unknown"
    dirty = _output("git", "status", "--porcelain", "--", "api", "schemas", "migrations")
    return f"{commit} (with uncommitted changes in api/schemas/migrations)" if dirty else commit


def _postgres() -> str:
    with psycopg.connect(ADMIN_URL) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "?"


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def step(name: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {name}", flush=True)


def header(argv: list[str], timing: Timing, pool: int) -> list[str]:
    command = shlex.join(["python", "bench/run.py", *argv[1:]])
    wrk = _output("wrk", "--version").splitlines()[0].split(" Copyright")[0]
    return [
        f"## todo-api benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"- command: `{command}`; revision {_revision()}",
        f"- machine: {os.cpu_count()} cores, Python {platform.python_version()},"
        f" PostgreSQL {_postgres()}, {wrk}",
        f"- each number is the best of {timing.rounds} run(s) of {timing.seconds:g}s at 32"
        f" connections or {timing.seconds_one:g}s at 1, after {timing.warmup:g}s of warm-up;"
        f" wrk -t1; {pool} database connections per server",
        f"- load average at the start (1, 5, 15 min): {_load()}",
    ]


def footer(started: float) -> list[str]:
    return [
        f"- load average at the end: {_load()}; took {time.monotonic() - started:.0f}s",
    ]
