"""Start-up refuses unsafe secrets; development makes (and keeps) its own; the operator
commands print the contract and mint tokens the API accepts."""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from api.auth.shared_secret import ConfigurationError
from api.cli import main, openapi_document
from api.main import create_app
from api.settings import Settings
from tests.conftest import test_settings
from tests.support import User, serve

# Settings read from the environment by the commands run below; none may leak in.
_ENVIRONMENT = (
    "JWT_SECRET",
    "JWT_SECRET_FILE",
    "ENV",
    "DATABASE_URL",
    "JWT_ISSUER",
    "JWT_AUDIENCE",
)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'todo.db'}"


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No settings from the environment or a `.env` file; the working directory is empty."""
    for name in _ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    "secret",
    [
        pytest.param("s3cret-" + "x" * 24, id="31-ascii-bytes"),
        pytest.param("é" * 15 + "x", id="16-chars-31-bytes"),
        pytest.param("hunter2", id="short"),
    ],
)
def test_short_jwt_secret_refuses_to_start(sqlite_url: str, secret: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        create_app(test_settings(sqlite_url, jwt_secret=secret))
    message = str(caught.value)
    assert "at least 32 bytes" in message
    assert secret not in message


@pytest.mark.parametrize(
    "secret",
    [pytest.param("x" * 32, id="32-ascii"), pytest.param("é" * 16, id="16-chars-32-bytes")],
)
def test_32_byte_secret_is_enough(sqlite_url: str, secret: str) -> None:
    create_app(test_settings(sqlite_url, jwt_secret=secret))


def test_production_without_jwt_secret_refuses_to_start(sqlite_url: str, tmp_path: Path) -> None:
    secret_file = tmp_path / "secret"
    settings = test_settings(
        sqlite_url, env="production", jwt_secret=None, jwt_secret_file=str(secret_file)
    )
    with pytest.raises(
        ConfigurationError, match=r"JWT_SECRET \(or BETTER_AUTH_SECRET\) is required"
    ):
        create_app(settings)
    assert not secret_file.exists(), "production must not invent a secret"


async def test_development_creates_a_private_secret_file_and_reuses_it(
    sqlite_url: str, tmp_path: Path
) -> None:
    secret_file = tmp_path / "jwt_secret"
    settings = test_settings(
        sqlite_url, env="development", jwt_secret=None, jwt_secret_file=str(secret_file)
    )
    create_app(settings)
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    secret = secret_file.read_text()
    assert len(secret.encode()) >= 32
    app = create_app(settings)
    assert secret_file.read_text() == secret

    token = _run_cli(tmp_path, "token", "alice", env={"JWT_SECRET_FILE": str(secret_file)})
    async with serve(app) as client:
        user = User(client, "alice", token.strip())
        assert (await user.create(title="signed by the CLI"))["user_id"] == "alice"


def test_short_secret_file_refuses_to_start(sqlite_url: str, tmp_path: Path) -> None:
    secret_file = tmp_path / "jwt_secret"
    secret_file.write_text("too-short\n")
    settings = test_settings(sqlite_url, jwt_secret=None, jwt_secret_file=str(secret_file))
    with pytest.raises(ConfigurationError) as caught:
        create_app(settings)
    assert "too-short" not in str(caught.value)


def _run_cli(cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    environment = {k: v for k, v in os.environ.items() if k not in _ENVIRONMENT}
    result = subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        cwd=cwd,
        env={**environment, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_cli_openapi_prints_the_contract(tmp_path: Path) -> None:
    printed = _run_cli(tmp_path, "openapi")
    assert json.loads(printed) == json.loads(openapi_document())
    assert printed.endswith("}\n")


async def test_cli_in_process_reads_dot_env(
    clean_environment: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret, issuer, audience = "e" * 40, "https://issuer.example", "todo-api"
    (clean_environment / ".env").write_text(
        f"JWT_SECRET={secret}\nJWT_ISSUER={issuer}\nJWT_AUDIENCE={audience}\n"
    )
    assert main(["openapi"]) == 0
    assert json.loads(capsys.readouterr().out)["info"]["title"] == "todo-api"
    assert main(["token", "bob", "--lifetime", "60"]) == 0
    token = capsys.readouterr().out.strip()
    settings = test_settings(
        f"sqlite:///{clean_environment / 'x.db'}",
        jwt_secret=secret,
        jwt_issuer=issuer,
        jwt_audience=audience,
    )
    principal = await create_app(settings).state.runtime.verifier.verify(token)
    assert principal.subject == "bob"
    with pytest.raises(SystemExit):
        main(["no-such-command"])


def test_settings_come_from_the_environment(
    clean_environment: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CORS_ORIGINS", " https://a.example, https://b.example ,")
    monkeypatch.setenv("DATABASE_URL", "postgres://u@db.example/todo")
    monkeypatch.setenv("ENV", "production")
    settings = Settings()
    assert settings.cors_origins == ["https://a.example", "https://b.example"]
    assert settings.database_url == "postgres://u@db.example/todo"
    assert settings.is_production
