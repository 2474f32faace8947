"""Servers under test: uvicorn or granian child processes, their readiness, CPU time and
memory."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path
from types import TracebackType
from typing import Self

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SERVERS = ("uvicorn", "granian")
_TICKS = os.sysconf("SC_CLK_TCK")
_STATUS = re.compile(r'"status":\s*(\d{3})')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def clean_env(**settings: str) -> dict[str, str]:
    """Only what a server needs: nothing from a developer's shell or `.env` leaks in."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
    return {**{k: os.environ[k] for k in keep if k in os.environ}, **settings}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process (0 once it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS (now) and VmHWM (peak) from /proc, in KiB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return values


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in text.split()]


def _argv(server: str, app: str, port: int, workers: int, factory: bool) -> list[str]:
    """The command line of one server; neither writes a per-request access log."""
    common = ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    common += ["--no-access-log", "--log-level", "warning"]
    if server == "uvicorn":  # uvloop and httptools, from uvicorn[standard]
        argv = [str(BIN / "uvicorn"), app, "--app-dir", str(ROOT), *common]
    elif server == "granian":  # the `asgi` interface runs the lifespan, as uvicorn does
        argv = [str(BIN / "granian"), app, "--working-dir", str(ROOT), *common]
        argv += ["--interface", "asgi", "--http", "1", "--loop", "uvloop"]
    else:
        raise ValueError(f"unknown server {server!r}: one of {', '.join(SERVERS)}")
    return [*argv, "--factory"] if factory else argv


def installed(server: str) -> bool:
    return (BIN / server).exists()


class Server:
    """`uvicorn APP` (or `granian APP`) on a free port, run from a scratch directory (no
    `.env` is read); its stdout, where the API writes its access log, goes to `log`."""

    def __init__(
        self,
        name: str,
        app: str,
        env: dict[str, str],
        workdir: Path,
        *,
        factory: bool = False,
        workers: int = 1,
        ready_path: str = "/",
        server: str = "uvicorn",
    ) -> None:
        self.name = name
        self.server = server
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / f"{name}.log"
        self.workers = workers
        self._workdir = workdir
        self._ready_path = ready_path
        self._env = env
        self._argv = _argv(server, app, self.port, workers, factory)
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Self:
        with self.log.open("wb") as log:
            self._process = subprocess.Popen(
                self._argv, cwd=self._workdir, env=self._env, stdout=log, stderr=log
            )
        self._wait_ready()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        process = self._process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def worker_pids(self) -> list[int]:
        """The processes that serve requests: uvicorn's single process or its spawned
        workers; granian's forked workers (its main process only supervises, even with
        one worker)."""
        if self.server == "uvicorn" and self.workers == 1:
            return [self.pid]
        children = _children(self.pid)
        if self.server == "granian":
            return children
        spawned = []
        for child in children:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
            if b"spawn_main" in cmdline:
                spawned.append(child)
        return spawned

    def cpu_seconds(self) -> float:
        """CPU time of the workers and of the supervising main process, if there is one."""
        pids = {self.pid, *self.worker_pids()}
        return sum(cpu_seconds(pid) for pid in pids)

    def log_lines(self) -> int:
        with self.log.open("rb") as log:
            return sum(1 for _ in log)

    def _wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start:\n{self.tail()}")
            try:
                urllib.request.urlopen(self.url + self._ready_path, timeout=2)  # noqa: S310
            except urllib.error.HTTPError:
                pass  # any HTTP answer (a 401 without a token) means it is serving
            except OSError:
                time.sleep(0.1)
                continue
            if len(self.worker_pids()) == self.workers:
                return
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} not ready after {timeout:.0f}s:\n{self.tail()}")

    def failed_statuses(self) -> dict[int, int]:
        """Non-2xx statuses in the API's JSON access log (wrk counts them, but does not
        say which), with how often each occurred."""
        found = _STATUS.findall(self.log.read_text(errors="replace"))
        return dict(Counter(int(status) for status in found if not status.startswith("2")))

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
