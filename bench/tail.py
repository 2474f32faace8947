"""Where the tail latency goes: one server under wrk (32 connections, one operation) while
PostgreSQL's wait events and ungranted locks are sampled every 20 ms and every garbage
collection of the server is timed (`bench/gcserve.py`). Not part of `make bench`.

    .venv/bin/python bench/tail.py [--ops create,patch] [--servers api,reference]
                                   [--freeze off,on] [--seconds 10] [--rounds 2] [--pool 10]

`--freeze on` runs the server with `gc.freeze()` after importing the app (a prototype of
freezing the start-up heap; the API does not do it). Runs alternate server and variant
round by round; each prints one markdown row.
"""

import argparse
import collections
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # `python bench/tail.py` from anywhere

import psycopg  # noqa: E402

from bench import phases, seed, workload, wrkrun  # noqa: E402
from bench.servers import cpu_seconds, free_port  # noqa: E402

_ACTIVITY = """SELECT state, coalesce(wait_event_type || ':' || wait_event, 'CPU')
    FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()
    AND backend_type = 'client backend'"""
_LOCK_WAITS = "SELECT mode, locktype FROM pg_locks WHERE NOT granted"


@dataclass
class Sampled:
    samples: int = 0
    states: collections.Counter[str] = field(default_factory=collections.Counter)
    locks: collections.Counter[str] = field(default_factory=collections.Counter)


def _sample(dsn: str, stop: threading.Event, into: Sampled) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        while not stop.is_set():
            into.samples += 1
            for state, wait in conn.execute(_ACTIVITY).fetchall():
                into.states["idle (waiting for the server)" if state == "idle" else wait] += 1
            for mode, kind in conn.execute(_LOCK_WAITS).fetchall():
                into.locks[f"{mode} on {kind}"] += 1
            time.sleep(0.02)


def _start(
    which: str, dsn: str, secret: str, pool: int, freeze: bool, work: Path
) -> tuple[subprocess.Popen[bytes], str, Path]:
    port, pauses = free_port(), work / f"{which}-{int(freeze)}-gc.tsv"
    if which == "api":
        env, app, extra = phases.api_env(dsn, secret, pool), "api.main:app", []
    else:
        env = phases.reference_env(dsn, secret, pool)
        app, extra = "bench.reference:create_app", ["--factory"]
    argv = [sys.executable, str(ROOT / "bench" / "gcserve.py"), app, str(port), str(pauses)]
    argv += extra + (["--freeze"] if freeze else [])
    with (work / f"{which}.log").open("ab") as log:
        process = subprocess.Popen(argv, cwd=work, env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url + phases.READY, timeout=2)  # noqa: S310 (127.0.0.1)
        except urllib.error.HTTPError:
            return process, url, pauses  # any answer: it is serving
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{which} did not start; see {work}/{which}.log")


def run_once(
    which: str, op: str, freeze: bool, args: argparse.Namespace, dataset: seed.Dataset, data: Path
) -> str:
    work = data.parent
    process, url, pauses_file = _start(which, dataset.dsn, args.secret, args.pool, freeze, work)
    try:
        wrkrun.run(url, script=op, data=data, connections=32, seconds=2)  # warm-up
        if op == "create":
            seed.reset(dataset)
        sampled, stop = Sampled(), threading.Event()
        sampler = threading.Thread(target=_sample, args=(dataset.dsn, stop, sampled))
        sampler.start()
        cpu, began = cpu_seconds(process.pid), time.monotonic()
        load = wrkrun.run(url, script=op, data=data, connections=32, seconds=args.seconds)
        ended, cpu = time.monotonic(), cpu_seconds(process.pid) - cpu
        stop.set()
        sampler.join()
        process.send_signal(signal.SIGUSR1)
        time.sleep(0.5)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        if op == "create":
            seed.reset(dataset)
    pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
    for line in pauses_file.read_text().splitlines():
        at, generation, ms = line.split("\t")
        if began <= float(at) <= ended:
            pauses[int(generation)].append(float(ms))
    requests = max(load.requests, 1)
    full = pauses[2]
    total = sum(sampled.states.values()) or 1
    waits = ", ".join(f"{name} {100 * n / total:.0f}%" for name, n in sampled.states.most_common(4))
    locks = sum(sampled.locks.values())
    return (
        f"| {op} | {which} | {'on' if freeze else 'off'} | {load.rps:,.0f} | {load.p50_ms:.1f} /"
        f" {load.p99_ms:.1f} | {1000 * cpu / requests:.2f} | {1000 * len(pauses[0]) / requests:.0f}"
        f" | {len(full)} x {max(full, default=0):.0f} | {waits} | {locks} |"
        f" {os.getloadavg()[0]:.1f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ops", default="create,patch")
    parser.add_argument("--servers", default="api,reference")
    parser.add_argument("--freeze", default="off,on")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--pool", type=int, default=10)
    args = parser.parse_args()
    args.secret = workload.new_secret()
    wrkrun.ensure_wrk()
    dataset = seed.ensure()
    variants = [
        (which, freeze == "on")
        for which in args.servers.split(",")
        for freeze in args.freeze.split(",")
    ]
    print(
        "| op @32 | server | gc.freeze | req/s | p50 / p99 ms | CPU ms/req | gen-0 GCs per"
        " 1,000 req | full GCs x longest ms | PostgreSQL backends (share of samples)"
        " | lock-wait samples | load |"
    )
    print("|---|---|---|--:|--:|--:|--:|--:|---|--:|--:|")
    with tempfile.TemporaryDirectory(prefix="todo-bench-tail-") as scratch:
        data = workload.write(dataset, args.secret, Path(scratch)).everyone
        for op in args.ops.split(","):
            for number in range(args.rounds):
                for which, freeze in variants if number % 2 == 0 else variants[::-1]:
                    print(run_once(which, op, freeze, args, dataset, data), flush=True)


if __name__ == "__main__":
    main()
