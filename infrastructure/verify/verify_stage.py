"""`make verify STAGE=local|dev|staging|prod`: the deployment checklist, then the smoke test,
printed as a pass/fail table; exits non-zero if anything failed."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

INFRASTRUCTURE = Path(__file__).resolve().parents[1]
ROOT = INFRASTRUCTURE.parent
sys.path[:0] = [str(INFRASTRUCTURE), str(ROOT), str(ROOT / "services")]

from loadtests import target as targets  # noqa: E402
from session_infrastructure.config import PRODUCTION_LIKE  # noqa: E402
from session_infrastructure.functions import retention_days_for  # noqa: E402
from verify import checklist, smoke  # noqa: E402
from verify.checklist import FAIL, CheckResult, not_applicable  # noqa: E402

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
        stack = json.loads(stack_file.read_text())
        target = targets.from_local_stack(stack)
        env = stack["env"]
        import boto3

        local = {"region_name": stack["region"], "aws_access_key_id": "local", "aws_secret_access_key": "local"}
        dynamodb = boto3.client("dynamodb", endpoint_url=stack["dynamodbEndpoint"], **local)
        lambda_client = boto3.client("lambda", endpoint_url=stack["lambdaEndpoint"], **local)
        from local_stack import cli

        token = cli.speaker_token(stack, "verify-speaker")
        results = list(checklist.check_tables(env, dynamodb, production_like=False))
        results += checklist.check_functions(env, lambda_client)
        results += [not_applicable(area, what, why) for area, what, why in LOCAL_GAPS]
    else:
        import boto3

        target = targets.from_cloudformation(stage)
        env = stage
        region = target["region"]
        dynamodb = boto3.client("dynamodb", region_name=region)
        token = targets.SpeakerTokens(target).next_token()
        results = list(checklist.check_tables(env, dynamodb, production_like=stage in PRODUCTION_LIKE))
        results += checklist.check_functions(env, boto3.client("lambda", region_name=region))
        results += checklist.check_apis(env, boto3.client("apigatewayv2", region_name=region))
        retention = _retention_days(stage)
        results += checklist.check_monitoring(
            env,
            boto3.client("cloudwatch", region_name=region),
            boto3.client("sns", region_name=region),
            boto3.client("logs", region_name=region),
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
