"""Validate logged sandbox traffic against Fortnox's own OpenAPI spec, allowing only the listed deviations."""

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from openapi_schema_validator import OAS30ReadValidator, OAS30WriteValidator, oas30_format_checker

from fortnox_sandbox.spec_deviations import tolerated

SPEC_PATH = Path(__file__).resolve().parents[3] / "shared" / "fortnox" / "openapi.json"


@cache
def spec() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SPEC_PATH.read_text())
    return loaded


def _inline(node: Any, seen: tuple[str, ...] = ()) -> Any:
    if isinstance(node, dict):
        reference = node.get("$ref")
        if isinstance(reference, str):
            name = reference.rsplit("/", 1)[-1]
            if name in seen:
                return {}
            return _inline(spec()["components"]["schemas"][name], (*seen, name))
        return {key: _inline(value, seen) for key, value in node.items()}
    if isinstance(node, list):
        return [_inline(item, seen) for item in node]
    return node


@cache
def _templates() -> list[tuple[re.Pattern[str], str, int]]:
    rows = []
    for template in spec()["paths"]:
        pattern = re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "/?$")
        literal = len(re.sub(r"\{[^}]+\}", "", template))
        rows.append((pattern, template, literal))
    return rows


def operation_for(method: str, path: str) -> tuple[str, dict[str, Any]] | None:
    matches = [(literal, template) for pattern, template, literal in _templates() if pattern.match(path)]
    for _, template in sorted(matches, reverse=True):
        operation = spec()["paths"][template].get(method.lower())
        if operation is not None:
            return template, operation
    return None


@dataclass
class Violation:
    where: str
    message: str


def _schema(content: dict[str, Any]) -> dict[str, Any] | None:
    for media in ("application/json", "*/*"):
        if media in content:
            schema: dict[str, Any] = _inline(content[media]["schema"])
            return schema
    return None


def _check(schema: dict[str, Any], instance: Any, direction: str, where: str) -> list[Violation]:
    validator_type = OAS30ReadValidator if direction == "response" else OAS30WriteValidator
    validator = validator_type(schema, format_checker=oas30_format_checker)
    violations = []
    for error in validator.iter_errors(instance):
        field = next((str(part) for part in reversed(error.absolute_path) if isinstance(part, str)), None)
        if error.validator == "required":
            missing = re.findall(r"'([^']+)' is a required property", error.message)
            field = missing[0] if missing else field
        if tolerated(direction, str(error.validator), field, error.instance) is None:
            violations.append(
                Violation(where, f"{direction} {'/'.join(map(str, error.absolute_path))}: {error.message}")
            )
    return violations


def validate_exchange(row: Any) -> list[Violation]:
    """One logged request/response pair against its operation in the spec."""
    found = operation_for(row.method, row.path)
    where = f"{row.method} {row.path} -> {row.status}"
    if found is None:
        return [Violation(where, "no such operation in the spec")]
    _, operation = found
    violations: list[Violation] = []
    if row.request_body and row.request_content_type.startswith("application/json"):
        body = operation.get("requestBody", {}).get("content", {})
        schema = _schema(body)
        if schema is not None:
            violations += _check(schema, json.loads(row.request_body), "request", where)
    if row.response_body:
        responses = operation["responses"]
        answer = responses.get(str(row.status)) or responses.get("default")
        schema = _schema(answer.get("content", {})) if answer else None
        if schema is not None:
            violations += _check(schema, json.loads(row.response_body), "response", where)
    return violations
