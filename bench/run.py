"""`make bench`: seeds PostgreSQL, loads the API and the reference in turn, prints the table."""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FULL = {"warmup": 3.0, "duration": 10.0, "duration_1": 6.0, "rounds": 2, "big_rows": 1_000_000}
QUICK = {"warmup": 1.0, "duration": 5.0, "duration_1": 3.0, "rounds": 1, "big_rows": 0}


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short runs (about 2 minutes)")
    parser.add_argument("--warmup", type=float, help="seconds of unrecorded load per server")
    parser.add_argument("--duration", type=float, help="seconds per run at 32 connections")
    parser.add_argument("--duration-1", type=float, help="seconds per run at 1 connection")
    parser.add_argument("--rounds", type=int, help="runs per measurement; the best counts")
    parser.add_argument("--pool", type=int, default=10, help="database connections per server")
    parser.add_argument("--big-rows", type=int, help="rows of the big-table variant; 0: skip")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="0: skip")
    parser.add_argument(
        "--server",
        choices=("uvicorn", "granian", "both"),
        default="both",
        help="server(s) of the several-workers phase, side by side (default: both)",
    )
    parser.add_argument(
        "--workers-only", action="store_true", help="only the several-workers phase"
    )
    parser.add_argument(
        "--ops",
        default="list,get,patch,create",
        help="operations of the API-against-reference phase, comma-separated (default: all)",
    )
    parser.add_argument(
        "--scale",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="the scale checks: 10,000 tasks vs 100, the tag filter, the big table",
    )
    parser.add_argument("--ceiling", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--reseed", action="store_true", help="reload the seeded databases")
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args(argv)
    args.ops = tuple(op for op in ("list", "get", "patch", "create") if op in args.ops.split(","))
    if not args.scale:
        args.big_rows = 0
    for name, default in (QUICK if args.quick else FULL).items():
        if getattr(args, name) is None:
            setattr(args, name, default)
    return args


def _servers(choice: str) -> tuple[str, ...]:
    from bench.servers import SERVERS, installed

    wanted = SERVERS if choice == "both" else (choice,)
    missing = [name for name in wanted if not installed(name)]
    if missing and choice != "both":
        raise SystemExit(f"{choice} is not installed in {sys.prefix}")
    for name in missing:
        print(f"{name} is not installed: the several-workers phase runs without it", flush=True)
    return tuple(name for name in wanted if name not in missing)


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, str(ROOT))  # `python bench/run.py` from anywhere
    from bench import context, phases, report, seed, workload, wrkrun
    from bench.measure import Timing

    args = arguments(argv)
    wrkrun.ensure_wrk()
    started = time.monotonic()
    base = seed.ensure(reseed=args.reseed)
    big = seed.ensure(args.big_rows, reseed=args.reseed) if args.big_rows else None
    timing = Timing(args.warmup, args.duration, args.duration_1, args.rounds)
    header = context.header(sys.argv, timing, args.pool)
    results = phases.Results()
    with tempfile.TemporaryDirectory(prefix="todo-bench-") as scratch:
        workdir = Path(scratch)
        ctx = phases.Context(timing, args.pool, workload.new_secret(), workdir)
        files = workload.write(base, ctx.secret, workdir)
        if args.ceiling and not args.workers_only:
            context.step("ceiling")
            phases.run_ceiling(results, ctx)
        if not args.workers_only:
            context.step("API and reference, 1 worker each")
            phases.run_comparison(results, base, files, ctx, args.ops, args.scale)
        if big and not args.workers_only:
            context.step(f"{big.total:,}-row table")
            big_dir = workdir / "big"
            big_dir.mkdir()
            phases.run_big_table(results, big, workload.write(big, ctx.secret, big_dir), ctx)
        if args.workers > 1:
            servers = _servers(args.server)
            context.step(f"{args.workers} API workers: {' and '.join(servers)}")
            phases.run_workers(results, base, files, ctx, args.workers, servers)
    header += context.footer(started)
    text = report.render(results, header, args.workers)
    print("\n" + text)
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "latest.md").write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
