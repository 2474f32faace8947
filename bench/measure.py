"""One measurement: a wrk run against a server, with the CPU it and PostgreSQL spent."""

from dataclasses import dataclass
from pathlib import Path

import psycopg

from bench import wrkrun
from bench.servers import Server, cpu_seconds


@dataclass(frozen=True)
class Timing:
    warmup: float
    seconds: float  # at 32 connections
    seconds_one: float  # at 1 connection
    rounds: int  # the best of this many runs counts (other load only ever slows a run)


@dataclass(frozen=True)
class Measure:
    load: wrkrun.Load
    cpu_ms: float  # server CPU per request
    db_cpu_ms: float  # PostgreSQL backends' CPU per request

    @property
    def rps(self) -> float:
        return self.load.rps


def _backends(dsn: str | None) -> list[int]:
    if dsn is None:
        return []
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    return [pid for (pid,) in rows]


def once(
    server: Server,
    dsn: str | None,
    script: str | None,
    data: Path | None,
    connections: int,
    s: float,
    query: str = "",
) -> Measure:
    backends = _backends(dsn)
    db_before = sum(map(cpu_seconds, backends))
    before = server.cpu_seconds()
    load = wrkrun.run(
        server.url, script=script, data=data, connections=connections, seconds=s, query=query
    )
    spent = server.cpu_seconds() - before
    db_spent = sum(map(cpu_seconds, backends)) - db_before
    if load.errors:
        raise RuntimeError(
            f"{server.name} {script}: {load.errors} of {load.requests} requests failed"
            f" (non-2xx in its log so far: {server.failed_statuses() or 'none'});"
            f" the server's log ends with:\n{server.tail(5)}"
        )
    count = max(load.requests, 1)
    return Measure(load, spent * 1000 / count, db_spent * 1000 / count)


def warm(
    server: Server, script: str | None, data: Path | None, seconds: float, query: str = ""
) -> None:
    """Fill the pool, prepare the statements, settle the allocator; not recorded."""
    if seconds > 0:
        wrkrun.run(
            server.url, script=script, data=data, connections=32, seconds=seconds, query=query
        )


def best(measures: list[Measure]) -> Measure:
    return max(measures, key=lambda m: m.rps)
