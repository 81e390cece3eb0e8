"""The message contracts (contracts/schemas, JSON Schema draft-07) as compiled validators.

Schemas are compiled once per execution environment at import, so validating a message on the
hot path is a function call, not a schema walk. `$ref`s between schemas resolve from the files
shipped with the code, never from the network.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import fastjsonschema

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
_SUFFIX = ".schema.json"


class ContractViolation(ValueError):
    """A payload does not match its schema. Carries the reason, never the payload (it may hold tokens)."""

    def __init__(self, schema: str, reason: str, path: str | None = None) -> None:
        super().__init__(f"{schema}: {reason}")
        self.schema = schema
        self.reason = reason
        self.path = path


class UnknownSchema(LookupError):
    pass


def _load() -> dict[str, dict[str, Any]]:
    return {p.name.removesuffix(_SUFFIX): json.loads(p.read_text()) for p in sorted(SCHEMA_DIR.glob(f"*{_SUFFIX}"))}


_SCHEMAS = _load()
_BY_ID = {schema["$id"]: schema for schema in _SCHEMAS.values()}


def _resolve_local(uri: str) -> dict[str, Any]:
    try:
        return _BY_ID[uri.split("#", 1)[0]]
    except KeyError:
        raise UnknownSchema(f"reference to a schema that is not in contracts/: {uri}") from None


_VALIDATORS: dict[str, Callable[[Any], Any]] = {
    name: fastjsonschema.compile(schema, handlers={"https": _resolve_local, "http": _resolve_local}, use_default=False)
    for name, schema in _SCHEMAS.items()
}


def _by_const(direction: str, key: str) -> Mapping[str, str]:
    mapping = {
        schema["properties"][key]["const"]: name
        for name, schema in _SCHEMAS.items()
        if schema.get("x-direction") == direction and "const" in schema.get("properties", {}).get(key, {})
    }
    return MappingProxyType(mapping)


OUTBOUND_SCHEMAS: Mapping[str, str] = _by_const("outbound", "type")
"""Outbound message `type` -> schema name."""

INBOUND_SCHEMAS: Mapping[str, str] = _by_const("inbound", "action")
"""Inbound message `action` -> schema name."""


def schema(name: str) -> Mapping[str, Any]:
    if name not in _SCHEMAS:
        raise UnknownSchema(name)
    return MappingProxyType(_SCHEMAS[name])


def validate(schema_name: str, payload: object) -> None:
    validator = _VALIDATORS.get(schema_name)
    if validator is None:
        raise UnknownSchema(schema_name)
    try:
        validator(payload)
    except fastjsonschema.JsonSchemaValueException as exc:
        path = ".".join(str(p) for p in exc.path[1:]) if exc.path else None
        raise ContractViolation(schema_name, exc.message, path or None) from None


def validate_outbound(message: Mapping[str, Any]) -> None:
    name = OUTBOUND_SCHEMAS.get(str(message.get("type")))
    if name is None:
        raise ContractViolation("outbound", f"no schema for message type {message.get('type')!r}")
    validate(name, message)


def validate_inbound(message: Mapping[str, Any]) -> None:
    name = INBOUND_SCHEMAS.get(str(message.get("action")))
    if name is None:
        raise ContractViolation("inbound", f"unknown action {message.get('action')!r}")
    validate(name, message)
