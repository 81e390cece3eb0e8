"""The privacy scan: every log line the suite's local stacks wrote, checked for personal data.

Runs once, after the last test (tests/conftest.py): no JWT, no e-mail address, no IPv4
address, and no connection id in clear (ids are logged as hash prefixes). Connection ids are
known from the events each stack recorded, so request ids (same shape) are not mistaken for them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.?")
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+\.[A-Za-z0-9.-]*[A-Za-z]{2,}")
# A person's address, not a service endpoint: locally every endpoint is 127.0.0.1, where AWS
# would log a host name (`//127.0.0.1:8000`, `host='127.0.0.1', port=`), so those are not flagged.
IPV4 = re.compile(r"(?<![\d./])(?<!host=')(?:\d{1,3}\.){3}\d{1,3}(?![\d.])(?!:\d)(?!', port=)")
PATTERNS = {"JWT": JWT, "e-mail address": EMAIL, "IPv4 address": IPV4}


@dataclass
class PrivacyReport:
    files: int = 0
    lines: int = 0
    connection_ids: int = 0
    findings: list[str] = field(default_factory=list)


def _connection_ids(root: Path) -> set[str]:
    ids: set[str] = set()
    for events in root.rglob("events.jsonl"):
        for line in events.read_text(errors="replace").splitlines():
            try:
                connection_id = json.loads(line).get("requestContext", {}).get("connectionId")
            except ValueError:
                continue
            if connection_id:
                ids.add(connection_id)
    return ids


def scan(root: Path) -> PrivacyReport:
    report = PrivacyReport()
    connection_ids = _connection_ids(root)
    report.connection_ids = len(connection_ids)
    id_pattern = re.compile("|".join(re.escape(c) for c in sorted(connection_ids))) if connection_ids else None
    for log_file in sorted(root.rglob("logs/*.log")):
        report.files += 1
        for number, line in enumerate(log_file.read_text(errors="replace").splitlines(), 1):
            report.lines += 1
            found = [name for name, pattern in PATTERNS.items() if pattern.search(line)]
            if id_pattern is not None and id_pattern.search(line):
                found.append("connection id in clear")
            for what in found:  # the line itself is not repeated: it is what must not be shown
                report.findings.append(f"{log_file.relative_to(root)}:{number}: {what}")
    return report
