"""The front end's view of the contract: openapi-typescript turns openapi_snapshot.json into
TypeScript types, and a small client calling all six task endpoints must type-check
against them (`npm run check`: generate, then `tsc --noEmit`; versions pinned in
package-lock.json)."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.interop.better_auth import node_available

HERE = Path(__file__).resolve().parent
pytestmark = pytest.mark.interop


def _npm(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    npm = shutil.which("npm")
    assert npm is not None
    return subprocess.run(
        [npm, *args], cwd=HERE, capture_output=True, text=True, timeout=timeout, check=False
    )


def test_generated_types_type_check_the_client() -> None:
    if not node_available():
        message = "Node.js 20+ and npm are needed for the TypeScript client check"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI must run it, never skip it
        pytest.skip(message)
    installed = HERE / "node_modules" / ".package-lock.json"  # written by npm ci
    lock = HERE / "package-lock.json"
    if not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime:
        ci = _npm("ci", "--no-audit", "--no-fund", "--loglevel=error", timeout=600)
        assert ci.returncode == 0, ci.stdout + ci.stderr
    check = _npm("run", "--silent", "check", timeout=300)
    assert check.returncode == 0, check.stdout + check.stderr
