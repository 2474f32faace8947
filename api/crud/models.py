"""The models a resource's endpoints speak, derived from its declared schemas.

What every resource gets: a PATCH body must name at least one field. What a declaration
turns on: `aliases`, old names of fields (e.g. `complete` for `completed`) accepted on
input, mirrored on output and published as deprecated.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import MISSING, BaseModel, ConfigDict, Field, StrictBool, TypeAdapter, create_model
from pydantic.fields import FieldInfo

from api.errors import BadRequest, FieldError, ValidationFailed

AT_LEAST_ONE_FIELD = "At least one field must be provided."


@dataclass(frozen=True, slots=True)
class ApiModels:
    create: type[BaseModel]
    replace: type[BaseModel]
    patch: type[BaseModel]
    read: type[BaseModel]
    page: type[BaseModel]


def derive(
    *,
    create: type[BaseModel],
    replace: type[BaseModel],
    patch: type[BaseModel],
    read: type[BaseModel],
    page: type[BaseModel],
    plural: str,
    aliases: Mapping[str, str],
) -> ApiModels:
    read_model = _extended(read, {a: _output_alias(read, t) for a, t in aliases.items()})
    page_model = page
    if aliases:
        page_model = _extended(page, {plural: (list[read_model], page.model_fields[plural])})  # type: ignore[valid-type]
    return ApiModels(
        create=_with_input_aliases(create, aliases),
        replace=_with_input_aliases(replace, aliases),
        patch=_with_input_aliases(patch, aliases, extra={"minProperties": 1}),
        read=read_model,
        page=page_model,
    )


def _with_input_aliases(
    schema: type[BaseModel], aliases: Mapping[str, str], extra: dict[str, Any] | None = None
) -> type[BaseModel]:
    fields: dict[str, tuple[Any, Any]] = {}
    rules: list[dict[str, Any]] = []
    for alias, target in aliases.items():
        info = schema.model_fields[target]
        optional = _annotation(info) | MISSING
        fields[alias] = (
            optional,
            Field(MISSING, deprecated=True, description=f"Deprecated name of `{target}`."),
        )
        if info.is_required():
            # Required under either name: the schema says so, `resolve` enforces it.
            fields[target] = (optional, Field(MISSING, description=info.description))
            rules.append({"anyOf": [{"required": [target]}, {"required": [alias]}]})
        rules.append(_agreement(alias, target, _annotation(info)))
    schema_extra = dict(extra or {})
    if rules:
        schema_extra["allOf"] = rules
    return _extended(schema, fields, schema_extra)


def _agreement(alias: str, target: str, annotation: Any) -> dict[str, Any]:
    """The schema of "not both, or both with the same value", so a generator reading the
    contract never sends a pair the API refuses: spelled out per value where the values
    are few (booleans, enums), else simply "not both"."""
    values_schema = TypeAdapter(annotation).json_schema()
    values: list[Any] = (
        [True, False] if values_schema.get("type") == "boolean" else values_schema.get("enum", [])
    )
    branches: list[dict[str, Any]] = [
        {"not": {"required": [alias]}},
        {"not": {"required": [target]}},
    ]
    branches += [
        {"properties": {target: {"const": value}, alias: {"const": value}}} for value in values
    ]
    return {"anyOf": branches}


def _output_alias(read: type[BaseModel], target: str) -> tuple[Any, FieldInfo]:
    info = read.model_fields[target]
    return _annotation(info), Field(deprecated=True, description=f"Deprecated name of `{target}`.")


def _annotation(info: FieldInfo) -> Any:
    """The field's type with its constraints and validators, to declare it again."""
    if not info.metadata:
        return info.annotation
    return Annotated[(info.annotation, *info.metadata)]


def _extended(
    base: type[BaseModel],
    fields: Mapping[str, tuple[Any, Any]],
    schema_extra: dict[str, Any] | None = None,
) -> type[BaseModel]:
    """A subclass of `base` with these fields added or replaced, under the same name (the
    OpenAPI document shows the name clients know); `base` itself when nothing changes."""
    if not fields and not schema_extra:
        return base
    namespace: dict[str, Any] = {
        "__module__": base.__module__,
        "__qualname__": base.__qualname__,
        "__doc__": base.__doc__,
        "__annotations__": {name: annotation for name, (annotation, _) in fields.items()},
        **{name: info for name, (_, info) in fields.items()},
    }
    if schema_extra:
        namespace["model_config"] = ConfigDict(json_schema_extra=schema_extra)
    return type(base.__name__, (base,), namespace)


def resolve(
    payload: BaseModel,
    aliases: Mapping[str, str],
    *,
    partial: bool,
    required: frozenset[str],
    allow_empty: bool = False,
) -> dict[str, Any]:
    """The fields a request sets, under their column names. `partial` (PATCH): only those
    sent, and at least one. An alias and its field both sent must agree."""
    sent = payload.model_fields_set
    fields = payload.model_dump(exclude_unset=partial, exclude=set(aliases))
    errors: list[FieldError] = []
    for alias, target in aliases.items():
        if alias not in sent:
            continue
        value = payload.__dict__[alias]  # not getattr: a deprecated field warns when read
        if target in sent and fields.get(target) != value:
            message = f"`{alias}` is the old name of `{target}`; they differ, send one of them."
            errors.append(FieldError(loc=["body", alias], msg=message))
        fields[target] = value
    errors += [
        FieldError(loc=["body", name], msg="Field required")
        for name in sorted(required)
        if name not in fields
    ]
    if errors:
        raise ValidationFailed("The request does not match the schema.", errors=errors)
    if partial and not fields and not allow_empty:
        raise BadRequest(AT_LEAST_ONE_FIELD)
    return fields


class FacetCount(BaseModel):
    name: str
    count: int = Field(description="How many of your items have it.")


def facet_model(resource_name: str, path: str) -> type[BaseModel]:
    """`{path: [{name, count}]}`, e.g. TaskTagsResponse."""
    fields: dict[str, Any] = {path: (list[FacetCount], ...)}
    return create_model(f"{resource_name.title()}{path.title()}Response", **fields)


def toggle_model(
    resource_name: str, action: str, flag: str, aliases: Mapping[str, str]
) -> type[BaseModel]:
    """The optional body of a toggle action: `{flag: b}` sets it; absent, it flips."""
    fields: dict[str, Any] = {
        flag: (
            StrictBool | MISSING,
            Field(MISSING, description=f"Set `{flag}` to this.", examples=[True]),
        ),
    }
    model = create_model(
        f"{resource_name.title()}{action.title()}",
        __config__=ConfigDict(extra="forbid", strict=True),
        **fields,
    )
    return _with_input_aliases(model, {a: t for a, t in aliases.items() if t == flag})
