"""uvicorn serving one app (1 worker) while recording every garbage collection's pause.

    python bench/gcserve.py APP PORT OUT [--factory] [--freeze]

Used by `bench/tail.py`. Each collection is a line `monotonic time, generation, pause ms`
in OUT, written at exit and on SIGUSR1. `--freeze` imports the app, collects once and
moves every object alive at that point to the permanent generation (`gc.freeze()`), as an
app could do at the end of its start-up: a prototype of that change, nothing more.
"""

import argparse
import gc
import importlib
import signal
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("app")
    parser.add_argument("port", type=int)
    parser.add_argument("out", type=Path)
    parser.add_argument("--factory", action="store_true")
    parser.add_argument("--freeze", action="store_true")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    import uvicorn

    pauses: list[tuple[float, int, float]] = []
    started = [0.0]

    def watch(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            pause = (time.perf_counter() - started[0]) * 1000
            pauses.append((time.monotonic(), info["generation"], pause))

    def dump(*_: object) -> None:
        lines = (f"{at:.3f}\t{generation}\t{ms:.3f}\n" for at, generation, ms in pauses)
        args.out.write_text("".join(lines))

    gc.callbacks.append(watch)
    signal.signal(signal.SIGUSR1, dump)
    app: Any = args.app
    factory = args.factory
    if args.freeze:
        module, _, name = args.app.partition(":")
        app = getattr(importlib.import_module(module), name)
        app, factory = (app() if factory else app), False
        gc.collect()
        gc.freeze()
    try:
        uvicorn.run(
            app,
            host="127.0.0.1",
            port=args.port,
            factory=factory,
            access_log=False,
            log_level="warning",
        )
    finally:
        dump()


if __name__ == "__main__":
    main()
