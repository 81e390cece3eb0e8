"""One load run, start to verdict: target, floor, Locust, verifier, gates, report.

    python -m loadtests.run --stage local --scale smoke
    python -m loadtests.run --stage staging --scale full --workers 4     (--target: the older spelling)

Writes reports/load/<stage>-<timestamp>/ (Locust's HTML and CSVs, run summaries, verifier.json,
resources.json, gates.json) and exits non-zero when any gate fails.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from loadtests import gates, phases, provenance
from loadtests.paths import REPORT_ROOT, ROOT
from loadtests.sampling import ResourceSampler
from loadtests.scenario import Scenario
from stage_access import endpoints


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run a load scenario and evaluate its gates")
    parser.add_argument(
        "--stage", "--target", dest="target", default="local", help="local, or a deployed stage (staging, prod)"
    )
    parser.add_argument("--scale", default="smoke", help="scenario name or file: smoke, full, soak")
    parser.add_argument("--workers", type=int, help="Locust processes (default: the scenario's)")
    parser.add_argument("--report-root", type=Path, default=REPORT_ROOT)
    parser.add_argument("--no-floor", action="store_true", help="skip the echo-server floor run")
    args = parser.parse_args(argv)

    scenario = Scenario.load(args.scale)
    workers = args.workers or scenario.processes
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    report_dir = args.report_root / f"{args.target}-{stamp}"
    report_dir.mkdir(parents=True, exist_ok=True)
    shape = f"{scenario.sessions} x {scenario.listeners_per_session}"
    print(f"load run: scenario {scenario.name} ({shape}), target {args.target}, report {report_dir}")

    stack_dir: Path | None = None
    roots: list[int] = []
    if args.target == "local":
        stack, stack_dir = phases.start_local_target(scenario)
        roots.append(int(stack["supervisorPid"]))
        run_target = endpoints.from_local_stack(stack)
        template_digest = stack.get("templateHash")
    else:
        run_target = endpoints.from_cloudformation(args.target)
        template_path = ROOT / "cdk.out" / f"{endpoints.stack_name(args.target)}.template.json"
        template_digest = provenance.template_hash(template_path)
    target_file = report_dir / "target.json"
    target_file.write_text(json.dumps(run_target, indent=2))
    metadata = {
        "scenario": scenario.name,
        "target": args.target,
        "commit": provenance.git_commit(),
        "deployedCommit": run_target.get("sourceCommit"),
        "templateHash": template_digest,
        "machine": provenance.machine(),
        "workers": workers,
        "startedAt": datetime.now(UTC).isoformat(),
    }
    sampler = ResourceSampler(roots)
    sampler.start()
    try:
        phases.run_phases(scenario, run_target, target_file, report_dir, workers, roots, floor=not args.no_floor)
    finally:
        metadata["resources"] = sampler.stop()
        metadata["finishedAt"] = datetime.now(UTC).isoformat()
        if stack_dir is not None:
            phases.stop_local_target(stack_dir)
    document, table = gates.judge(report_dir, args.target, scenario.connections, metadata)
    print(table)
    print(f"\n{'PASSED' if document['passed'] else 'FAILED'}: {report_dir / 'gates.json'}")
    return 0 if document["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
