"""The error taxonomy: domain exceptions and their problem+json (RFC 9457) rendering."""

import functools
import logging
import re
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any, ClassVar

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

PROBLEM_MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("todo_api.errors")


class FieldError(BaseModel):
    loc: list[str | int]
    msg: str


class Problem(BaseModel):
    """Every error body. `code` is stable and meant for programs; `detail` for people."""

    type: str  # always sent ("about:blank"), so required in the published schema
    title: str
    status: int
    detail: str
    code: str
    request_id: str
    errors: list[FieldError] | None = None


class ApiError(Exception):
    """Base of every error the API reports on purpose; one handler renders them all."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "INTERNAL_ERROR"
    default_headers: ClassVar[Mapping[str, str]] = {}

    def __init__(
        self,
        detail: str,
        *,
        headers: Mapping[str, str] | None = None,
        errors: Sequence[FieldError] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = {**self.default_headers, **(headers or {})}
        self.errors = errors


class AuthMissing(ApiError):
    status, code = 401, "AUTH_MISSING"
    default_headers: ClassVar[Mapping[str, str]] = {"WWW-Authenticate": "Bearer"}


class AuthInvalid(ApiError):
    status, code = 401, "AUTH_INVALID"
    default_headers: ClassVar[Mapping[str, str]] = {
        "WWW-Authenticate": 'Bearer error="invalid_token"'
    }


class AuthForbidden(ApiError):
    status, code = 403, "AUTH_FORBIDDEN"


class BadRequest(ApiError):
    status, code = 400, "VALIDATION_ERROR"


class ValidationFailed(ApiError):
    status, code = 422, "VALIDATION_ERROR"


class NotFound(ApiError):
    status, code = 404, "NOT_FOUND"


class MethodNotAllowed(ApiError):
    status, code = 405, "METHOD_NOT_ALLOWED"


class Conflict(ApiError):
    status, code = 409, "CONFLICT"


class PreconditionFailed(ApiError):
    status, code = 412, "PRECONDITION_FAILED"


class PreconditionRequired(ApiError):
    status, code = 428, "PRECONDITION_REQUIRED"


class PayloadTooLarge(ApiError):
    status, code = 413, "PAYLOAD_TOO_LARGE"


class UnsupportedMediaType(ApiError):
    status, code = 415, "UNSUPPORTED_MEDIA_TYPE"


class RateLimited(ApiError):
    status, code = 429, "RATE_LIMITED"


class DatabaseError(ApiError):
    status, code = 500, "DATABASE_ERROR"


class InternalError(ApiError):
    status, code = 500, "INTERNAL_ERROR"


class ServiceUnavailable(ApiError):
    status, code = 503, "SERVICE_UNAVAILABLE"
    default_headers: ClassVar[Mapping[str, str]] = {"Retry-After": "5"}


def taxonomy() -> tuple[type[ApiError], ...]:
    """ApiError and every subclass, in the order they were defined: the published
    `code` enum and the contract's problem examples are read from here, never listed
    a second time."""
    found: list[type[ApiError]] = [ApiError]
    for cls in found:  # grows while it is walked: subclasses of subclasses too
        found.extend(sub for sub in cls.__subclasses__() if sub not in found)
    return tuple(found)


def request_id_of(request: Request) -> str:
    return str(request.scope.get("state", {}).get("request_id", ""))


def problem_response(request: Request, error: ApiError) -> Response:
    if error.status >= 500 and error.__cause__ is not None:
        _log_cause(request_id_of(request), error, error.__cause__)
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(error.status).phrase,
        "status": error.status,
        "detail": error.detail,
        "code": error.code,
        "request_id": request_id_of(request),
    }
    if error.errors is not None:
        body["errors"] = [e.model_dump() for e in error.errors]
    # Carried here too, for the 500s rendered outside the request-id middleware.
    headers = (
        {**error.headers, "X-Request-ID": body["request_id"]}
        if body["request_id"]
        else error.headers
    )
    return Response(
        orjson.dumps(body), error.status, headers=headers, media_type=PROBLEM_MEDIA_TYPE
    )


def _log_cause(request_id: str, error: ApiError, cause: BaseException) -> None:
    """A 5xx raised `from` a failure underneath (the database, see `api.db`) is logged
    here, once, where the request id is known: one JSON line, the traceback inside it
    for a 500, only the failure's type for a 503 (an outage would flood the log)."""
    driver = getattr(cause, "orig", None) or cause  # SQLAlchemy wraps the driver's error
    fields = {"request_id": request_id, "code": error.code, "cause": type(driver).__name__}
    if error.status == 503:
        log.warning("%s: %s", error.code, type(driver).__name__, extra={"fields": fields})
    else:
        log.error(
            "%s: %s", error.code, type(driver).__name__, exc_info=cause, extra={"fields": fields}
        )


_BY_STATUS: dict[int, type[ApiError]] = {
    cls.status: cls
    for cls in (
        BadRequest,
        AuthInvalid,
        AuthForbidden,
        NotFound,
        MethodNotAllowed,
        Conflict,
        PayloadTooLarge,
        UnsupportedMediaType,
        ValidationFailed,
        RateLimited,
    )
}
_ROUTING_DETAILS = {404: "No such endpoint.", 405: "Method not allowed on this endpoint."}
# fastapi-users answers 400 for a taken e-mail; it is a conflict with existing data.
_CONFLICT_CODES = frozenset({"REGISTER_USER_ALREADY_EXISTS", "UPDATE_USER_EMAIL_ALREADY_EXISTS"})
_HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def _from_http_exception(request: Request, exc: StarletteHTTPException) -> ApiError:
    """Framework and library errors (unknown route, fastapi-users' codes such as
    LOGIN_BAD_CREDENTIALS) in the same envelope. Their string details are written for
    clients; anything else is replaced by a generic sentence."""
    cls = _BY_STATUS.get(exc.status_code, InternalError)
    if exc.status_code == 400 and isinstance(exc.detail, str) and exc.detail in _CONFLICT_CODES:
        cls = Conflict
    detail = _ROUTING_DETAILS.get(exc.status_code)
    if detail is None:
        detail = exc.detail if isinstance(exc.detail, str) and cls is not InternalError else None
    # Only headers the client needs (e.g. Allow) ride along; nothing else leaks.
    headers = {k: v for k, v in (exc.headers or {}).items() if k.lower() == "allow"}
    if exc.status_code == 405:
        headers = {"Allow": _allowed_methods(request) or headers.get("Allow", "")}
    return cls(detail or "The request could not be processed.", headers=headers)


def _allowed_methods(request: Request) -> str | None:
    """Every method the contract declares for the requested path: the router reports
    only those of the first route whose path matched."""
    for template, operations in request.app.openapi().get("paths", {}).items():
        if _path_pattern(template).fullmatch(request.url.path):
            return ", ".join(m.upper() for m in operations if m in _HTTP_METHODS)
    return None


@functools.lru_cache(maxsize=512)  # the app's path templates: a few dozen
def _path_pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"\{[^}/]+\}", template)
    return re.compile("[^/]+".join(re.escape(part) for part in parts))


def _from_validation_error(exc: RequestValidationError) -> ApiError:
    raw = exc.errors()
    if any(e.get("type") == "json_invalid" for e in raw):
        return BadRequest("The request body is not valid JSON.")
    errors = [
        FieldError(loc=[p for p in e.get("loc", ()) if isinstance(p, str | int)], msg=str(e["msg"]))
        for e in raw
    ]
    return ValidationFailed("The request does not match the schema.", errors=errors)


def error_response(request: Request, exc: Exception) -> Response | None:
    """The problem response for an error the API reports on purpose (its own, or a
    framework HTTP error such as the body limit's 413); None for anything else."""
    if isinstance(exc, ApiError):
        return problem_response(request, exc)
    if isinstance(exc, StarletteHTTPException):
        return problem_response(request, _from_http_exception(request, exc))
    return None


def install_error_handlers(app: FastAPI) -> None:
    # api.db imports this module; the mapping lives there, next to the drivers.
    from api.db import DATABASE_ERRORS, database_problem

    async def on_api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return problem_response(request, exc)

    async def on_http_exception(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        return problem_response(request, _from_http_exception(request, exc))

    async def on_validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return problem_response(request, _from_validation_error(exc))

    async def on_database_error(request: Request, exc: Exception) -> Response:
        # Routes that are not generated (the built-in accounts, hand-written ones) reach
        # the database themselves: their failures get the same mapping as the store's.
        problem = database_problem(exc)
        problem.__cause__ = exc
        return problem_response(request, problem)

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        return problem_response(request, InternalError("An unexpected error occurred."))

    app.add_exception_handler(ApiError, on_api_error)
    for database_exception in DATABASE_ERRORS:
        app.add_exception_handler(database_exception, on_database_error)
    app.add_exception_handler(StarletteHTTPException, on_http_exception)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(Exception, on_unexpected)


_DESCRIPTIONS = {
    400: "The body is not valid JSON.",
    401: "Missing or invalid bearer token.",
    403: "The path names another user.",
    404: "No such item (or it belongs to someone else).",
    409: "Conflicts with existing data (or a limit was reached).",
    412: "`If-Match` does not match the current ETag.",
    413: "The body is too large.",
    415: "The body is not JSON.",
    422: "The request does not match the schema.",
    428: "This resource requires `If-Match`.",
    429: "Too many requests; see Retry-After.",
    500: "Unexpected server or database error.",
    503: "The database or key server is unavailable; see Retry-After.",
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these error statuses (429, 500 and 503 can happen anywhere)."""
    return {
        status: {"model": Problem, "description": _DESCRIPTIONS[status]}
        for status in sorted({*statuses, 429, 500, 503})
    }
