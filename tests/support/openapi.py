"""The HTTP API's OpenAPI document with its `$ref`s to contracts/schemas inlined.

The committed document references the JSON Schema files; their `$id`s are URLs that no test
should fetch, so tools that need one self-contained document (schemathesis) get this bundle.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
OPENAPI_PATH = ROOT / "contracts" / "openapi" / "sessions-api.openapi.json"
SCHEMA_DIR = ROOT / "contracts" / "schemas"
_SUFFIX = ".schema.json"


def _schema_name(ref: str) -> str:
    return ref.split("#", 1)[0].rsplit("/", 1)[-1].removesuffix(_SUFFIX)


def _rewrite(node: Any, needed: set[str]) -> Any:
    if isinstance(node, list):
        return [_rewrite(v, needed) for v in node]
    if not isinstance(node, dict):
        return node
    result = {}
    for key, value in node.items():
        if key == "$ref" and isinstance(value, str) and _SUFFIX in value:
            name = _schema_name(value)
            needed.add(name)
            fragment = value.split("#", 1)[1] if "#" in value else ""
            result[key] = f"#/components/schemas/{name}{fragment}"
        elif key not in ("$schema", "$id"):
            result[key] = _rewrite(value, needed)
    return result


def bundled_openapi() -> dict[str, Any]:
    document = json.loads(OPENAPI_PATH.read_text())
    needed: set[str] = set()
    bundled: dict[str, Any] = _rewrite(document, needed)
    schemas = bundled.setdefault("components", {}).setdefault("schemas", {})
    done: set[str] = set()
    while needed - done:
        name = sorted(needed - done)[0]
        done.add(name)
        schemas[name] = _rewrite(json.loads((SCHEMA_DIR / f"{name}{_SUFFIX}").read_text()), needed)
    return bundled
