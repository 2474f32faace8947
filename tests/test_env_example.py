""".env.example lists every setting of api/settings.py, each with its real default and
a comment saying what it is for."""

import re
from pathlib import Path

import pytest

from api.settings import Settings

ENV_EXAMPLE = Path(__file__).resolve().parent.parent / ".env.example"
# `# NAME=value`: a setting, commented out so that a copied file changes nothing.
SETTING = re.compile(r"^# ([A-Z][A-Z0-9_]*)=(.*)$")


def _entries() -> list[tuple[str, str, str]]:
    """(name, value, the comment line above it) for each setting in the file."""
    lines = ENV_EXAMPLE.read_text().splitlines()
    return [
        (match[1], match[2], lines[number - 1] if number else "")
        for number, line in enumerate(lines)
        if (match := SETTING.match(line))
    ]


def test_every_setting_is_listed_once() -> None:
    names = [name for name, _, _ in _entries()]
    assert len(names) == len(set(names)), "a setting is listed twice"
    fields = {name.upper() for name in Settings.model_fields}
    assert set(names) == fields, (
        f"missing from .env.example: {sorted(fields - set(names))}; "
        f"not settings: {sorted(set(names) - fields)}"
    )


def test_every_setting_says_what_it_is_for() -> None:
    for name, _, comment in _entries():
        assert comment.startswith("# "), name
        assert not SETTING.match(comment), f"{name} has no comment of its own"
        assert len(comment) > len("# ") + 10, name


def test_the_listed_values_are_the_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read as a `.env` (every line uncommented), the file configures exactly the
    defaults."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
        monkeypatch.delenv(name, raising=False)
    dotenv = tmp_path / ".env"
    dotenv.write_text("".join(f"{name}={value}\n" for name, value, _ in _entries()))
    listed = Settings(_env_file=dotenv)
    defaults = Settings(_env_file=None)
    assert listed.model_dump() == defaults.model_dump()
