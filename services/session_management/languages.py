"""Which languages a session may use.

A source language only has to be a well-formed ISO 639-1 code (the speech pipeline detects
support at its own edge); a target language must be one the translation pipeline can serve,
from the table in data/target_languages.json, kept as data with its source and date.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

_TABLE = json.loads((Path(__file__).resolve().parent / "data" / "target_languages.json").read_text())
TARGET_LANGUAGES: frozenset[str] = frozenset(_TABLE["languages"])
ISO_639_1 = re.compile(r"^[a-z]{2}$")


def is_language_code(code: str) -> bool:
    return bool(ISO_639_1.match(code))


def is_supported_target(code: str) -> bool:
    return code in TARGET_LANGUAGES
