"""The Schemathesis CLI fuzzes the API served by uvicorn over real HTTP, on PostgreSQL.

Same configuration and checks as the in-process run (tests/fuzz_checks.py), but through
a real socket, server and process: what `schemathesis run` reports in CI is what this test
asserts. Seeded and bounded here; `make fuzz` sets FUZZ_SEED=random and more examples.
"""

import json
import os
import re
import subprocess
import sys
import tomllib
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fuzz_checks import PASSWORD, Account, fuzz_config, fuzz_examples, fuzz_seed
from tests.server_process import ROOT, ServerProcess

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
MAX_EXAMPLES = fuzz_examples(25)  # per operation and phase
TIMEOUT_SECONDS = float(os.environ.get("FUZZ_TIMEOUT", "600"))
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def register(client: httpx.Client, name: str) -> Account:
    email = f"{name}-{uuid.uuid4().hex[:8]}@example.com"
    created = client.post("/auth/register", json={"email": email, "password": PASSWORD})
    assert created.status_code == 201, created.text
    issued = client.post("/auth/jwt/login", data={"username": email, "password": PASSWORD})
    assert issued.status_code == 200, issued.text
    return Account(created.json()["id"], email, issued.json()["access_token"])


def to_toml(table: Mapping[str, Any], path: tuple[str, ...] = ()) -> str:
    """The config as schemathesis.toml: scalars and arrays of scalars (JSON spells them as
    TOML does), tables, and arrays of tables."""

    def key(name: str) -> str:
        return name if _BARE_KEY.match(name) else json.dumps(name)

    def is_tables(value: Any) -> bool:
        return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)

    lines: list[str] = [f"[{'.'.join(map(key, path))}]"] if path else []
    nested = []
    for name, value in table.items():
        if isinstance(value, dict) or is_tables(value):
            nested.append((name, value))
        else:
            lines.append(f"{key(name)} = {json.dumps(value)}")
    for name, value in nested:
        if isinstance(value, dict):
            lines.append(to_toml(value, (*path, name)))
        for item in value if is_tables(value) else ():
            lines.append(f"[[{'.'.join(map(key, (*path, name)))}]]")
            lines.append(to_toml(item, (*path, name)).split("\n", 1)[1])
    return "\n".join(lines)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_schemathesis_cli_over_http(database_url: str, tmp_path: Path) -> None:
    seed = fuzz_seed()
    with ServerProcess(database_url) as server:
        with httpx.Client(base_url=server.base_url, timeout=10) as client:
            owner, intruder = register(client, "owner"), register(client, "intruder")
        config = fuzz_config(owner, intruder, seed=seed, max_examples=MAX_EXAMPLES)
        config["cache"] = {"enabled": False}  # no crash files left behind to replay later
        text = to_toml(config)
        assert tomllib.loads(text) == config, text
        config_file = tmp_path / "schemathesis.toml"
        config_file.write_text(text)
        command = [
            str(SCHEMATHESIS),
            "--config-file",
            str(config_file),
            "run",
            f"{server.base_url}/openapi.json",
            "--checks=all",
            "--phases=examples,coverage,fuzzing,stateful",
            f"--max-examples={MAX_EXAMPLES}",
            "--workers=1",
            "--request-timeout=10",
            "--no-color",
        ]
        env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.fuzz_checks", "PYTHONPATH": str(ROOT)}
        run = subprocess.run(
            command,
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_SECONDS,
            check=False,
        )
        output = run.stdout + run.stderr
        assert run.returncode == 0, f"seed {seed}\n{output}\n{server.describe('server')}"
    print(output)  # phases, warnings, cases and duration: `pytest -s` shows them
