"""The code a scaffolded resource is made of: its schemas module and its declaration, in
the style of schemas/project.py and api/resources.py. Imports are generous here; the
writer removes the unused ones with ruff and formats the result."""

import textwrap
from dataclasses import dataclass

from api.scaffold.fields import INT_BOUNDS, FieldSpec


@dataclass(frozen=True)
class Names:
    singular: str  # the declaration's `name`, the table, the schemas module
    plural: str  # the path segment and the list key

    @property
    def model(self) -> str:
        return "".join(part.title() for part in self.singular.split("_"))


@dataclass(frozen=True)
class Reference:
    """What a `ref` field points at: the resource's table and its variable in api.resources."""

    table: str
    variable: str


_HEADER = '''"""The {singular} resource ({plural}), scaffolded by:

{command}
"""

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import MISSING, BaseModel, ConfigDict, Field, StrictBool, StrictInt
from sqlalchemy import Column, Enum, ForeignKey, Index, String, Uuid
from sqlmodel import Field as ColumnField
from sqlmodel import SQLModel

from schemas.types import (
    MULTI_LINE,
    ONE_LINE_VISIBLE,
    Labels,
    StringArray,
    TimeWithOffset,
    UTCDateTime,
    UtcTimestamp,
    folded,
    strip,
)


class {model}(SQLModel, table=True):
    __table_args__ = (Index("ix_{singular}_owner_created", "user_id", "created_at", "id"),)

    id: uuid.UUID = ColumnField(primary_key=True)
    user_id: str = ColumnField(sa_column=Column(String(255), nullable=False))
{columns}
    created_at: datetime = ColumnField(sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = ColumnField(sa_type=UTCDateTime, nullable=False)
    version: int = ColumnField(default=1, nullable=False)


{aliases}


class _Request(BaseModel):
    # Strict: "yes" or 1 is not a boolean. Unknown and read-only fields are refused.
    model_config = ConfigDict(extra="forbid", strict=True)


class {model}Create(_Request):
{create}


class {model}Update(_Request):
    """PUT: the whole {singular}. Omitted optional fields go back to their defaults."""

{create}


class {model}Patch(_Request):
    """PATCH, JSON merge-patch style: absent is untouched, null clears a nullable field."""

{patch}


class {model}Response(BaseModel):
    id: uuid.UUID
    user_id: str
{response}
    created_at: UtcTimestamp
    updated_at: UtcTimestamp
    version: int = Field(description="Increases with every change; the ETag is derived from it.")


class {model}ListResponse(BaseModel):
    {plural}: list[{model}Response]
    count: int = Field(description="How many {plural} match the filters, across all pages.")
    limit: int
    offset: int
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page."
    )
'''


def _column(field: FieldSpec, names: Names, references: dict[str, Reference]) -> str:
    n = field.name
    if field.kind == "str":
        return f"{n}: str = ColumnField(max_length={field.max_length})"
    if field.kind == "text":
        return f"{n}: str | None = ColumnField(default=None, max_length={field.max_length})"
    if field.kind == "bool":
        return f"{n}: bool = ColumnField(default=False)"
    if field.kind == "int":
        return f"{n}: int = ColumnField(default=0)"
    if field.kind == "enum":
        values = ", ".join(f'"{choice}"' for choice in field.choices)
        options = f'name="{names.singular}_{n}", native_enum=False, create_constraint=True'
        column = f"Column(Enum({values}, {options}), nullable=False)"
        return f'{n}: str = ColumnField(default="{field.choices[0]}", sa_column={column})'
    if field.kind == "datetime":
        return f"{n}: datetime | None = ColumnField(default=None, sa_type=UTCDateTime)"
    if field.kind == "tags":
        column = "Column(StringArray(), nullable=False)"
        return (
            f"{n}: list[str] = ColumnField(default_factory=list, sa_column={column})\n"
            f"# What `{n}=` compares, ignoring case; written with {n} by the factory.\n"
            f'{n}_folded: list[str] = ColumnField(default_factory=list, sa_column=folded("{n}"))'
        )
    key = f'ForeignKey("{references[n].table}.id", ondelete="SET NULL")'
    column = f"Column(Uuid, {key}, nullable=True, index=True)"
    return f"{n}: uuid.UUID | None = ColumnField(default=None, sa_column={column})"


def _alias(field: FieldSpec) -> str:
    example = f"examples=[{field.example!r}]"
    if field.kind == "str":
        rule = f"min_length=1, max_length={field.max_length}, pattern=ONE_LINE_VISIBLE"
        return f"{field.alias} = Annotated[str, Field({rule}, {example}), strip]"
    if field.kind == "text":
        rule = f"max_length={field.max_length}, pattern=MULTI_LINE"
        return f"{field.alias} = Annotated[str, Field({rule}, {example})]"
    if field.kind == "bool":
        return f"{field.alias} = StrictBool"
    if field.kind == "int":
        return f"{field.alias} = Annotated[StrictInt, Field({INT_BOUNDS}, {example})]"
    if field.kind == "enum":
        return f"{field.alias} = Annotated[{_literal(field)}, Field({example})]"
    if field.kind == "datetime":
        return f"{field.alias} = Annotated[TimeWithOffset, Field({example})]"
    if field.kind == "tags":
        return f"{field.alias} = Annotated[Labels, Field(max_length=20, {example})]"
    described = f'description="One of your own {field.target}."'
    return f"{field.alias} = Annotated[uuid.UUID, Field({described})]"


def _literal(field: FieldSpec) -> str:
    return "Literal[" + ", ".join(f'"{choice}"' for choice in field.choices) + "]"


def _nullable(field: FieldSpec) -> bool:
    return field.kind in ("text", "datetime", "ref")


def _create(field: FieldSpec) -> str:
    n, alias = field.name, field.alias
    if field.kind == "str":
        return f"{n}: {alias}"
    if _nullable(field):
        return f"{n}: {alias} | None = None"
    defaults = {"bool": "False", "int": "0", "tags": "Field(default_factory=list)"}
    default = defaults[field.kind] if field.kind in defaults else f'"{field.choices[0]}"'
    return f"{n}: {alias} = {default}"


def _patch(field: FieldSpec) -> str:
    nullable = " | None" if _nullable(field) else ""
    return f"{field.name}: {field.alias} | MISSING{nullable} = MISSING"


def _response(field: FieldSpec) -> str:
    kind = {
        "str": "str",
        "text": "str | None",
        "bool": "bool",
        "int": "int",
        "datetime": "UtcTimestamp | None",
        "tags": "list[str]",
        "ref": "uuid.UUID | None",
    }.get(field.kind) or _literal(field)
    return f"{field.name}: {kind}"


def _indented(lines: list[str]) -> str:
    return "\n".join(f"    {row}" for line in lines for row in line.split("\n"))


def schemas_module(
    names: Names, fields: list[FieldSpec], references: dict[str, Reference], command: str
) -> str:
    return _HEADER.format(
        singular=names.singular,
        plural=names.plural,
        model=names.model,
        command=textwrap.fill(command, 96, initial_indent="    ", subsequent_indent="        "),
        columns=_indented([_column(f, names, references) for f in fields]),
        aliases="\n".join(_alias(f) for f in fields),
        create=_indented([_create(f) for f in fields]),
        patch=_indented([_patch(f) for f in fields]),
        response=_indented([_response(f) for f in fields]),
    )


def declaration(names: Names, fields: list[FieldSpec], references: dict[str, Reference]) -> str:
    """The CrudResource block appended to api/resources.py."""
    by_kind = {kind: [f.name for f in fields if f.kind == kind] for kind in _KINDS}
    sort = ["created_at", "updated_at", *(f.name for f in fields if f.kind in _SORTED)]
    filters = [f.name for f in fields if f.kind in _FILTERED]
    search = by_kind["str"] + by_kind["text"]
    model = names.model
    lines = [
        f"{names.plural} = CrudResource(",
        f'    name="{names.singular}",',
        f'    plural="{names.plural}",',
        f"    table={model},",
        '    owner="user_id",',
        f"    create={model}Create,",
        f"    replace={model}Update,",
        f"    patch={model}Patch,",
        f"    read={model}Response,",
        f"    page={model}ListResponse,",
        f"    sort={_tuple(sort)},",
        '    default_sort="-created_at",',
        f"    search={_tuple(search)},",
        f"    filters={_tuple(filters)},",
    ]
    if by_kind["ref"]:
        pairs = ", ".join(f'"{n}": {references[n].variable}' for n in by_kind["ref"])
        lines.append(f"    references={{{pairs}}},  # only the caller's own items")
    lines += ["    counted=True,  # item_count, kept by generated triggers", ")"]
    return "\n".join(lines) + "\n"


_KINDS = ("str", "text", "bool", "int", "enum", "datetime", "tags", "ref")
_SORTED = ("str", "int", "enum", "datetime")
_FILTERED = ("bool", "enum", "datetime", "tags", "ref")


def _tuple(items: list[str]) -> str:
    quoted = [f'"{item}"' for item in items]
    return f"({quoted[0]},)" if len(quoted) == 1 else f"({', '.join(quoted)})"


def schema_imports(names: Names) -> str:
    model = names.model
    return (
        f"from schemas.{names.singular} import ({model}, {model}Create, {model}ListResponse,"
        f" {model}Patch, {model}Response, {model}Update)\n"
    )
