"""The real API in a subprocess (uvicorn on a free port), for tests that need what only a
real server has: process signals, sockets, a database that goes away underneath it."""

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx

from api.settings import Settings
from tests.pg_cluster import free_port
from tests.support import TEST_SECRET, User, make_token

ROOT = Path(__file__).resolve().parent.parent
UVICORN = Path(sys.executable).parent / "uvicorn"


def server_env(database_url: str, overrides: Mapping[str, str]) -> dict[str, str]:
    """The parent's environment without any of the app's settings (a developer's
    DATABASE_URL must not leak in), plus the test's."""
    settings = {name.upper() for name in Settings.model_fields}
    env = {k: v for k, v in os.environ.items() if k.upper() not in settings}
    env.update(
        ENV="test",
        DATABASE_URL=database_url,
        JWT_SECRET=TEST_SECRET,
        LOG_LEVEL="WARNING",
        RATE_LIMIT_PER_MINUTE="0",  # load here exercises the database, not the limiter
        PYTHONUNBUFFERED="1",
    )
    env.update(overrides)
    return env


class ServerProcess:
    """`uvicorn api.main:app` as a child process. It runs in its own temporary directory, so
    no `.env` or `.jwt_secret` of the checkout is read; its output goes to a file whose tail
    failure messages carry."""

    def __init__(self, database_url: str, env: Mapping[str, str] | None = None) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._env = server_env(database_url, env or {})
        self._workdir = tempfile.TemporaryDirectory(prefix="api-server-")
        self.log_path = Path(self._workdir.name) / "server.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def process(self) -> subprocess.Popen[bytes]:
        assert self._process is not None, "the server was not started"
        return self._process

    def start(self, timeout: float = 30.0) -> None:
        options = ("--host", "127.0.0.1", "--port", str(self.port), "--no-access-log")
        command = [str(UVICORN), "api.main:app", "--app-dir", str(ROOT), *options]
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                command,
                cwd=self._workdir.name,
                env=self._env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._wait_ready(timeout)

    def _wait_ready(self, timeout: float) -> None:
        # Unauthenticated list → 401: the app routes requests. (uvicorn opens the socket
        # only after the lifespan, which migrates SQLite, has finished.)
        deadline = time.monotonic() + timeout
        with httpx.Client(base_url=self.base_url, timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(self.describe(f"server exited ({self.process.returncode})"))
                try:
                    if client.get("/api/ready-probe/tasks").status_code == 401:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.05)
        raise RuntimeError(self.describe(f"server not ready within {timeout} s"))

    def terminate(self) -> None:
        """SIGTERM without waiting: uvicorn stops accepting and finishes what it has."""
        self.process.send_signal(signal.SIGTERM)

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM and wait for the exit code."""
        if self.process.poll() is None:
            self.terminate()
        return self.wait(timeout)

    def kill(self) -> int:
        """SIGKILL: the process ends without running another line of Python (a crash)."""
        if self.process.poll() is None:
            self.process.kill()
        return self.wait(10.0)

    def wait(self, timeout: float) -> int:
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
            raise AssertionError(self.describe(f"server still running after {timeout} s")) from None

    def client(self, timeout: float = 10.0) -> httpx.AsyncClient:
        """A client of this server. The timeout is a backstop only: tests bound and
        measure each request's duration themselves, well below it."""
        return httpx.AsyncClient(base_url=self.base_url, timeout=timeout)

    def log_mark(self) -> int:
        """A position in the server's output, for `log_since`."""
        return self.log_path.stat().st_size if self.log_path.exists() else 0

    def log_since(self, mark: int) -> str:
        with self.log_path.open("rb") as log:
            log.seek(mark)
            return log.read().decode(errors="replace")

    def log_tail(self, lines: int = 30, chars: int = 6000) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])[-chars:]

    def describe(self, message: str) -> str:
        return f"{message}\n--- server output (tail) ---\n{self.log_tail()}"

    def close(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait(10)
        self._workdir.cleanup()

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


Acknowledged = dict[str, dict[str, Any]]
"""Item path (`/api/{user}/tasks/{id}`) → the body of the last 2xx that wrote it."""


def acknowledge(acked: Acknowledged, response: httpx.Response) -> None:
    """Record a create's or an update's 2xx: from now on its body must be readable."""
    assert response.is_success, response.text
    body: dict[str, Any] = response.json()
    path = response.request.url.path
    acked[f"{path}/{body['id']}" if response.request.method == "POST" else path] = body


async def assert_readable(client: httpx.AsyncClient, acked: Acknowledged) -> None:
    """GET every acknowledged item: 200 and exactly the acknowledged body."""
    limit = asyncio.Semaphore(8)

    async def check(path: str, expected: dict[str, Any]) -> None:
        owner = path.split("/")[2]
        async with limit:
            response = await User(client, owner, make_token(owner)).request("GET", path)
        assert response.status_code == 200, f"{path}: {response.text}"
        assert response.json() == expected, path

    await asyncio.gather(*(check(path, body) for path, body in acked.items()))
