"""Field kinds of `python -m api.cli scaffold`: `name:kind[:option]` to the code of a field.

| kind | spelling | stored (default) | accepted | list query |
|---|---|---|---|---|
| str | `name:str[:max]` (200) | varchar, required | one line, trimmed | search, sort |
| text | `notes:text[:max]` (2000) | varchar, null | line breaks allowed | search |
| bool | `pinned:bool` | boolean (false) | strict boolean | `pinned=true` |
| int | `rank:int` | integer (0) | strict, 32-bit | sort |
| enum | `status:enum:a|b|c` | checked varchar (a) | a value | any of; sort by rank |
| datetime | `due:datetime` | UTC, null | RFC 3339 + offset | `due_before/_after`; sort |
| tags | `labels:tags` | text[] or JSON ([]) | <= 20 labels | all of, ignoring case |
| ref | `project_id:ref:projects` | uuid FK, null | your own item | `=<id>` or `none` |
"""

import keyword
import re
from dataclasses import dataclass

KINDS = ("str", "text", "bool", "int", "enum", "datetime", "tags", "ref")
RESERVED = frozenset({"id", "user_id", "created_at", "updated_at", "version"})
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_CHOICE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_DEFAULT_MAX = {"str": 200, "text": 2000}
_INT32 = 2**31


class FieldSpecError(ValueError):
    """A field spelled wrong on the command line; the message says how to spell it."""


@dataclass(frozen=True)
class FieldSpec:
    name: str
    kind: str
    max_length: int = 0  # str, text
    choices: tuple[str, ...] = ()  # enum
    target: str = ""  # ref: the plural of the referenced resource

    @property
    def alias(self) -> str:
        """The name of its request type in the schemas module (`due_date` -> `DueDate`)."""
        return "".join(part.title() for part in self.name.split("_")) + "Value"

    @property
    def example(self) -> object:
        words = self.name.replace("_", " ")
        return {
            "str": f"A {words}"[: self.max_length],
            "text": f"Some {words}"[: self.max_length],
            "int": 1,
            "enum": self.choices[-1] if self.choices else "",
            "datetime": "2026-12-24T18:00:00+01:00",
            "tags": ["home", "work"],
        }.get(self.kind)


def parse_field(text: str) -> FieldSpec:
    name, _, rest = text.partition(":")
    kind, _, option = rest.partition(":")
    if not _NAME.match(name) or keyword.iskeyword(name):
        raise FieldSpecError(f"{text!r}: field names are lowercase identifiers (e.g. due_date)")
    if name in RESERVED:
        raise FieldSpecError(f"{text!r}: {name!r} is a column every resource already has")
    if kind not in KINDS:
        raise FieldSpecError(f"{text!r}: the kind is one of {', '.join(KINDS)} (name:kind)")
    if kind in _DEFAULT_MAX:
        if option and not option.isdigit():
            raise FieldSpecError(f"{text!r}: the option of {kind} is a maximum length")
        length = int(option or _DEFAULT_MAX[kind])
        if not 1 <= length <= 10_000:
            raise FieldSpecError(f"{text!r}: a maximum length from 1 to 10000")
        return FieldSpec(name, kind, max_length=length)
    if kind == "enum":
        choices = tuple(option.split("|")) if option else ()
        if len(choices) < 2 or len(set(choices)) != len(choices):
            raise FieldSpecError(f"{text!r}: spell an enum name:enum:a|b|c (distinct values)")
        if not all(_CHOICE.match(choice) for choice in choices):
            raise FieldSpecError(f"{text!r}: enum values are lowercase words (a-z, 0-9, _, -)")
        return FieldSpec(name, kind, choices=choices)
    if kind == "ref":
        if not _NAME.match(option):
            raise FieldSpecError(f"{text!r}: spell a reference name:ref:<plural of a resource>")
        return FieldSpec(name, kind, target=option)
    if option:
        raise FieldSpecError(f"{text!r}: {kind} takes no option")
    return FieldSpec(name, kind)


def parse_fields(texts: list[str]) -> list[FieldSpec]:
    fields = [parse_field(text) for text in texts]
    names = [field.name for field in fields]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise FieldSpecError(f"fields named twice: {', '.join(repeated)}")
    if not fields:
        raise FieldSpecError("name at least one field, e.g. title:str:200")
    return fields


INT_BOUNDS = f"ge={-_INT32}, le={_INT32 - 1}"  # PostgreSQL's integer
