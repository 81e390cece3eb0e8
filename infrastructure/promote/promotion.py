"""Gated promotion: prod is deployed only from a commit whose staging run met every gate.

    python -m promote.promotion --from staging --to prod     (DRY_RUN=1: everything but the deploy)
    python -m promote.promotion --from local --to prod       (a rehearsal on this machine)

(with PYTHONPATH=infrastructure:services:. as `make promote` sets it).

0. The credentials must belong to the accounts the stage configs name (`account`): the source's
   before its stack is read, the destination's before anything else is done (not for DRY_RUN).
1. The source stage must run this commit: its `SourceCommit` output and its deployed template
   (hashed) must match what this checkout synthesizes. Locally the run starts its own stack from
   this checkout's template, which is the same check by construction.
2. The `full` scenario runs against it (Locust workers as configured).
3. The gates are evaluated; any failure stops here with a non-zero exit.
4. Only on a pass: `cdk deploy -c env=<to> -c commit=<sha>`, and the evidence (report, commit,
   who, when, command) is written next to the deployment in reports/promotions/.
"""

from __future__ import annotations

import argparse
import getpass
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from promote.account_guard import WrongAccount, require_stage_account
from stage_access.endpoints import stack_name, stack_outputs

ROOT = Path(__file__).resolve().parents[2]
PROMOTIONS_DIR = ROOT / "reports" / "promotions"
CDK = str(ROOT / "node_modules" / ".bin" / "cdk")


class PromotionBlocked(Exception):
    """A reason not to deploy, in words a release engineer can act on."""


@dataclass(frozen=True)
class Promotion:
    source: str
    destination: str
    scenario: str = "full"
    workers: int | None = None
    dry_run: bool = False
    require_approval: str = "broadening"


def canonical_hash(template: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(template, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def head_commit() -> str:
    result = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True)
    return result.stdout.strip()


def check_source_matches(source: str, commit: str) -> dict[str, Any]:
    """The deployed source stage must be this commit, template and all."""
    if source == "local":
        return {"source": "local", "commit": commit, "check": "the run starts a fresh local stack from this checkout"}
    import boto3

    name = stack_name(source)
    cloudformation = boto3.client("cloudformation")
    outputs = stack_outputs(source, cloudformation)
    deployed_commit = outputs.get("SourceCommit")
    if deployed_commit != commit:
        raise PromotionBlocked(f"{name} runs commit {deployed_commit}, not {commit}: deploy it to {source} first")
    deployed = cloudformation.get_template(StackName=name, TemplateStage="Processed")["TemplateBody"]
    deployed_template = deployed if isinstance(deployed, dict) else json.loads(deployed)
    subprocess.run([CDK, "synth", "-c", f"env={source}", "-c", f"commit={commit}", "--quiet"], cwd=ROOT, check=True)
    local_template = json.loads((ROOT / "cdk.out" / f"{name}.template.json").read_text())
    if canonical_hash(deployed_template) != canonical_hash(local_template):
        raise PromotionBlocked(f"{name}'s deployed template differs from this checkout's synth: redeploy {source}")
    return {"source": source, "commit": commit, "templateHash": canonical_hash(local_template)}


def check_account(stage: str) -> str:
    """The credentials' account, if it is the stage's; refused before any CloudFormation call otherwise."""
    try:
        return require_stage_account(stage)
    except WrongAccount as refused:
        raise PromotionBlocked(str(refused)) from None


def run_load(promotion: Promotion, report_root: Path) -> Path:
    """The load run; returns its report directory (gates.json inside)."""
    from loadtests import run

    before = set(report_root.glob(f"{promotion.source}-*")) if report_root.exists() else set()
    argv = ["--target", promotion.source, "--scale", promotion.scenario, "--report-root", str(report_root)]
    if promotion.workers:
        argv += ["--workers", str(promotion.workers)]
    run.main(argv)
    created = sorted(set(report_root.glob(f"{promotion.source}-*")) - before)
    if not created:
        raise PromotionBlocked("the load run wrote no report")
    return created[-1]


def deploy_command(promotion: Promotion, commit: str) -> list[str]:
    return [
        CDK,
        "deploy",
        stack_name(promotion.destination),
        "-c",
        f"env={promotion.destination}",
        "-c",
        f"commit={commit}",
        "--require-approval",
        promotion.require_approval,
    ]


def execute_command(command: Sequence[str]) -> int:
    return subprocess.run(list(command), cwd=ROOT, check=False).returncode


def promote(
    promotion: Promotion,
    *,
    check_source: Callable[[str, str], dict[str, Any]] | None = None,
    check_stage_account: Callable[[str], str] | None = None,
    load: Callable[[Promotion, Path], Path] | None = None,
    execute: Callable[[Sequence[str]], int] | None = None,
    commit: str | None = None,
    report_root: Path = ROOT / "reports" / "load",
    evidence_dir: Path | None = None,
) -> dict[str, Any]:
    """Each step may stop the promotion; the deploy runs only after all of them passed."""
    check_source = check_source or check_source_matches
    check_stage_account = check_stage_account or check_account
    load = load or run_load
    execute = execute or execute_command
    evidence_dir = evidence_dir or PROMOTIONS_DIR
    commit = commit or head_commit()
    if not promotion.dry_run:
        check_stage_account(promotion.destination)
    if promotion.source != "local":
        check_stage_account(promotion.source)
    source = check_source(promotion.source, commit)
    report_dir = load(promotion, report_root)
    gates_file = report_dir / "gates.json"
    if not gates_file.exists():
        raise PromotionBlocked(f"no gates.json in {report_dir}: the load run did not finish")
    verdict = json.loads(gates_file.read_text())
    failed = [g["name"] for g in verdict.get("gates", []) if not g.get("passed")]
    if failed or not verdict.get("passed") or not verdict.get("gates"):
        raise PromotionBlocked(f"gates failed ({', '.join(failed) or 'no gates evaluated'}); see {gates_file}")
    command = deploy_command(promotion, commit)
    evidence = {
        "from": promotion.source,
        "to": promotion.destination,
        "commit": commit,
        "source": source,
        "report": str(report_dir),
        "gates": verdict["gates"],
        "by": os.environ.get("GITHUB_ACTOR") or getpass.getuser(),
        "at": datetime.now(UTC).isoformat(),
        "command": command,
        "dryRun": promotion.dry_run,
    }
    if not promotion.dry_run:
        status = execute(command)
        evidence["deployExitCode"] = status
        if status != 0:
            raise PromotionBlocked(f"cdk deploy exited with {status}")
    evidence_dir.mkdir(parents=True, exist_ok=True)
    stamp = evidence["at"].replace(":", "").split(".")[0]
    (evidence_dir / f"{promotion.destination}-{stamp}.json").write_text(json.dumps(evidence, indent=2))
    return evidence


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Promote a stage to another only when its load gates pass")
    parser.add_argument("--from", dest="source", default="staging")
    parser.add_argument("--to", dest="destination", default="prod")
    parser.add_argument("--scale", default="full")
    parser.add_argument("--workers", type=int)
    parser.add_argument("--require-approval", default=os.environ.get("REQUIRE_APPROVAL", "broadening"))
    args = parser.parse_args(argv)
    promotion = Promotion(
        source=args.source,
        destination=args.destination,
        scenario=args.scale,
        workers=args.workers,
        dry_run=os.environ.get("DRY_RUN", "") not in ("", "0"),
        require_approval=args.require_approval,
    )
    try:
        evidence = promote(promotion)
    except PromotionBlocked as blocked:
        print(f"PROMOTION BLOCKED: {blocked}", file=sys.stderr)
        return 1
    action = "would deploy (DRY_RUN)" if promotion.dry_run else "deployed"
    print(f"{action}: {' '.join(evidence['command'])}\nevidence: {evidence['report']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
