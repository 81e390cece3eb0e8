"""`make verify STAGE=local` against the suite's own local stack: every check that applies passes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_verify_passes_against_the_local_stack(stack, tmp_path):
    stack_file = tmp_path / "stack.json"
    stack_file.write_text(json.dumps(stack))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "verify.verify_stage",
            "--stage",
            "local",
            "--stack-json",
            str(stack_file),
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={
            **os.environ,
            "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
            "PYTHONPATH": os.pathsep.join(str(ROOT / part) for part in ("infrastructure", "services", ".")),
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr
    rows = [line.split()[0] for line in result.stdout.splitlines() if line.startswith("  ") and line.split()]
    assert "FAIL" not in rows
    assert rows.count("PASS") >= 30
    assert "Smoke" in result.stdout
