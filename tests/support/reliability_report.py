"""Figures of the last reliability run, written to reports/reliability/last-run.json for
docs/RELIABILITY.md: what was tried, what was injected, what was checked afterwards."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

REPORT = Path(__file__).resolve().parents[2] / "reports" / "reliability" / "last-run.json"
_LOCK = threading.Lock()


def record(category: str, name: str, **figures: Any) -> None:
    with _LOCK:
        REPORT.parent.mkdir(parents=True, exist_ok=True)
        data = json.loads(REPORT.read_text()) if REPORT.exists() else {}
        data.setdefault(category, {})[name] = figures
        REPORT.write_text(json.dumps(data, indent=2, sort_keys=True))
