"""SQL constructs the factory needs that read differently on PostgreSQL and SQLite.

List-valued parameters are one parameter whatever their length (an array on PostgreSQL,
JSON text on SQLite), so a statement's shape never depends on how many values a caller
sends, and the number of cached statements stays bounded.
"""

from typing import Any

from sqlalchemy import JSON, BindParameter, Column, ColumnElement, Integer, Text, bindparam, case
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.types import Boolean, TypeDecorator, TypeEngine

from schemas.types import LOWER_ARRAY


class ValueList(TypeDecorator[list[Any]]):
    """A parameter holding a list: an array on PostgreSQL, JSON text on SQLite."""

    impl = JSON
    cache_ok = True

    def __init__(self, item: TypeEngine[Any] | None = None) -> None:
        super().__init__()
        self.item = item if item is not None else Text()

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.ARRAY(self.item))
        return dialect.type_descriptor(JSON())


def list_param(name: str, item: TypeEngine[Any] | None = None) -> BindParameter[Any]:
    return bindparam(name, type_=ValueList(item))


def int_list_param(name: str) -> BindParameter[Any]:
    return list_param(name, Integer())


class AnyOf(ColumnElement[bool]):
    """`column` equals one of the values of a list parameter."""

    inherit_cache = True
    type = Boolean()

    def __init__(self, column: ColumnElement[Any], values: BindParameter[Any]) -> None:
        self.column, self.values = column, values


@compiles(AnyOf)
def _any_of_sqlite(element: AnyOf, compiler: SQLCompiler, **kw: Any) -> str:
    column, values = compiler.process(element.column, **kw), compiler.process(element.values, **kw)
    return f"{column} IN (SELECT value FROM json_each({values}))"  # noqa: S608 (placeholders)


@compiles(AnyOf, "postgresql")
def _any_of_postgres(element: AnyOf, compiler: SQLCompiler, **kw: Any) -> str:
    column, values = compiler.process(element.column, **kw), compiler.process(element.values, **kw)
    return f"{column} = ANY({values})"


class ContainsAll(ColumnElement[bool]):
    """An array column holds every value of a list parameter."""

    inherit_cache = True
    type = Boolean()

    def __init__(self, column: ColumnElement[Any], values: BindParameter[Any]) -> None:
        self.column, self.values = column, values


@compiles(ContainsAll)
def _contains_sqlite(element: ContainsAll, compiler: SQLCompiler, **kw: Any) -> str:
    column, values = compiler.process(element.column, **kw), compiler.process(element.values, **kw)
    return (
        f"NOT EXISTS (SELECT 1 FROM json_each({values}) AS wanted WHERE wanted.value NOT IN"  # noqa: S608
        f" (SELECT have.value FROM json_each({column}) AS have))"
    )


@compiles(ContainsAll, "postgresql")
def _contains_postgres(element: ContainsAll, compiler: SQLCompiler, **kw: Any) -> str:
    column, values = compiler.process(element.column, **kw), compiler.process(element.values, **kw)
    return f"{column} @> {values}"  # a GIN index on the column serves it


class LowerCased(ColumnElement[Any]):
    """A string array value with each element lower-cased (on SQLite, the JSON text
    lower-cased: its escapes are lowercase already, so it stays the same JSON)."""

    inherit_cache = True

    def __init__(self, value: ColumnElement[Any]) -> None:
        self.value = value
        self.type = value.type


@compiles(LowerCased)
def _lower_json(element: LowerCased, compiler: SQLCompiler, **kw: Any) -> str:
    return f"lower({compiler.process(element.value, **kw)})"


@compiles(LowerCased, "postgresql")
def _lower_array(element: LowerCased, compiler: SQLCompiler, **kw: Any) -> str:
    return f"{LOWER_ARRAY}({compiler.process(element.value, **kw)})"


def storage_type(column: Column[Any]) -> TypeEngine[Any]:
    """The column's SQL type, seen through decorators such as SQLModel's AutoString."""
    column_type: TypeEngine[Any] = column.type
    return column_type.impl_instance if isinstance(column_type, TypeDecorator) else column_type


def ranked(column: ColumnElement[Any], values: tuple[str, ...]) -> ColumnElement[Any]:
    """An enum column as its rank in the declared order (`low` < `medium` < `high`)."""
    return case({value: rank for rank, value in enumerate(values)}, value=column)
