"""`python -m api.cli scaffold NAME field:kind...` adds a working resource in one command:
run in a copy of the repository, then that copy's own isolation, migration and snapshot
tests pass for the new resource, with no test written for it."""

import difflib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from api.db import ROOT
from api.scaffold.fields import FieldSpecError, parse_field
from api.scaffold.write import plan, singular_of

COMMAND = ["notes", "title:str:120", "body:text", "pinned:bool", "project_id:ref:projects"]
# The copy's own tests that loop over RESOURCES (isolation: the new resource's cases),
# migrate up and down to the models, and compare the contract with the snapshot.
FOCUSED = [
    "tests/test_isolation.py",
    "tests/test_migrations.py",
    "tests/test_openapi_snapshot.py::test_openapi_matches_the_committed_snapshot",
    "tests/test_factory.py::test_throwaway_names_cannot_be_real_ones",
    "-k",
    "note or upgrade_head or snapshot or throwaway",
]
_NOT_COPIED = shutil.ignore_patterns(
    ".venv", ".git", "node_modules", "__pycache__", "*_cache", ".hypothesis", "clients", "*.db"
)


def _run(cwd: Path, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(cwd)}  # the copy's packages, not the installed ones
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def _added_lines(before: Path, after: Path) -> int:
    """Lines the scaffolder added to the copy (new files whole, edited ones by diff)."""
    added = 0
    for path in after.rglob("*.py"):
        relative = path.relative_to(after)
        if "__pycache__" in relative.parts:
            continue
        old = (before / relative).read_text().splitlines() if (before / relative).exists() else []
        diff = difflib.ndiff(old, path.read_text().splitlines())
        added += sum(1 for line in diff if line.startswith("+ "))
    return added


def test_scaffolded_resource_passes_the_tests_that_loop_over_resources(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(ROOT, repo, ignore=_NOT_COPIED)
    started = time.monotonic()
    scaffolded = _run(repo, "-m", "api.cli", "scaffold", *COMMAND, timeout=120)
    seconds = time.monotonic() - started
    assert scaffolded.returncode == 0, scaffolded.stdout + scaffolded.stderr
    assert (repo / "schemas" / "note.py").exists()
    assert "notes = CrudResource(" in (repo / "api" / "resources.py").read_text()
    assert "import schemas.note" in (repo / "schemas" / "metadata.py").read_text()
    (migration,) = (repo / "migrations" / "versions").glob("*_notes_*.py")
    assert 'create_count_triggers(op, resource="note"' in migration.read_text()
    assert '"/api/{user_id}/notes"' in (repo / "openapi_snapshot.json").read_text()
    written = ["schemas/note.py", "api/resources.py", "schemas/metadata.py", str(migration)]
    lint = _run(repo, "-m", "ruff", "check", "--quiet", *written, timeout=60)
    assert lint.returncode == 0, lint.stdout

    focused = _run(repo, "-m", "pytest", "-q", "-p", "no:cacheprovider", *FOCUSED, timeout=300)
    assert focused.returncode == 0, focused.stdout[-5000:] + focused.stderr[-2000:]
    print(
        f"\n[scaffold] 1 command line ({len(' '.join(COMMAND))} characters) wrote"
        f" {_added_lines(ROOT, repo)} lines in {seconds:.1f} s"
    )


@pytest.mark.parametrize(
    ("spelled", "message"),
    [
        ("Title:str", "lowercase identifiers"),
        ("id:str", "a column every resource already has"),
        ("title:string", "the kind is one of"),
        ("title:str:long", "a maximum length"),
        ("status:enum:a", "distinct values"),
        ("status:enum:A|B", "lowercase words"),
        ("pinned:bool:yes", "takes no option"),
        ("owner:ref:", "name:ref:<plural of a resource>"),
    ],
)
def test_misspelled_field_says_how_to_spell_it(spelled: str, message: str) -> None:
    with pytest.raises(FieldSpecError, match=message):
        parse_field(spelled)


@pytest.mark.parametrize(
    ("plural", "singular"),
    [("notes", "note"), ("categories", "category"), ("boxes", "box"), ("addresses", "address")],
)
def test_singular_of(plural: str, singular: str) -> None:
    assert singular_of(plural) == singular


@pytest.mark.parametrize(
    ("plural", "fields", "message"),
    [
        ("notes", ["list_id:ref:lists"], "no resource 'lists'"),
        ("tasks", ["title:str"], "'tasks' is already a resource"),
        ("data", ["title:str"], "pass --singular"),
        ("item_counts", ["title:str"], "'item_count' is already a table"),
        ("notes", ["title:str", "title:text"], "fields named twice: title"),
    ],
)
def test_bad_command_is_refused_before_anything_is_written(
    tmp_path: Path, plural: str, fields: list[str], message: str
) -> None:
    with pytest.raises(FieldSpecError, match=message):
        plan(tmp_path, plural, None, fields)


def test_command_line_errors_exit_2_with_the_message() -> None:
    cli = [sys.executable, "-m", "api.cli", "scaffold", "notes", "title:strin"]
    done = subprocess.run(cli, cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 2, done.stderr
    assert "scaffold: 'title:strin': the kind is one of" in done.stderr
