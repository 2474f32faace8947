"""The MCP tools of every declared resource, read from the REST contract.

A tool is one REST operation of a resource (`add_task` is `create_task`), found by its
`operationId` in the app's OpenAPI document, so a declared action (`complete_task`)
becomes a tool as soon as its route exists. Its input schema is the operation's
parameters and body, flattened into one object, without the owner (the token says who
the caller is); its output schema is the operation's success body.
"""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from mcp import types
from mcp.shared.inbound import X_MCP_HEADER_KEY

from api.crud.declaration import CrudResource
from api.mcp.schema import resolve, standalone

OWNER = "user_id"  # the path parameter every generated route takes from the token
JSON = "application/json"


@dataclass(frozen=True, slots=True)
class Verb:
    tool: str  # the tool's name; `{name}` and `{plural}` come from the declaration
    operation: str  # the REST operation it runs, by operationId
    done: str = "Done."  # what a success without a body (204) says


VERBS: tuple[Verb, ...] = (
    Verb("list_{plural}", "list_{plural}"),
    Verb("get_{name}", "get_{name}"),
    Verb("add_{name}", "create_{name}"),
    Verb("update_{name}", "update_{name}"),
    Verb("complete_{name}", "complete_{name}"),
    Verb("delete_{name}", "delete_{name}", done="Deleted the {name}."),
)


class ToolDefinitionError(ValueError):
    """An operation cannot be offered as a tool (e.g. two of its inputs share a name)."""


@dataclass(frozen=True, slots=True)
class Parameter:
    """A tool argument that travels outside the body."""

    source: Literal["path", "query", "header"]
    key: str  # its name in the request (path parameter, query name, header)


@dataclass(frozen=True, slots=True)
class ToolSpec:
    tool: types.Tool
    method: str
    path: str  # the route's template, e.g. /api/{user_id}/tasks/{task_id}
    parameters: Mapping[str, Parameter]  # by argument name; body fields are the rest
    required_parameters: frozenset[str]
    takes_body: bool
    body_required: bool
    done: str
    header_annotated: bool  # some argument is to be mirrored in a `Mcp-Param-*` header

    def argument_for(self, source: str, key: str) -> str | None:
        """The argument a request location (`("header", "Idempotency-Key")`) came from."""
        for name, parameter in self.parameters.items():
            if parameter.source == source and parameter.key.lower() == key.lower():
                return name
        return None


def build_tools(
    document: Mapping[str, Any], resources: Sequence[CrudResource]
) -> dict[str, ToolSpec]:
    """Every tool the contract supports, by name: per resource, per verb whose operation
    the document has."""
    operations = {
        operation["operationId"]: (method.upper(), path, operation)
        for path, item in document.get("paths", {}).items()
        for method, operation in item.items()
        if isinstance(operation, dict) and "operationId" in operation
    }
    components = document.get("components", {}).get("schemas", {})
    tools: dict[str, ToolSpec] = {}
    for resource in resources:
        names = {"name": resource.name, "plural": resource.plural}
        for verb in VERBS:
            found = operations.get(verb.operation.format(**names))
            if found is not None:
                method, path, operation = found
                done = verb.done.format(**names)
                spec = _spec(verb.tool.format(**names), done, method, path, operation, components)
                tools[spec.tool.name] = spec
    return tools


def _spec(
    name: str,
    done: str,
    method: str,
    path: str,
    operation: Mapping[str, Any],
    components: Mapping[str, Any],
) -> ToolSpec:
    parameters, properties, required = _parameter_arguments(operation)
    request_body = operation.get("requestBody", {})
    body = request_body.get("content", {}).get(JSON)
    rules: dict[str, Any] = {}
    if body is not None:
        fields, body_required, rules = _body_arguments(body["schema"], components)
        clash = set(fields) & set(properties)
        if clash:
            raise ToolDefinitionError(f"{name}: {sorted(clash)} are parameters and fields")
        properties.update(fields)
        if "minProperties" in rules:  # the body's minimum, plus the parameters it needs
            rules["minProperties"] += len(required)
        required += body_required
    input_schema = {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
        **rules,
    }
    return ToolSpec(
        tool=types.Tool(
            name=name,
            title=operation.get("summary"),
            description=_description(operation),
            input_schema=standalone(input_schema, components),
            output_schema=_output_schema(operation, components),
            annotations=_annotations(method, operation.get("summary")),
        ),
        method=method,
        path=path,
        parameters=parameters,
        required_parameters=frozenset(a for a in required if a in parameters),
        takes_body=body is not None,
        body_required=bool(request_body.get("required")),
        done=done,
        header_annotated=X_MCP_HEADER_KEY in json.dumps(input_schema),
    )


def _parameter_arguments(
    operation: Mapping[str, Any],
) -> tuple[dict[str, Parameter], dict[str, Any], list[str]]:
    """The operation's path, query and header parameters as arguments (`Idempotency-Key`
    is `idempotency_key`): where each goes, its schema, which are required."""
    parameters: dict[str, Parameter] = {}
    properties: dict[str, Any] = {}
    required: list[str] = []
    for parameter in operation.get("parameters", []):
        source, key = parameter["in"], parameter["name"]
        if (source == "path" and key == OWNER) or not _offered(source, key):
            continue
        argument = key.lower().replace("-", "_")
        schema = dict(parameter.get("schema", {}))
        if "description" in parameter:
            schema.setdefault("description", parameter["description"])
        schema.pop("title", None)  # the parameter's name, as a heading
        properties[argument] = schema
        parameters[argument] = Parameter(source, key)
        if parameter.get("required"):
            required.append(argument)
    return parameters, properties, required


def _body_arguments(
    schema: Mapping[str, Any], components: Mapping[str, Any]
) -> tuple[dict[str, Any], list[str], dict[str, Any]]:
    """The body's fields as arguments, the required ones, and its other rules (e.g.
    `minProperties`). Old names kept for old clients (`deprecated`) are not offered: new
    clients learn the current name (rules about the pair, e.g. "not both", go with them)."""
    rules = _object_schema(schema, components)
    fields: dict[str, Any] = rules.pop("properties", {})
    old = {field for field, field_schema in fields.items() if field_schema.get("deprecated")}
    if "allOf" in rules:
        rules["allOf"] = [rule for rule in rules["allOf"] if not _mentions(rule, old)]
        if not rules["allOf"]:
            del rules["allOf"]
    required = [field for field in rules.pop("required", []) if field not in old]
    for keyword in ("type", "title", "description", "additionalProperties"):
        rules.pop(keyword, None)
    return {k: v for k, v in fields.items() if k not in old}, required, rules


def _object_schema(schema: Mapping[str, Any], components: Mapping[str, Any]) -> dict[str, Any]:
    """The body's object schema. An optional body (`X | null`, e.g. an action whose body
    is optional) is X: the call sends one only when some of its fields are given."""
    variants = schema.get("anyOf")
    if isinstance(variants, list):
        concrete = [v for v in variants if v.get("type") != "null"]
        if len(concrete) == 1 and len(concrete) < len(variants):
            schema = concrete[0]
    return resolve(schema, components)


def _mentions(rule: Any, names: set[str]) -> bool:
    """Whether a schema rule names any of these fields (as required, or as a property)."""
    if isinstance(rule, list):
        return any(_mentions(item, names) for item in rule)
    if not isinstance(rule, dict):
        return False
    if names & set(rule.get("required", ())) or names & set(rule.get("properties", {})):
        return True
    return any(_mentions(value, names) for value in rule.values())


def _offered(source: str, key: str) -> bool:
    """Conditional-request headers (`If-Match`, `If-None-Match`) are HTTP caching and
    concurrency plumbing with no meaning in a tool call (a 304 has no result to show):
    tools act on the current state. Every other parameter is an argument."""
    return not (source == "header" and key.lower().startswith("if-"))


def _description(operation: Mapping[str, Any]) -> str | None:
    parts = [operation.get("summary"), operation.get("description")]
    text = "\n\n".join(part for part in parts if part)
    return text or None


def _output_schema(
    operation: Mapping[str, Any], components: Mapping[str, Any]
) -> dict[str, Any] | None:
    """The first success response's JSON body; none for an empty success (204)."""
    for status, response in sorted(operation.get("responses", {}).items()):
        if status.startswith("2"):
            content = response.get("content", {}).get(JSON)
            return standalone(content["schema"], components) if content else None
    return None


def _annotations(method: str, title: str | None) -> types.ToolAnnotations:
    """Hints from the HTTP method's own semantics (RFC 9110)."""
    return types.ToolAnnotations(
        title=title,
        read_only_hint=method == "GET",
        destructive_hint=method in ("PUT", "PATCH", "DELETE"),
        idempotent_hint=method in ("GET", "PUT", "DELETE"),
        open_world_hint=False,
    )
