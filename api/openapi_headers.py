"""The response headers of the published contract, declared where the API sends them."""

import copy
from typing import Any

IDEMPOTENCY_KEY = "Idempotency-Key"
REQUEST_ID_EXAMPLE = "0f3c9a5e8b7d4e21a6c1f2b3d4e5f607"
_HEADERS: dict[str, dict[str, Any]] = {
    "X-Request-ID": {
        "description": "The request's id: the client's own when well-formed, else a new one.",
        "required": True,
        "schema": {"type": "string", "maxLength": 128},
        "example": REQUEST_ID_EXAMPLE,
    },
    "ETag": {
        "description": "The item's version as a strong entity tag; send it as `If-Match`.",
        "required": True,
        "schema": {"type": "string", "pattern": '^"[0-9]+"$'},
        "example": '"1"',
    },
    "Location": {
        "description": "URL of the new item.",
        "required": True,
        "schema": {"type": "string", "format": "uri-reference"},
    },
    "Idempotency-Replayed": {
        "description": "`true` when this is the stored answer to an earlier request with "
        "the same `Idempotency-Key`.",
        "schema": {"type": "string", "enum": ["true"]},
    },
    "WWW-Authenticate": {
        "description": "The bearer challenge (RFC 6750).",
        "required": True,
        "schema": {"type": "string"},
        "example": 'Bearer error="invalid_token"',
    },
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "required": True,
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
        "example": "5",
    },
}
_ERROR_HEADERS = {"401": ("WWW-Authenticate",), "429": ("Retry-After",), "503": ("Retry-After",)}


def response_headers(operation: dict[str, Any], schemas: dict[str, Any]) -> None:
    """The headers each response carries (api.observability, api.errors, the generated
    routes), so a client generator sees them: the request id on every response; an
    item's ETag (its `version`) wherever the body is an item, and on 304; the new item's
    Location on 201; the replay marker where an Idempotency-Key is accepted; the
    challenge on 401; when to retry on 429 and 503."""
    idempotent = any(p.get("name") == IDEMPOTENCY_KEY for p in operation.get("parameters", ()))
    for status, response in operation.get("responses", {}).items():
        headers = response.setdefault("headers", {})
        names = ["X-Request-ID"]
        item = status[0] == "2" and _is_item(response, schemas)
        if item or status == "304":
            names.append("ETag")
        if item and status == "201":
            names.append("Location")
        if idempotent and status[0] == "2":
            names.append("Idempotency-Replayed")
        names.extend(_ERROR_HEADERS.get(status, ()))
        for name in names:
            headers[name] = {"$ref": f"#/components/headers/{name}"}


def header_components() -> dict[str, dict[str, Any]]:
    """`components.headers`: each header described once, referenced by the responses."""
    return copy.deepcopy(_HEADERS)


def _is_item(response: dict[str, Any], schemas: dict[str, Any]) -> bool:
    """A body of a generated resource: its schema has the `version` its ETag is made of."""
    ref = response.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref")
    schema = schemas.get(ref.rsplit("/", 1)[-1], {}) if ref else {}
    return "version" in schema.get("required", ())
