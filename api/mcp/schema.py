"""JSON Schemas for tools, cut from the OpenAPI document: self-contained, so a client
validates with them as they are (`#/components/schemas/X` becomes `#/$defs/X`)."""

import copy
from collections.abc import Mapping
from typing import Any

COMPONENTS = "#/components/schemas/"
DEFS = "#/$defs/"


def standalone(schema: Mapping[str, Any], components: Mapping[str, Any]) -> dict[str, Any]:
    """`schema` with every component it references (transitively) under `$defs`; a
    schema that is only a reference is replaced by what it references."""
    defs: dict[str, Any] = {}
    root: dict[str, Any] = _rewritten(resolve(schema, components), components, defs)
    if defs:
        root["$defs"] = {**root.get("$defs", {}), **defs}
    return root


def resolve(schema: Mapping[str, Any], components: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `schema`, or of the component it is a bare reference to."""
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith(COMPONENTS) and len(schema) == 1:
        return copy.deepcopy(dict(components[ref.removeprefix(COMPONENTS)]))
    return copy.deepcopy(dict(schema))


def _rewritten(node: Any, components: Mapping[str, Any], defs: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_rewritten(item, components, defs) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _rewritten(value, components, defs) for key, value in node.items()}
    ref = out.get("$ref")
    if isinstance(ref, str) and ref.startswith(COMPONENTS):
        name = ref.removeprefix(COMPONENTS)
        out["$ref"] = DEFS + name
        if name not in defs:
            defs[name] = {}  # reserved first: a schema may refer to itself
            defs[name] = _rewritten(copy.deepcopy(components[name]), components, defs)
    return out
