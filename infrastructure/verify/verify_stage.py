"""`make verify STAGE=local|dev|staging|prod`: the deployment checklist, then the smoke test,
printed as a pass/fail table; exits non-zero if anything failed.

    PYTHONPATH=infrastructure:services:. python -m verify.verify_stage --stage local
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from session_infrastructure.config import PRODUCTION_LIKE
from session_infrastructure.functions import retention_days_for
from stage_access import endpoints
from stage_access.clients import aws_client
from stage_access.tokens import SpeakerTokens, speaker_token
from verify import checklist, smoke
from verify.checklist import FAIL, CheckResult, not_applicable

ROOT = Path(__file__).resolve().parents[2]
LOCAL_STACK_FILE = ROOT / ".local" / "stack.json"
LOCAL_GAPS = (
    (
        "API Gateway",
        "routes, authorizers, stages",
        "the local stack serves the template's APIs but has no control-plane API",
    ),
    ("CloudWatch", "alarms, dashboard, log retention", "not emulated locally"),
    ("SNS", "alarm topic and subscription", "not emulated locally"),
)


def _print(results: list[CheckResult]) -> None:
    width = max(len(r.check) for r in results)
    for r in results:
        print(f"  {r.status:<4}  {r.area:<16} {r.check:<{width}}  {r.detail}")
    failed = sum(r.status == FAIL for r in results)
    passed = sum(r.status == "PASS" for r in results)
    print(f"\n  {passed} passed, {failed} failed, {len(results) - passed - failed} not applicable")


def verify(stage: str, stack_file: Path = LOCAL_STACK_FILE) -> list[CheckResult]:
    if stage == "local":
        if not stack_file.exists():
            raise SystemExit("The local stack is not running: make local-up")
        target = endpoints.read_local_stack(stack_file)
        env = target["env"]
        dynamodb = aws_client(target, "dynamodb")
        token = speaker_token(target, "verify-speaker")
        results = list(checklist.check_tables(env, dynamodb, production_like=False))
        results += checklist.check_functions(env, aws_client(target, "lambda"))
        results += [not_applicable(area, what, why) for area, what, why in LOCAL_GAPS]
    else:
        target = endpoints.from_cloudformation(stage)
        env = stage
        dynamodb = aws_client(target, "dynamodb")
        token = SpeakerTokens(target).next_token()
        results = list(checklist.check_tables(env, dynamodb, production_like=stage in PRODUCTION_LIKE))
        results += checklist.check_functions(env, aws_client(target, "lambda"))
        results += checklist.check_apis(env, aws_client(target, "apigatewayv2"))
        retention = _retention_days(stage)
        results += checklist.check_monitoring(
            env,
            aws_client(target, "cloudwatch"),
            aws_client(target, "sns"),
            aws_client(target, "logs"),
            retention,
        )
    results += smoke.run(target, token, dynamodb)
    return results


def _retention_days(stage: str) -> int:
    from session_infrastructure import config as stage_config

    return retention_days_for(stage_config.load(stage).data_retention_hours)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stage", required=True, help="local, dev, staging or prod")
    parser.add_argument("--stack-json", type=Path, default=LOCAL_STACK_FILE, help="a local stack's stack.json")
    args = parser.parse_args()
    print(f"Verifying stage {args.stage}\n")
    results = verify(args.stage, args.stack_json)
    _print(results)
    sys.exit(1 if any(r.status == FAIL for r in results) else 0)


if __name__ == "__main__":
    main()
