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

from api.cli import main
from api.db import ROOT
from api.scaffold import scaffold
from api.scaffold.fields import FieldSpecError, parse_field, parse_fields
from api.scaffold.render import Names, Reference, declaration, schemas_module
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


def _sources(repo: Path) -> dict[Path, list[str]]:
    return {
        path.relative_to(repo): path.read_text().splitlines()
        for path in repo.rglob("*.py")
        if "__pycache__" not in path.parts
    }


def _added_lines(before: dict[Path, list[str]], after: dict[Path, list[str]]) -> int:
    """Lines the scaffolder added (new files whole, edited ones by diff)."""
    diffs = (difflib.ndiff(before.get(path, []), lines) for path, lines in after.items())
    return sum(1 for diff in diffs for line in diff if line.startswith("+ "))


def test_scaffolded_resource_passes_the_tests_that_loop_over_resources(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(ROOT, repo, ignore=_NOT_COPIED)
    before = _sources(repo)
    started = time.monotonic()
    # In this process (the copy's declarations are this repository's); what it runs to
    # finish (autogenerate, snapshot, ruff) imports the copy's files, as written.
    written = scaffold(COMMAND[0], COMMAND[1:], root=repo, say=lambda line: None)
    seconds = time.monotonic() - started
    assert [path.relative_to(repo).parts[0] for path in written] == [
        "schemas",
        "api",
        "schemas",
        "migrations",
        "openapi_snapshot.json",
    ]
    assert (repo / "schemas" / "note.py").exists()
    assert "notes = CrudResource(" in (repo / "api" / "resources.py").read_text()
    assert "import schemas.note" in (repo / "schemas" / "metadata.py").read_text()
    (migration,) = (repo / "migrations" / "versions").glob("*_notes_*.py")
    assert 'create_count_triggers(op, resource="note"' in migration.read_text()
    assert '"/api/{user_id}/notes"' in (repo / "openapi_snapshot.json").read_text()
    python = [str(path) for path in written if path.suffix == ".py"]
    lint = _run(repo, "-m", "ruff", "check", "--quiet", *python, timeout=60)
    assert lint.returncode == 0, lint.stdout

    focused = _run(repo, "-m", "pytest", "-q", "-p", "no:cacheprovider", *FOCUSED, timeout=300)
    assert focused.returncode == 0, focused.stdout[-5000:] + focused.stderr[-2000:]
    print(
        f"\n[scaffold] 1 command line ({len(' '.join(COMMAND))} characters) wrote"
        f" {_added_lines(before, _sources(repo))} lines of Python in {seconds:.1f} s"
    )


def test_every_kind_renders_valid_code() -> None:
    fields = parse_fields(
        [
            "name:str:80",
            "notes:text",
            "done:bool",
            "rank:int",
            "status:enum:new|read|done",
            "due:datetime",
            "labels:tags",
            "project_id:ref:projects",
        ]
    )
    names = Names("zz_test_item", "zz_test_items")
    references = {"project_id": Reference("project", "projects")}
    module = schemas_module(names, fields, references, "scaffold zz_test_items ...")
    compile(module, "zz_test_item.py", "exec")  # not executed: it would declare a real table
    for line in (
        "rank: RankValue = 0",
        'status: StatusValue = "new"',
        "due: DueValue | MISSING | None = MISSING",
        "labels: LabelsValue = Field(default_factory=list)",
        'labels_folded: list[str] = ColumnField(default_factory=list, sa_column=folded("labels"))',
        'ForeignKey("project.id", ondelete="SET NULL")',
        'status: Literal["new", "read", "done"]',
    ):
        assert line in module, line
    declared = declaration(names, fields, references)
    compile(declared, "declaration", "exec")
    assert 'sort=("created_at", "updated_at", "name", "rank", "status", "due"),' in declared
    assert 'filters=("done", "status", "due", "labels", "project_id"),' in declared
    assert 'references={"project_id": projects}' in declared


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


def test_command_line_errors_exit_2_with_the_message(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scaffold", "notes", "title:strin"]) == 2  # refused before writing anything
    assert "scaffold: 'title:strin': the kind is one of" in capsys.readouterr().err
