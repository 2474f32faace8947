"""Reading a generated endpoint's inputs from the request, as FastAPI documents them.

Each endpoint's parameters are declared once, as `Annotated[type, Path() | Query() |
Header() | Body()]`. FastAPI reads those declarations for the OpenAPI contract; this
module reads the same declarations to validate requests, without FastAPI's per-request
dependency solving (a large share of a request's cost on the hot path). Failures are
reported as FastAPI would: every field error at once, located as `[source, name, ...]`.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, get_args, get_origin

from fastapi import params as fastapi_params
from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_core import ErrorDetails
from starlette.requests import ClientDisconnect, Request

from api.errors import BadRequest, FieldError, ValidationFailed
from schemas.types import PATTERN_MESSAGES

CACHE_BUSTER = "_"  # `?_=<timestamp>`, added by HTTP clients to defeat caches: ignored


@dataclass(frozen=True, slots=True)
class _Scalar:
    """A path or header parameter."""

    name: str  # the handler's key
    source: str  # "path" or "header"
    key: str  # the path parameter, or the header's documented name
    validate: Callable[[Any], Any]
    optional: bool


class ParameterReader:
    def __init__(self, annotations: Mapping[str, Any]) -> None:
        self._scalars: list[_Scalar] = []
        self._query: tuple[str, type[BaseModel]] | None = None
        self._repeatable: frozenset[str] = frozenset()  # query fields that take a list
        self._body: tuple[str, type[BaseModel]] | None = None
        self.body_optional = False
        for name, annotation in annotations.items():
            self._add(name, annotation)

    def _add(self, name: str, annotation: Any) -> None:
        if get_origin(annotation) is not Annotated:
            raise TypeError(f"{name}: parameters are declared as Annotated[type, source]")
        value_type, marker = get_args(annotation)[:2]
        if isinstance(marker, fastapi_params.Body):
            models = [t for t in get_args(value_type) if t is not type(None)] or [value_type]
            self.body_optional = type(None) in get_args(value_type)
            self._body = (name, models[0])
        elif isinstance(marker, fastapi_params.Query):
            self._query = (name, value_type)
            self._repeatable = frozenset(
                field
                for field, info in value_type.model_fields.items()
                if list
                in (get_origin(info.annotation), *map(get_origin, get_args(info.annotation)))
            )
        elif isinstance(marker, fastapi_params.Header | fastapi_params.Path):
            source = "header" if isinstance(marker, fastapi_params.Header) else "path"
            key = marker.alias or (name.replace("_", "-") if source == "header" else name)
            optional = type(None) in get_args(value_type)
            # The compiled validator itself: TypeAdapter's Python wrapper costs more than
            # the validation of one short string.
            validate = TypeAdapter(annotation).validator.validate_python
            self._scalars.append(_Scalar(name, source, key, validate, optional))
        else:
            raise TypeError(f"{name}: unsupported parameter source {marker!r}")

    async def read(self, request: Request) -> dict[str, Any]:
        """Every declared parameter, validated; 422 lists every problem, 400 if the body
        is not JSON at all."""
        values: dict[str, Any] = {}
        errors: list[FieldError] = []
        for scalar in self._scalars:
            if scalar.source == "path":
                raw = request.path_params.get(scalar.key)
            else:
                raw = request.headers.get(scalar.key)
            if raw is None and scalar.optional:
                values[scalar.name] = None
                continue
            _validate(
                values,
                errors,
                scalar.name,
                scalar.validate,
                raw,
                [scalar.source, scalar.key],
            )
        if self._query is not None:
            name, model = self._query
            query: dict[str, Any] = dict(request.query_params)
            query.pop(CACHE_BUSTER, None)
            for field in self._repeatable & query.keys():
                query[field] = request.query_params.getlist(field)
            _validate(values, errors, name, model.model_validate, query, ["query"])
        if self._body is not None:
            name, model = self._body
            body = await read_body(request)
            if self.body_optional and (not body or body.strip() == b"null"):
                values[name] = None  # an optional body may be left out, or sent as `null`
            elif not body:
                errors.append(FieldError(loc=["body"], msg="Field required"))
            else:
                try:  # parsed and validated in one pass, without building the document
                    values[name] = model.model_validate_json(body)
                except ValidationError as exc:
                    problems = exc.errors(include_url=False)
                    if any(problem["type"] == "json_invalid" for problem in problems):
                        raise BadRequest("The request body is not valid JSON.") from None
                    errors.extend(_located(problems, ["body"]))
        if errors:
            raise ValidationFailed("The request does not match the schema.", errors=errors)
        return values


async def read_body(request: Request) -> bytes:
    """`request.body()` without its async generator and `aclosing` (a JSON body is
    mostly one message); kept on the request as Starlette keeps it, so a later
    `request.body()` returns it again (tests/test_framework_seams.py pins this)."""
    if hasattr(request, "_body") or request._stream_consumed:
        return await request.body()  # read before (or consumed: Starlette says so)
    chunks: list[bytes] = []
    while True:
        message = await request.receive()
        if message["type"] == "http.request":
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        elif message["type"] == "http.disconnect":
            raise ClientDisconnect()
    body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    request._body = body
    request._stream_consumed = True
    return body


def _validate(
    values: dict[str, Any],
    errors: list[FieldError],
    name: str,
    validate: Callable[[Any], Any],
    raw: Any,
    where: list[str | int],
) -> None:
    try:
        values[name] = validate(raw)
    except ValidationError as exc:
        errors.extend(_located(exc.errors(include_url=False), where))


def _located(problems: list[ErrorDetails], where: list[str | int]) -> list[FieldError]:
    """Pydantic's errors, located in the request (`["body", "title"]`), in words."""
    return [
        FieldError(loc=[*where, *(p for p in e["loc"] if isinstance(p, str | int))], msg=_words(e))
        for e in problems
    ]


def _words(error: ErrorDetails) -> str:
    """A sentence for people: a pattern is described, never shown."""
    if error["type"] == "string_pattern_mismatch":
        pattern = (error.get("ctx") or {}).get("pattern")
        return PATTERN_MESSAGES.get(str(pattern), "The text has a form that is not accepted.")
    if error["type"] == "timezone_aware":
        return "The time needs an offset, e.g. `2026-12-24T18:00:00Z` or `…+01:00`."
    if error["type"] == "extra_forbidden" and error["loc"]:
        return f"Unknown field `{error['loc'][-1]}`."
    return error["msg"]
