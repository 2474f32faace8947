"""The published contract: FastAPI's document plus what it cannot infer on its own."""

import json
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from api.auth.users import LOGIN_FIELD_LIMITS, LOGIN_PATH
from api.errors import PROBLEM_MEDIA_TYPE, taxonomy
from api.openapi_headers import REQUEST_ID_EXAMPLE, header_components, response_headers

PROBLEM_REF = "#/components/schemas/Problem"
# fastapi-users declares its own error model and only some of the statuses its routes
# answer; through api.errors every one of them is a problem. Keyed by (method, path).
_ACCOUNT_ROUTE_ERRORS: dict[tuple[str, str], tuple[int, ...]] = {
    ("post", LOGIN_PATH): (400, 413, 422, 429),
    ("post", "/auth/jwt/logout"): (401,),
    ("post", "/auth/register"): (400, 409, 413, 422),
    ("get", "/users/me"): (401,),
    ("patch", "/users/me"): (400, 401, 409, 413, 422),
    ("get", "/users/{id}"): (401, 403, 404),
    ("patch", "/users/{id}"): (400, 401, 403, 404, 409, 413, 422),
    ("delete", "/users/{id}"): (401, 403, 404),
}
_ALWAYS = (500, 503)  # the database (or key server) can fail under any route
_ACCOUNT_EMAIL, _ACCOUNT_PASSWORD = "ada@example.com", "a long passphrase"
_ACCOUNT_BODY_EXAMPLES: dict[tuple[str, str], dict[str, Any]] = {
    ("post", LOGIN_PATH): {"username": _ACCOUNT_EMAIL, "password": _ACCOUNT_PASSWORD},
    ("post", "/auth/register"): {"email": _ACCOUNT_EMAIL, "password": _ACCOUNT_PASSWORD},
    ("patch", "/users/me"): {"password": "a new long passphrase"},
    ("patch", "/users/{id}"): {"is_active": False},
}
_FASTAPI_ERROR_SCHEMAS = ("HTTPValidationError", "ValidationError", "ErrorModel")
_SECURITY_SCHEMES = {
    "bearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A Better Auth JWT, or an HS256 token signed with JWT_SECRET.",
    }
}


def contract(app: FastAPI) -> dict[str, Any]:
    """Error bodies are problems; every status a route answers is declared; query and
    header parameters have the plain types they can carry; generated routes need a
    bearer token, the built-in account routes a token from the login route."""
    if app.openapi_schema is None:
        document = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        schemas = document.get("components", {}).get("schemas", {})
        for path, path_item in document.get("paths", {}).items():
            for method, operation in path_item.items():
                _declare_account_route(operation, method, path)
                _problem_bodies(operation)
                _plain_parameters(operation)
                response_headers(operation, schemas)
                _body_example(operation, method, path, schemas)
        _bound_account_inputs(document)
        schemas["Problem"]["properties"]["code"]["enum"] = sorted({c.code for c in taxonomy()})
        components = document.setdefault("components", {})
        components["headers"] = header_components()
        # Merged, not replaced: fastapi-users' OAuth2 scheme names the login route.
        components["securitySchemes"] = {
            **components.get("securitySchemes", {}),
            **_SECURITY_SCHEMES,
        }
        _drop_unused_schemas(document)
        app.openapi_schema = document
    return app.openapi_schema


def _declare_account_route(operation: dict[str, Any], method: str, path: str) -> None:
    statuses = _ACCOUNT_ROUTE_ERRORS.get((method, path))
    if statuses is None:
        return
    responses = operation["responses"]
    for status in (*statuses, *_ALWAYS):
        responses.setdefault(str(status), {"description": _ERROR_DESCRIPTIONS[status]})
    if path == "/auth/jwt/logout":
        # Bearer tokens cannot be revoked by the server: logout answers 204, no body.
        responses.pop("200", None)
        responses["204"] = {"description": "Nothing to do server-side; drop the token."}


_ERROR_DESCRIPTIONS = {
    400: "The body is malformed, or the credentials are wrong.",
    401: "Missing or invalid bearer token.",
    403: "Only a superuser may do this.",
    404: "No such user.",
    409: "A user with this e-mail already exists.",
    413: "The body is too large.",
    422: "The request does not match the schema.",
    429: "Too many login attempts; see Retry-After.",
    500: "Unexpected server or database error.",
    503: "The database is unavailable; see Retry-After.",
}


def _problem_bodies(operation: dict[str, Any]) -> None:
    """Every 4xx/5xx body is a problem (api.errors renders them all), whatever model or
    examples the route declared; its example says what the response's description says."""
    example_codes = {cls.status: cls.code for cls in taxonomy()}  # the last defined wins
    for status, response in operation.get("responses", {}).items():
        if status[0] not in "45":
            continue
        example = {
            "type": "about:blank",
            "title": HTTPStatus(int(status)).phrase,
            "status": int(status),
            "detail": response["description"],
            "code": example_codes[int(status)],
            "request_id": REQUEST_ID_EXAMPLE,
        }
        if status == "422":
            example["errors"] = [{"loc": ["body"], "msg": "Field required"}]
        response["content"] = {
            PROBLEM_MEDIA_TYPE: {"schema": {"$ref": PROBLEM_REF}, "example": example}
        }


def _body_example(
    operation: dict[str, Any], method: str, path: str, schemas: dict[str, Any]
) -> None:
    """One example per request body: the account routes' from a table (fastapi-users'
    schemas give none), the others made of their fields' own (deprecated aliases left
    out: sent beside the field they name, they could contradict it)."""
    for media in operation.get("requestBody", {}).get("content", {}).values():
        if "example" in media or "examples" in media:
            continue
        example = _ACCOUNT_BODY_EXAMPLES.get((method, path))
        if example is None:
            # `$ref`, or `anyOf: [{$ref}, {type: null}]` for a body that may be left out.
            schema = media.get("schema", {})
            refs = [v["$ref"] for v in (schema, *schema.get("anyOf", ())) if "$ref" in v]
            named = schemas.get(refs[0].rsplit("/", 1)[-1], {}) if refs else {}
            properties = named.get("properties", {})
            example = {
                name: value
                for name, prop in properties.items()
                if not prop.get("deprecated") and (value := _field_example(prop)) is not None
            }
        media["example"] = example


def _field_example(prop: dict[str, Any]) -> Any:
    """The field's first `examples` entry, else its default; a flag without either
    (PUT's required `completed`) is shown unset."""
    for variant in (prop, *prop.get("anyOf", ())):
        if variant.get("examples"):
            return variant["examples"][0]
    if "default" in prop:
        return prop["default"]
    return False if prop.get("type") == "boolean" else None


def _plain_parameters(operation: dict[str, Any]) -> None:
    """`X | None` query and header parameters become plain `X`: neither can carry null;
    leaving the parameter out is how a client says "none"."""
    for parameter in operation.get("parameters", []):
        schema = parameter.get("schema", {})
        variants = schema.get("anyOf")
        if parameter.get("in") not in ("query", "header") or not variants:
            continue
        concrete = [v for v in variants if v.get("type") != "null"]
        if len(concrete) == 1 and len(concrete) < len(variants):
            rest = {k: v for k, v in schema.items() if k != "anyOf"}
            parameter["schema"] = {**concrete[0], **rest}


def _bound_account_inputs(document: dict[str, Any]) -> None:
    """Bounds fastapi-users does not state: a user id is a UUID, and login fields are
    required non-empty (an empty form field is a missing one) and never longer than a
    registered account's."""
    for method in ("get", "patch", "delete"):
        operation = document["paths"].get("/users/{id}", {}).get(method)
        for parameter in operation.get("parameters", []) if operation else ():
            if parameter["name"] == "id":
                parameter["schema"] = {**parameter["schema"], "format": "uuid", "maxLength": 36}
    login = document["paths"].get(LOGIN_PATH, {}).get("post")
    if login is None:
        return
    body_ref = login["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    body = document["components"]["schemas"][body_ref["$ref"].rsplit("/", 1)[-1]]
    for field, (minimum, maximum) in LOGIN_FIELD_LIMITS.items():
        body["properties"][field] |= {"minLength": minimum, "maxLength": maximum}
    # A form field sent empty is a field left out: `grant_type=` is accepted as no grant.
    for variant in body["properties"].get("grant_type", {}).get("anyOf", []):
        if variant.get("pattern") == "^password$":
            variant["pattern"] = "^(password)?$"


def _drop_unused_schemas(document: dict[str, Any]) -> None:
    """FastAPI's own error models, once the problem has replaced them everywhere."""
    schemas = document["components"].get("schemas", {})
    for name in _FASTAPI_ERROR_SCHEMAS:
        rest = {key: value for key, value in schemas.items() if key != name}
        if f'"#/components/schemas/{name}"' not in json.dumps([document["paths"], rest]):
            schemas.pop(name, None)
