"""Runs the real Better Auth test server (tests/interop/betterauth) and obtains JWTs from it."""

from __future__ import annotations

import os
import queue
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, NoReturn, Self

import httpx
import pytest

BETTERAUTH_DIR = Path(__file__).resolve().parent / "betterauth"
DEFAULT_SECRET = "todo-api-interop-test-secret-0123456789abcdef"
MIN_NODE_MAJOR = 20


class BetterAuthError(RuntimeError):
    """The Better Auth test server could not be installed, started or used."""


@dataclass(frozen=True)
class BetterAuthUser:
    """A signed-up user and the session cookie(s) Better Auth issued for it."""

    id: str
    email: str
    cookies: tuple[tuple[str, str], ...]

    @property
    def cookie_header(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.cookies)


def node_available() -> bool:
    """True when a `node` (>= 20) and `npm` are on PATH."""
    node = shutil.which("node")
    if node is None or shutil.which("npm") is None:
        return False
    try:
        out = subprocess.run(
            [node, "--version"], capture_output=True, text=True, timeout=10, check=True
        ).stdout
        return int(out.strip().lstrip("v").split(".")[0]) >= MIN_NODE_MAJOR
    except (OSError, subprocess.SubprocessError, ValueError):
        return False


def running_server() -> Iterator[BetterAuthServer]:
    """For a fixture: a Better Auth server, stopped afterwards. Without Node.js the tests
    are skipped, except in CI, where they fail."""
    if not node_available():
        message = "Node.js 20+ and npm are needed for the Better Auth interop tests"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI must run these, never skip them
        pytest.skip(message)
    with BetterAuthServer() as server:
        yield server


def ensure_installed() -> None:
    """Run `npm ci` in the server directory unless its node_modules is already there."""
    if (BETTERAUTH_DIR / "node_modules" / "better-auth").is_dir():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise BetterAuthError("npm is not on PATH; cannot install the Better Auth test server")
    try:
        result = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            check=False,
            cwd=BETTERAUTH_DIR,
            capture_output=True,
            text=True,
            timeout=600,
        )
    except subprocess.TimeoutExpired as exc:
        raise BetterAuthError(f"npm ci timed out in {BETTERAUTH_DIR}") from exc
    if result.returncode != 0:
        raise BetterAuthError(
            f"npm ci failed in {BETTERAUTH_DIR} (exit {result.returncode}):\n"
            f"{result.stdout}\n{result.stderr}"
        )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class BetterAuthServer:
    """A `node server.mjs` process serving Better Auth on a free 127.0.0.1 port."""

    def __init__(self, *, secret: str = DEFAULT_SECRET, startup_timeout: float = 30.0) -> None:
        self._secret = secret
        self._startup_timeout = startup_timeout
        self._proc: subprocess.Popen[str] | None = None
        self._base_url: str | None = None
        self._stderr: list[str] = []
        self._stderr_pump: threading.Thread | None = None
        self._client: httpx.Client | None = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._base_url is None:
            raise BetterAuthError("Better Auth server is not running")
        return self._base_url

    @property
    def jwks_url(self) -> str:
        return f"{self.base_url}/api/auth/jwks"

    def start(self) -> None:
        if self._proc is not None:
            raise BetterAuthError("Better Auth server already started")
        ensure_installed()
        node = shutil.which("node")
        if node is None:
            raise BetterAuthError("node is not on PATH")
        env = {
            **os.environ,
            "PORT": str(_free_port()),
            "BETTER_AUTH_SECRET": self._secret,
        }
        started = time.monotonic()
        proc = subprocess.Popen(
            [node, "server.mjs"],
            cwd=BETTERAUTH_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._proc = proc
        self._stderr = []
        lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump_stdout, args=(proc, lines), daemon=True).start()
        self._stderr_pump = threading.Thread(target=self._pump_stderr, args=(proc,), daemon=True)
        self._stderr_pump.start()
        deadline = started + self._startup_timeout
        while True:
            try:
                line = lines.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                self._fail(f"did not print READY within {self._startup_timeout:.0f}s")
            if line is None:
                self._fail("exited before printing READY")
            if line.startswith("READY "):
                self._base_url = line.split(" ", 1)[1].strip()
                self._client = httpx.Client(timeout=10.0)
                return

    def stop(self) -> None:
        proc, self._proc, self._base_url = self._proc, None, None
        if self._client is not None:
            self._client.close()
            self._client = None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        if proc is not None:
            for pipe in (proc.stdout, proc.stderr):
                if pipe is not None:
                    pipe.close()

    def sign_up(self, email: str, password: str, name: str) -> BetterAuthUser:
        """Create a user with email + password; Better Auth signs it in at once."""
        resp = self._request(
            "POST",
            "/api/auth/sign-up/email",
            json={"email": email, "password": password, "name": name},
        )
        user: dict[str, Any] = resp.json()["user"]
        cookies = tuple((c.name, c.value or "") for c in resp.cookies.jar)
        if not cookies:
            raise BetterAuthError("sign-up response set no session cookie")
        return BetterAuthUser(id=str(user["id"]), email=str(user["email"]), cookies=cookies)

    def jwt_for(self, user: BetterAuthUser) -> str:
        """A fresh JWT for the user's session, from GET /api/auth/token."""
        resp = self._request("GET", "/api/auth/token", headers={"Cookie": user.cookie_header})
        token = resp.json().get("token")
        if not isinstance(token, str) or token.count(".") != 2:
            raise BetterAuthError(f"/api/auth/token returned no JWT: {resp.text}")
        return token

    def rotate_keys(self, *, retire: bool = False) -> None:
        """Rotate the signing key: later JWTs carry a new kid; old keys stay in JWKS
        (for Better Auth's grace period), or with `retire` leave it at once."""
        self._request("POST", "/test/rotate-keys?retire=1" if retire else "/test/rotate-keys")

    def jwks(self) -> dict[str, Any]:
        """The JSON Web Key Set currently published at /api/auth/jwks."""
        body: dict[str, Any] = self._request("GET", "/api/auth/jwks").json()
        return body

    def _request(
        self,
        method: str,
        path: str,
        *,
        json: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        # Better Auth rejects non-browser requests without a trusted Origin.
        all_headers = {"Origin": self.base_url, **(headers or {})}
        client = self._client
        assert client is not None
        try:
            resp = client.request(method, self.base_url + path, json=json, headers=all_headers)
        finally:
            client.cookies.clear()  # cookies are carried per user, never shared
        if resp.status_code != 200:
            raise BetterAuthError(f"{method} {path} -> {resp.status_code}: {resp.text}")
        return resp

    def _fail(self, reason: str) -> NoReturn:
        proc = self._proc
        self.stop()
        code = proc.wait(timeout=5) if proc is not None else None
        if self._stderr_pump is not None:
            self._stderr_pump.join(timeout=5)
        stderr = "".join(self._stderr).strip() or "(empty)"
        exit_info = f" (exit code {code})" if code is not None else ""
        raise BetterAuthError(f"Better Auth server {reason}{exit_info}; stderr:\n{stderr}")

    @staticmethod
    def _pump_stdout(proc: subprocess.Popen[str], lines: queue.Queue[str | None]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    def _pump_stderr(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            self._stderr.append(line)
