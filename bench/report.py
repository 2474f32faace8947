"""Renders the results as the markdown that `make bench` prints and bench/README.md quotes."""

import statistics

from bench import measure
from bench.measure import Measure
from bench.phases import OPS, Results

TARGET_RATIO = 0.6
TARGET_SCALE = 1.5
LABELS = {"list": "list (20 items)", "get": "get", "patch": "patch", "create": "create"}
API, REF = "api", "reference"


def _lat(m: Measure | None) -> str:
    return f"{m.load.p50_ms:.2f} / {m.load.p99_ms:.2f}" if m else "-"


def _rps(m: Measure | None) -> str:
    return f"{m.rps:,.0f}" if m else "-"


def _verdict(ok: bool) -> str:
    return "pass" if ok else "FAIL"


def comparison(results: Results) -> list[str]:
    lines = [
        "| operation | API req/s @32 | ref req/s @32 | API/ref | API p50/p99 @1 (ms)"
        " | ref p50/p99 @1 | API p50/p99 @32 | ref p50/p99 @32 |",
        "|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for op in OPS:
        cells = results.grid.get(op)
        if not cells:
            continue
        api, ref = cells[API], cells[REF]
        ratio = api[32].rps / ref[32].rps
        lines.append(
            f"| {LABELS[op]} | {_rps(api[32])} | {_rps(ref[32])} | **{ratio:.2f}** "
            f"| {_lat(api.get(1))} | {_lat(ref.get(1))} | {_lat(api[32])} | {_lat(ref[32])} |"
        )
    if results.ceiling:
        top = results.ceiling
        lines.append(
            f"| ceiling: bare Starlette, constant JSON | {_rps(top[32])} | - | - "
            f"| {_lat(top.get(1))} | - | {_lat(top[32])} | - |"
        )
    return lines


def cpu(results: Results) -> list[str]:
    lines = [
        "| operation @32 | API CPU ms/req | ref CPU ms/req | API/ref CPU | PostgreSQL ms/req"
        " (API) | PostgreSQL ms/req (ref) |",
        "|---|--:|--:|--:|--:|--:|",
    ]
    for op in OPS:
        cells = results.grid.get(op)
        if not cells:
            continue
        api, ref = cells[API][32], cells[REF][32]
        lines.append(
            f"| {LABELS[op]} | {api.cpu_ms:.3f} | {ref.cpu_ms:.3f} | {api.cpu_ms / ref.cpu_ms:.2f}"
            f" | {api.db_cpu_ms:.3f} | {ref.db_cpu_ms:.3f} |"
        )
    if results.ceiling:
        lines.append(f"| ceiling | {results.ceiling[32].cpu_ms:.3f} | - | - | - | - |")
    return lines


def targets(results: Results) -> list[str]:
    lines = []
    for op in OPS:
        if op in results.grid:
            ratio = results.grid[op][API][32].rps / results.grid[op][REF][32].rps
            lines.append(
                f"- {LABELS[op]}: API/reference {ratio:.2f} (target >= {TARGET_RATIO}):"
                f" {_verdict(ratio >= TARGET_RATIO)}"
            )
    tagged = results.tag_filter
    if len(tagged) == 2:
        (plain, a), (variant, b) = tagged.items()
        growth = b.load.p50_ms / a.load.p50_ms
        lines.append(
            f"- api: list p50 @1, user with 10,000 tasks, {variant} vs {plain}:"
            f" {b.load.p50_ms:.2f} / {a.load.p50_ms:.2f} ms = {growth:.2f}x"
            f" (target <= {TARGET_SCALE}x): {_verdict(growth <= TARGET_SCALE)}"
        )
    for name in (API, REF):
        users = results.scale_users.get(name, {})
        if len(users) == 2:
            light, heavy = users["100 tasks"].load.p50_ms, users["10,000 tasks"].load.p50_ms
            lines.append(
                f"- {name}: list p50 @1, user with 10,000 tasks vs 100: {heavy:.2f} / {light:.2f}"
                f" ms = {heavy / light:.2f}x (target <= {TARGET_SCALE}x):"
                f" {_verdict(heavy / light <= TARGET_SCALE)}"
            )
        rows = results.scale_rows.get(name, {})
        if len(rows) == 2:
            (small, a), (big, b) = sorted(rows.items())
            growth = b.load.p50_ms / a.load.p50_ms
            lines.append(
                f"- {name}: list p50 @1, {big:,} rows vs {small:,}: {b.load.p50_ms:.2f} /"
                f" {a.load.p50_ms:.2f} ms = {growth:.2f}x (target <= {TARGET_SCALE}x):"
                f" {_verdict(growth <= TARGET_SCALE)}"
            )
    return lines


def memory(results: Results) -> list[str]:
    lines = ["| process | RSS after the run (MiB) | peak RSS (MiB) |", "|---|--:|--:|"]
    named = list(results.memory.items())
    for server, each in results.worker_memory.items():
        named.append((f"api on {server}: main process", results.supervisor_memory[server]))
        named += [(f"api on {server}: worker {n + 1} of {len(each)}", m)
                  for n, m in enumerate(each)]  # fmt: skip
    for name, kib in named:
        lines.append(f"| {name} | {kib['VmRSS'] / 1024:.0f} | {kib['VmHWM'] / 1024:.0f} |")
    return lines


def workers(results: Results, count: int) -> list[str]:
    lines = [
        f"| operation @32, {count} API workers, pool {results.worker_pool} each | server | req/s"
        " | p50/p99 (ms) | CPU ms/req | vs 1 worker |",
        "|---|---|--:|--:|--:|--:|",
    ]
    for op in LABELS:
        for server, measured in results.workers.items():
            m = measured.get(op)
            if m is None:
                continue
            single = results.grid.get(op, {}).get(API, {}).get(32)
            versus = f"{m.rps / single.rps:.2f}x" if single else "-"
            lines.append(
                f"| {LABELS[op]} | {server} | {_rps(m)} | {_lat(m)} | {m.cpu_ms:.3f} | {versus} |"
            )
    ratios = _server_ratios(results)
    if ratios:
        lines += ["", *ratios]
    logged = ", ".join(f"{server} {n:,}" for server, n in results.worker_log_lines.items())
    lines += ["", f"API access log lines written in this phase (warm-up included): {logged}"]
    return lines


def _server_ratios(results: Results) -> list[str]:
    """granian against uvicorn, per operation: the best rounds, and the median of the
    round-by-round ratios (each round runs both servers back to back under the same load)."""
    granian, uvicorn = results.worker_rounds.get("granian"), results.worker_rounds.get("uvicorn")
    if not granian or not uvicorn:
        return []
    lines = [
        "| granian / uvicorn @32 | req/s, best rounds | req/s, median of rounds"
        " | CPU per request, median of rounds |",
        "|---|--:|--:|--:|",
    ]
    for op in LABELS:
        if op not in granian or op not in uvicorn:
            continue
        pairs = list(zip(granian[op], uvicorn[op], strict=True))
        best = measure.best(granian[op]).rps / measure.best(uvicorn[op]).rps
        rps = statistics.median(g.rps / u.rps for g, u in pairs)
        cpu = statistics.median(g.cpu_ms / u.cpu_ms for g, u in pairs)
        lines.append(f"| {LABELS[op]} | {best:.2f}x | {rps:.2f}x | {cpu:.2f}x |")
    return lines


def render(results: Results, header: list[str], worker_count: int) -> str:
    parts = list(header)
    if results.grid:
        parts += ["", "### API against the reference (1 worker each)", "", *comparison(results)]
        parts += ["", "### CPU per request (server process; PostgreSQL backends)", ""]
        parts += cpu(results)
        parts += ["", "### Targets", "", *targets(results)]
    if results.workers:
        parts += ["", f"### {worker_count} workers", "", *workers(results, worker_count)]
    parts += ["", "### Memory", "", *memory(results), ""]
    if results.grid:
        lines = results.access_log_lines
        parts.append(f"API access log lines written during the run: {lines:,}")
        same = "identical" if not results.parity else "; ".join(results.parity)
        parts.append(f"Parity (list page, item, ETag, 403) API vs reference: {same}")
    return "\n".join(parts) + "\n"
