"""`make contract-test`: every schema is valid draft-07, every example behaves as labelled under two
independent validators, and every message the services emit has a schema."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import jsonschema
import pytest
from referencing import Registry, Resource

from session_management import contracts, messages

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_DIR = ROOT / "contracts" / "schemas"
EXAMPLES_DIR = ROOT / "contracts" / "examples"
SERVICES_DIR = ROOT / "services" / "session_management"
SCHEMAS = {p.name.removesuffix(".schema.json"): json.loads(p.read_text()) for p in sorted(SCHEMA_DIR.glob("*.json"))}
MESSAGE_SCHEMAS = sorted(name for name in SCHEMAS if name != "definitions")
REGISTRY = Registry().with_resources((schema["$id"], Resource.from_contents(schema)) for schema in SCHEMAS.values())


def examples(valid: bool) -> list[tuple[str, Path]]:
    found = []
    for name in MESSAGE_SCHEMAS:
        folder = EXAMPLES_DIR / name / ("" if valid else "invalid")
        found.extend((name, path) for path in sorted(folder.glob("*.json")))
    return found


def reference_validator(name: str) -> jsonschema.Draft7Validator:
    """jsonschema with a local registry: an implementation independent of our compiled validators."""
    return jsonschema.Draft7Validator(SCHEMAS[name], registry=REGISTRY)


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_schema_is_valid_draft_07_with_an_id_matching_its_file(name):
    schema = SCHEMAS[name]
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    jsonschema.Draft7Validator.check_schema(schema)
    assert schema["$id"].endswith(f"/{name}.schema.json")
    assert schema.get("x-direction") in {"inbound", "outbound", "handshake", "shared", "http-request", "http-response"}
    assert schema.get("title") and schema.get("description")


def test_ids_are_unique():
    ids = [schema["$id"] for schema in SCHEMAS.values()]
    assert len(ids) == len(set(ids))


def _refs(node):
    if isinstance(node, dict):
        if "$ref" in node:
            yield node["$ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


@pytest.mark.parametrize("name", MESSAGE_SCHEMAS)
def test_every_ref_resolves_locally(name):
    resolver = REGISTRY.resolver(base_uri=SCHEMAS[name]["$id"])
    for ref in _refs(SCHEMAS[name]):
        assert resolver.lookup(ref).contents is not None


@pytest.mark.parametrize("name", MESSAGE_SCHEMAS)
def test_shared_definitions_are_referenced_not_copied(name):
    shared_patterns = {d["pattern"] for d in SCHEMAS["definitions"]["definitions"].values() if "pattern" in d}
    text = json.dumps(SCHEMAS[name])
    assert not any(json.dumps(pattern) in text for pattern in shared_patterns)


@pytest.mark.parametrize("name", MESSAGE_SCHEMAS)
def test_every_message_schema_has_valid_and_invalid_examples(name):
    assert len(list((EXAMPLES_DIR / name).glob("*.json"))) >= 2
    assert len(list((EXAMPLES_DIR / name / "invalid").glob("*.json"))) >= 2


@pytest.mark.parametrize(("name", "path"), examples(valid=True), ids=lambda v: getattr(v, "stem", v))
def test_valid_example_validates_with_both_implementations(name, path):
    payload = json.loads(path.read_text())
    reference_validator(name).validate(payload)
    contracts.validate(name, payload)


@pytest.mark.parametrize(("name", "path"), examples(valid=False), ids=lambda v: getattr(v, "stem", v))
def test_invalid_example_fails_with_both_implementations(name, path):
    payload = json.loads(path.read_text())
    assert not reference_validator(name).is_valid(payload)
    with pytest.raises(contracts.ContractViolation):
        contracts.validate(name, payload)


def test_violations_name_the_field_but_not_the_payload():
    secret = "eyJ-secret-token-value"
    query = {"action": "createSession", "sourceLanguage": "eng", "qualityTier": "standard", "token": secret}
    with pytest.raises(contracts.ContractViolation) as violation:
        contracts.validate("connect-create-session-query", query)
    assert violation.value.path == "sourceLanguage"
    assert secret not in str(violation.value)


def test_message_directory_matches_the_schemas():
    assert set(contracts.OUTBOUND_SCHEMAS) == set(messages.EMITTED_MESSAGE_TYPES)
    assert set(contracts.INBOUND_SCHEMAS) == {
        "heartbeat",
        "createSession",
        "joinSession",
        "refreshConnection",
        "speakerControl",
        "listenerControl",
        "getSessionStatus",
    }


def test_every_message_type_the_services_emit_has_a_schema():
    assert set(contracts.OUTBOUND_SCHEMAS) >= messages.EMITTED_MESSAGE_TYPES


def _literal_message_types(path: Path) -> set[str]:
    types = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value == "type" and isinstance(value, ast.Constant):
                    types.add(value.value)
    return types


@pytest.mark.parametrize(
    "path",
    sorted(p for p in SERVICES_DIR.rglob("*.py") if p.name != "contracts.py"),
    ids=lambda p: str(p.relative_to(SERVICES_DIR)),
)
def test_no_message_is_built_outside_a_contract(path):
    """Catches a handler that emits a `{"type": ...}` literal that no schema covers."""
    assert _literal_message_types(path) <= set(contracts.OUTBOUND_SCHEMAS)
