"""The smoke load run against a fresh local stack: about a minute, two Locust processes, and its
gates must pass. It is the same command a release engineer runs (`make load-test`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from local_stack.processes import ROOT


def test_smoke_load_run_meets_its_gates(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "loadtests.run",
            "--target",
            "local",
            "--scale",
            "smoke",
            "--report-root",
            str(tmp_path),
        ],
        cwd=ROOT,
        # What `make load-test` puts on the path (the Makefile's TOOLS_PATH).
        env={**os.environ, "PYTHONPATH": os.pathsep.join(str(ROOT / p) for p in ("infrastructure", "services", "."))},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    [report] = list(tmp_path.glob("local-*"))
    document = json.loads((report / "gates.json").read_text())
    failed = [g for g in document["gates"] if not g["passed"]]
    assert result.returncode == 0 and not failed, f"{failed}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    steps = {row["step"] for row in document["steps"] if row["source"] == "service"}
    assert {"create", "join", "heartbeat", "fanout", "control"} <= steps
    run = json.loads((report / "run-service.json").read_text())
    # The roster crossed from the master to two worker processes and still filled every session exactly.
    assert list(run["listenersAssigned"].values()) == [20, 20, 20]
    assert run["verifierLive"]["liveListeners"] == 60 and run["verifierLive"]["orphanRows"] == 0
    assert (report / "locust.html").exists() and document["machine"]["cpus"] and document["commit"]
