"""What the contract declares besides bodies, checked over every operation: the response
headers the API sends, the problem `code` as the taxonomy's enum, and an example for
every request body and every error response. (That the declared headers are really
sent is checked by the fuzz tests: Schemathesis validates every response's headers.)"""

import json
from collections.abc import Iterator
from typing import Any

import jsonschema_rs
import pytest

from api import errors
from api.cli import openapi_document
from api.errors import PROBLEM_MEDIA_TYPE, ApiError, taxonomy
from api.resources import RESOURCES

METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
Responses = Iterator[tuple[str, str, dict[str, Any]]]


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(openapi_document())
    return parsed


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield f"{method.upper()} {path}", operation


def _responses(document: dict[str, Any]) -> Responses:
    """(operation label, status, response) for every response of every operation."""
    for label, operation in _operations(document):
        for status, response in operation["responses"].items():
            yield label, status, response


def _resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _headers(document: dict[str, Any], response: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Response headers by lower-case name, references resolved."""
    return {
        name.lower(): _resolve(document, header)
        for name, header in response.get("headers", {}).items()
    }


def _is_item(document: dict[str, Any], response: dict[str, Any]) -> bool:
    schema = response.get("content", {}).get("application/json", {}).get("schema")
    return schema is not None and "version" in _resolve(document, schema).get("required", ())


def _valid(document: dict[str, Any], schema: dict[str, Any], instance: Any) -> list[str]:
    """Errors of `instance` against `schema`, whose references point into `document`."""
    root = {**schema, "components": document["components"]}
    return [error.message for error in jsonschema_rs.validator_for(root).iter_errors(instance)]


def test_every_response_declares_its_request_id(document: dict[str, Any]) -> None:
    missing = [
        f"{label} {status}"
        for label, status, response in _responses(document)
        if not _headers(document, response).get("x-request-id", {}).get("required")
    ]
    assert missing == []


@pytest.mark.parametrize(
    ("status", "header"),
    [("401", "www-authenticate"), ("429", "retry-after"), ("503", "retry-after")],
)
def test_error_responses_declare_their_headers(
    document: dict[str, Any], status: str, header: str
) -> None:
    answering = [(label, r) for label, s, r in _responses(document) if s == status]
    assert answering, f"no operation declares {status}"
    missing = [label for label, r in answering if header not in _headers(document, r)]
    assert missing == []


def test_item_responses_declare_their_etag(document: dict[str, Any]) -> None:
    """Every 2xx whose body is an item (it has a `version`) and every 304 carry an ETag;
    a 201 item also its Location."""
    items = [
        (label, status, response)
        for label, status, response in _responses(document)
        if status == "304" or (status.startswith("2") and _is_item(document, response))
    ]
    assert len(items) >= 5 * len(RESOURCES)  # create, get (200, 304), replace, update
    for label, status, response in items:
        headers = _headers(document, response)
        assert headers.get("etag", {}).get("required"), f"{label} {status}"
        if status == "201":
            assert headers.get("location", {}).get("required"), label


def test_idempotent_creates_declare_the_replay_marker(document: dict[str, Any]) -> None:
    keyed = [
        (label, operation)
        for label, operation in _operations(document)
        if any(p["name"] == "Idempotency-Key" for p in operation.get("parameters", ()))
    ]
    assert {operation["operationId"] for _, operation in keyed} >= {
        f"create_{resource.name}" for resource in RESOURCES
    }
    for label, operation in keyed:
        for status, response in operation["responses"].items():
            if status.startswith("2"):
                assert "idempotency-replayed" in _headers(document, response), label


def test_problem_code_is_the_taxonomy(document: dict[str, Any]) -> None:
    code = document["components"]["schemas"]["Problem"]["properties"]["code"]
    defined = {
        value.code
        for value in vars(errors).values()
        if isinstance(value, type) and issubclass(value, ApiError)
    }
    assert code["type"] == "string"
    assert set(code["enum"]) == defined
    assert {"AUTH_MISSING", "NOT_FOUND", "VALIDATION_ERROR", "SERVICE_UNAVAILABLE"} <= defined


def test_every_error_response_has_a_problem_example(document: dict[str, Any]) -> None:
    problem = {"$ref": "#/components/schemas/Problem"}
    codes_by_status: dict[int, set[str]] = {}
    for cls in taxonomy():
        codes_by_status.setdefault(cls.status, set()).add(cls.code)
    checked = 0
    for label, status, response in _responses(document):
        if status[0] not in "45":
            continue
        media = response["content"][PROBLEM_MEDIA_TYPE]
        example = media.get("example")
        assert example is not None, f"{label} {status}"
        assert _valid(document, problem, example) == [], f"{label} {status}"
        assert example["status"] == int(status), f"{label} {status}"
        assert example["code"] in codes_by_status[int(status)], f"{label} {status}"
        checked += 1
    assert checked > 0


def test_every_request_body_has_a_valid_example(document: dict[str, Any]) -> None:
    bodies = [
        (f"{label} {media_type}", media)
        for label, operation in _operations(document)
        for media_type, media in operation.get("requestBody", {}).get("content", {}).items()
    ]
    assert len(bodies) >= 3 * len(RESOURCES)  # create, replace, update
    for label, media in bodies:
        example = media.get("example")
        assert example, label
        assert _valid(document, media["schema"], example) == [], label
