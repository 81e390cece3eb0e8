"""Where the load suite and its reports live in the checkout."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPORT_ROOT = ROOT / "reports" / "load"
LOCUSTFILE = ROOT / "loadtests" / "locustfile.py"
