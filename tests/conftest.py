"""Suite-wide: the privacy scan of every log line the suite's stacks wrote (tests/support/privacy.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.privacy import scan

REPORT = Path(__file__).resolve().parents[1] / "reports" / "reliability" / "privacy.json"


@pytest.fixture(scope="session", autouse=True)
def privacy_scan(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    yield
    report = scan(tmp_path_factory.getbasetemp())
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(
        json.dumps(
            {
                "files": report.files,
                "lines": report.lines,
                "connectionIds": report.connection_ids,
                "findings": len(report.findings),
            },
            indent=2,
        )
    )
    assert not report.findings, "personal data in logs:\n" + "\n".join(report.findings[:50])
