"""The benchmark's phases: ceiling, API against reference, table growth, several workers."""

import contextlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench import measure, parity, seed
from bench.measure import Measure, Timing
from bench.servers import Server, clean_env, memory_kib
from bench.workload import DataFiles

OPS = ("list", "get", "patch", "create")
TAG_QUERY = f"&tag={seed.COMMON_TAG}"  # the tag-filter check: a tag on a third of the tasks
TAG_VARIANTS = {"unfiltered": "", f"?tag={seed.COMMON_TAG}": TAG_QUERY}
CONNECTIONS = (32, 1)
CAP = 50_000  # MAX_ITEMS_PER_USER for both servers (the API's default)
# The limiter still counts every request (its cost is measured) but never refuses one:
# the scale checks send thousands of requests a minute as a single user.
RATE_LIMIT = 10_000_000
READY = "/api/ready/tasks"  # any answer (401) means the server is up
Grid = dict[str, dict[str, dict[int, Measure]]]  # op -> server -> connections -> measure


@dataclass(frozen=True)
class Context:
    timing: Timing
    pool: int  # database connections per server process
    secret: str
    workdir: Path


@dataclass
class Results:
    ceiling: dict[int, Measure] = field(default_factory=dict)
    grid: Grid = field(default_factory=dict)
    scale_users: dict[str, dict[str, Measure]] = field(default_factory=dict)  # server -> who
    scale_rows: dict[str, dict[int, Measure]] = field(default_factory=dict)  # server -> rows
    memory: dict[str, dict[str, int]] = field(default_factory=dict)  # process -> VmRSS/VmHWM
    workers: dict[str, dict[str, Measure]] = field(default_factory=dict)  # server -> op
    worker_rounds: dict[str, dict[str, list[Measure]]] = field(default_factory=dict)
    worker_memory: dict[str, list[dict[str, int]]] = field(default_factory=dict)  # server
    supervisor_memory: dict[str, dict[str, int]] = field(default_factory=dict)  # server
    worker_pool: int = 0  # database connections per worker
    worker_log_lines: dict[str, int] = field(default_factory=dict)  # server -> access log
    tag_filter: dict[str, Measure] = field(default_factory=dict)  # variant -> API list @1
    access_log_lines: int = 0
    parity: list[str] = field(default_factory=list)


def api_server(
    dsn: str, ctx: Context, *, workers: int = 1, pool: int = 0, server: str = "uvicorn"
) -> Server:
    """The API with every feature on; its JSON access log goes to the log file."""
    env = api_env(dsn, ctx.secret, pool or ctx.pool)
    name = "api" if workers == 1 else f"api-{server}"
    return Server(
        name, "api.main:app", env, ctx.workdir, workers=workers, ready_path=READY, server=server
    )


def api_env(dsn: str, secret: str, pool: int) -> dict[str, str]:
    return clean_env(
        ENV="production",
        DATABASE_URL=dsn,
        JWT_SECRET=secret,
        DB_POOL_SIZE=str(pool),
        MAX_ITEMS_PER_USER=str(CAP),
        RATE_LIMIT_PER_MINUTE=str(RATE_LIMIT),
        LOG_LEVEL="INFO",
    )


def reference_env(dsn: str, secret: str, pool: int) -> dict[str, str]:
    return clean_env(
        DATABASE_URL=dsn, JWT_SECRET=secret, DB_POOL_SIZE=str(pool), MAX_ITEMS_PER_USER=str(CAP)
    )


def reference_server(dsn: str, ctx: Context) -> Server:
    env = reference_env(dsn, ctx.secret, ctx.pool)
    app = "bench.reference:create_app"
    return Server("reference", app, env, ctx.workdir, factory=True, ready_path=READY)


def _seconds(timing: Timing, connections: int) -> float:
    return timing.seconds if connections > 1 else timing.seconds_one


def _all_rounds(
    servers: list[Server], run: Callable[[Server], Measure], rounds: int
) -> dict[str, list[Measure]]:
    """Alternate the servers round by round, so a burst of other load hits both alike;
    every other round in reverse order, so neither always runs first."""
    runs: dict[str, list[Measure]] = {s.name: [] for s in servers}
    for number in range(rounds):
        for server in servers if number % 2 == 0 else servers[::-1]:
            runs[server.name].append(run(server))
    return runs


def _rounds(
    servers: list[Server], run: Callable[[Server], Measure], rounds: int
) -> dict[str, Measure]:
    """The best round of each server."""
    runs = _all_rounds(servers, run, rounds)
    return {name: measure.best(measured) for name, measured in runs.items()}


def run_ceiling(results: Results, ctx: Context) -> None:
    with Server("ceiling", "bench.ceiling:app", clean_env(), ctx.workdir) as server:
        measure.warm(server, None, None, ctx.timing.warmup)
        for connections in CONNECTIONS:
            seconds = _seconds(ctx.timing, connections)
            run = _runner(None, None, None, connections, seconds)
            results.ceiling[connections] = _rounds([server], run, ctx.timing.rounds)[server.name]
        results.memory["ceiling"] = memory_kib(server.pid)


def _operation(
    results: Results,
    servers: list[Server],
    dataset: seed.Dataset,
    data: Path,
    op: str,
    ctx: Context,
) -> None:
    """One operation on both servers; creates are removed after every run so each run
    starts from the seeded table."""

    def settle() -> None:
        if op == "create":
            seed.reset(dataset)

    for server in servers:
        measure.warm(server, op, data, ctx.timing.warmup)
        settle()
    grid = results.grid.setdefault(op, {s.name: {} for s in servers})
    for connections in CONNECTIONS:
        seconds = _seconds(ctx.timing, connections)

        def run(server: Server, c: int = connections, t: float = seconds) -> Measure:
            measured = measure.once(server, dataset.dsn, op, data, c, t)
            settle()
            return measured

        for name, best in _rounds(servers, run, ctx.timing.rounds).items():
            grid[name][connections] = best


def _runner(
    dsn: str | None, script: str | None, data: Path | None, connections: int, seconds: float
) -> Callable[[Server], Measure]:
    def run(server: Server) -> Measure:
        return measure.once(server, dsn, script, data, connections, seconds)

    return run


def run_tag_filter(
    results: Results, api: Server, dataset: seed.Dataset, data: Path, ctx: Context
) -> None:
    """The API's list p50 at 1 connection for the user with 10,000 tasks, filtered by a
    common tag against unfiltered; the two alternate round by round (the reference has
    no filters)."""
    measure.warm(api, "list", data, ctx.timing.warmup, TAG_QUERY)
    runs: dict[str, list[Measure]] = {variant: [] for variant in TAG_VARIANTS}
    for number in range(max(ctx.timing.rounds, 2)):
        variants = list(TAG_VARIANTS.items())
        for variant, query in variants if number % 2 == 0 else variants[::-1]:
            runs[variant].append(
                measure.once(api, dataset.dsn, "list", data, 1, ctx.timing.seconds_one, query)
            )
    results.tag_filter = {variant: measure.best(measured) for variant, measured in runs.items()}


def run_comparison(
    results: Results,
    dataset: seed.Dataset,
    files: DataFiles,
    ctx: Context,
    ops: tuple[str, ...] = OPS,
    scale: bool = True,
) -> None:
    with api_server(dataset.dsn, ctx) as api, reference_server(dataset.dsn, ctx) as ref:
        servers = [api, ref]
        results.parity = parity.check(api.url, ref.url, files.everyone)
        for op in ops:
            _operation(results, servers, dataset, files.everyone, op, ctx)
        if scale:
            for who, data in (("100 tasks", files.light), ("10,000 tasks", files.heavy)):
                run = _runner(dataset.dsn, "list", data, 1, ctx.timing.seconds_one)
                for name, best in _rounds(servers, run, ctx.timing.rounds).items():
                    results.scale_users.setdefault(name, {})[who] = best
            run_tag_filter(results, api, dataset, files.heavy, ctx)
        for server in servers:
            if "list" in results.grid:
                rows = results.scale_rows.setdefault(server.name, {})
                rows[dataset.total] = results.grid["list"][server.name][1]
            results.memory[server.name] = memory_kib(server.pid)
        results.access_log_lines = api.log_lines()


def run_big_table(results: Results, dataset: seed.Dataset, files: DataFiles, ctx: Context) -> None:
    """List at 1 connection on the bigger table (regular users with 100 tasks each)."""
    with api_server(dataset.dsn, ctx) as api, reference_server(dataset.dsn, ctx) as ref:
        for server in (api, ref):
            measure.warm(server, "list", files.everyone, ctx.timing.warmup)
        run = _runner(dataset.dsn, "list", files.everyone, 1, ctx.timing.seconds_one)
        for name, best in _rounds([api, ref], run, ctx.timing.rounds).items():
            results.scale_rows.setdefault(name, {})[dataset.total] = best


def run_workers(
    results: Results,
    dataset: seed.Dataset,
    files: DataFiles,
    ctx: Context,
    workers: int,
    servers: tuple[str, ...] = ("uvicorn",),
) -> None:
    """Several API workers under each server, each worker's pool sized to its share of 32
    connections (as `make serve` runs them): throughput, and the memory of every worker.
    The servers run side by side and take turns round by round."""
    pool = results.worker_pool = math.ceil(32 / workers)
    with contextlib.ExitStack() as stack:
        apis = [
            stack.enter_context(api_server(dataset.dsn, ctx, workers=workers, pool=pool, server=s))
            for s in servers
        ]
        for op in ("list", "get"):
            for api in apis:
                measure.warm(api, op, files.everyone, ctx.timing.warmup)
            run = _runner(dataset.dsn, op, files.everyone, 32, ctx.timing.seconds)
            measured = _all_rounds(apis, run, ctx.timing.rounds)
            for api in apis:
                results.workers.setdefault(api.server, {})[op] = measure.best(measured[api.name])
                results.worker_rounds.setdefault(api.server, {})[op] = measured[api.name]
        for api in apis:
            results.worker_memory[api.server] = [memory_kib(pid) for pid in api.worker_pids()]
            results.supervisor_memory[api.server] = memory_kib(api.pid)
            results.worker_log_lines[api.server] = api.log_lines()
