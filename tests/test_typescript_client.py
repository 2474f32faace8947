"""The front-end kit (clients/typescript): its types are what openapi_snapshot.json
generates today, the client type-checks against them, and its five calls work against
a real server. Versions are pinned in package-lock.json."""

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.interop.better_auth import node_available
from tests.server_process import ServerProcess
from tests.support import make_token

CLIENT = Path(__file__).resolve().parent.parent / "clients" / "typescript"
pytestmark = pytest.mark.interop


def _run(*command: str, timeout: float) -> subprocess.CompletedProcess[str]:
    executable = shutil.which(command[0])
    assert executable is not None, command[0]
    return subprocess.run(
        [executable, *command[1:]],
        cwd=CLIENT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="module")
def npm_installed() -> None:
    """`npm ci` from the lockfile, unless node_modules already matches it."""
    if not node_available():
        message = "Node.js 20+ and npm are needed for the TypeScript client"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI must run it, never skip it
        pytest.skip(message)
    installed = CLIENT / "node_modules" / ".package-lock.json"  # written by npm ci
    lock = CLIENT / "package-lock.json"
    if not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime:
        ci = _run("npm", "ci", "--no-audit", "--no-fund", "--loglevel=error", timeout=600)
        assert ci.returncode == 0, ci.stdout + ci.stderr


@pytest.fixture
def build_dir() -> Iterator[Path]:
    """Inside the package, so that Node finds the client's node_modules."""
    build = CLIENT / "node_modules" / ".test-build"
    shutil.rmtree(build, ignore_errors=True)
    yield build
    shutil.rmtree(build, ignore_errors=True)


def test_generated_client_is_current_type_checks_and_works(
    npm_installed: None, build_dir: Path, tmp_path: Path
) -> None:
    """What `npm run check` does (types regenerated from the current snapshot must equal
    the committed ones: else `make client`; then tsc), compiling to JavaScript in the
    same pass, whose five calls then run against a real server."""
    current = _run("node", "scripts/generate.mjs", "--check", timeout=120)
    assert current.returncode == 0, current.stdout + current.stderr
    compiled = _run("npx", "tsc", "--project", "tsconfig.json", "--noEmit", "false",
                    "--outDir", str(build_dir), timeout=300)  # fmt: skip
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    user = "front-end-user"
    with ServerProcess(f"sqlite:///{tmp_path / 'todo.db'}") as server:
        run = _run("node", "scripts/run-example.mjs", str(build_dir), server.base_url, user,
                   make_token(user), timeout=60)  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert json.loads(run.stdout) == {
        "created": "Buy milk",
        "listed": True,
        "count": 1,
        "opened": True,
        "completed": True,
        "afterDelete": {"status": 404, "code": "NOT_FOUND"},
    }
