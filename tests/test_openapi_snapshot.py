"""The published contract: it matches the committed snapshot and keeps its promises."""

import difflib
import json
from pathlib import Path
from typing import Any

import pytest

from api.cli import openapi_document
from api.resources import RESOURCES

SNAPSHOT = Path(__file__).resolve().parent.parent / "openapi_snapshot.json"
PROBLEM_REF = "#/components/schemas/Problem"
METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(openapi_document())
    return parsed


def _operations(document: dict[str, Any], prefix: str = "/") -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{method.upper()} {path}", operation)
        for path, item in document["paths"].items()
        if path.startswith(prefix)
        for method, operation in item.items()
        if method in METHODS
    ]


def test_openapi_matches_the_committed_snapshot() -> None:
    current, committed = openapi_document(), SNAPSHOT.read_text()
    if current != committed:
        diff = difflib.unified_diff(
            committed.splitlines(),
            current.splitlines(),
            "openapi_snapshot.json",
            "app",
            n=2,
            lineterm="",
        )
        pytest.fail(
            "The app's OpenAPI differs from openapi_snapshot.json. If the change is intended,"
            " run `make snapshot` and review the diff like code:\n" + "\n".join(list(diff)[:80])
        )


def test_every_operation_has_an_operation_id(document: dict[str, Any]) -> None:
    ids = [op.get("operationId") for _, op in _operations(document)]
    assert all(ids), [name for name, op in _operations(document) if not op.get("operationId")]
    assert len(ids) == len(set(ids)), "operationIds must be unique"


def test_generated_operations_have_fixed_ids(document: dict[str, Any]) -> None:
    for resource in RESOURCES:
        collection = f"/api/{{user_id}}/{resource.plural}"
        item = f"{collection}/{{{resource.item_id}}}"
        name, plural = resource.name, resource.plural
        assert {
            (path, method): op["operationId"]
            for path in (collection, item)
            for method, op in document["paths"][path].items()
        } == {
            (collection, "get"): f"list_{plural}",
            (collection, "post"): f"create_{name}",
            (item, "get"): f"get_{name}",
            (item, "put"): f"replace_{name}",
            (item, "patch"): f"update_{name}",
            (item, "delete"): f"delete_{name}",
        }


def test_generated_operations_require_a_bearer_token(document: dict[str, Any]) -> None:
    scheme = document["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    missing = [
        name
        for name, op in _operations(document, "/api/")
        if op.get("security") != [{"bearerAuth": []}]
    ]
    assert not missing, missing


def test_error_responses_are_problems(document: dict[str, Any]) -> None:
    problem = document["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail", "code", "request_id"} <= set(problem["required"])
    wrong = [
        f"{name} {status}"
        for name, op in _operations(document)
        for status, response in op["responses"].items()
        if status[0] in "45"
        and (
            set(response.get("content", {})) != {"application/problem+json"}
            or response["content"]["application/problem+json"]["schema"] != {"$ref": PROBLEM_REF}
        )
    ]
    assert not wrong, wrong


def test_generated_operations_declare_every_status_they_answer(document: dict[str, Any]) -> None:
    always = {"401", "403", "422", "429", "500", "503"}
    with_body = {"400", "413", "415"}
    for name, op in _operations(document, "/api/"):
        method, path = name.split(" ", 1)
        expected = set(always)
        if method in ("POST", "PUT", "PATCH"):
            expected |= with_body
        if path.endswith("}") and path.count("{") == 2:  # an item route
            expected.add("404")
        missing = expected - set(op["responses"])
        assert not missing, f"{name} does not declare {sorted(missing)}"


def _schema(document: dict[str, Any], ref: str) -> dict[str, Any]:
    schema: dict[str, Any] = document["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    return schema


def _model_ref(schema: dict[str, Any]) -> str:
    """The model of a body, also of an optional one (`anyOf: [model, null]`)."""
    refs = [s["$ref"] for s in schema.get("anyOf", [schema]) if "$ref" in s]
    assert len(refs) == 1, schema
    return str(refs[0])


def test_request_bodies_refuse_unknown_fields(document: dict[str, Any]) -> None:
    bodies = [
        (name, _model_ref(op["requestBody"]["content"]["application/json"]["schema"]))
        for name, op in _operations(document, "/api/")
        if "requestBody" in op
    ]
    actions = sum(len(resource.toggles) for resource in RESOURCES)
    assert len(bodies) == 3 * len(RESOURCES) + actions
    lax = [
        name
        for name, ref in bodies
        if _schema(document, ref).get("additionalProperties") is not False
    ]
    assert not lax, lax


def test_task_rules_are_visible_in_the_schema(document: dict[str, Any]) -> None:
    """What the code enforces, a client generator can read."""
    for name in ("TaskCreate", "TaskUpdate", "TaskPatch"):
        properties = document["components"]["schemas"][name]["properties"]
        title = properties["title"]
        assert (title["minLength"], title["maxLength"]) == (1, 200), name
        assert "\\x00-\\x1f" in title["pattern"], name
        assert properties["completed"]["type"] == "boolean", name
        description = next(v for v in properties["description"]["anyOf"] if v["type"] == "string")
        assert description["maxLength"] == 1000, name
        assert "\\x00-\\x08" in description["pattern"], name
    assert document["components"]["schemas"]["TaskCreate"]["required"] == ["title"]
    assert "required" not in document["components"]["schemas"]["TaskPatch"]
