"""cdk-nag AwsSolutions findings we accept, each narrowed to what it covers and with its reason.

Everything else cdk-nag reports fails `make infra-test` (tests/infrastructure/test_nag.py).
"""

from __future__ import annotations

from aws_cdk import Stack
from cdk_nag import NagPackSuppression, NagSuppressions, RegexAppliesTo

from session_management import resource_names as names

# `applies_to` entries match the finding's detail, so a new managed policy or a new wildcard
# elsewhere still fails the check.
_MANAGEMENT_API_WILDCARD = RegexAppliesTo(
    regex=r"/^Resource::arn:<AWS::Partition>:execute-api:[a-z0-9-]+:(<AWS::AccountId>|[0-9]{12}):<WebSocketApi[0-9A-F]+>"
    rf"\/{names.WEBSOCKET_STAGE}\/\*\/@connections\/\*$/"
)
_BASIC_EXECUTION_ROLE = "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"

REVIEWED_FINDINGS = (
    NagPackSuppression(
        id="AwsSolutions-IAM4",
        reason="AWSLambdaBasicExecutionRole grants only logs:CreateLogGroup/CreateLogStream/PutLogEvents; "
        "each function writes to its own CDK-managed log group.",
        applies_to=[_BASIC_EXECUTION_ROLE],
    ),
    NagPackSuppression(
        id="AwsSolutions-IAM5",
        reason="@connections ARNs end in the connection id, which exists only at run time; the grant is "
        "limited to this API's prod stage (execute-api:ManageConnections only).",
        applies_to=[_MANAGEMENT_API_WILDCARD],
    ),
    NagPackSuppression(
        id="AwsSolutions-L1",
        reason="Python 3.11 is the runtime the deployment guide fixes; the shared layer is built for it. "
        "Moving runtime is a deliberate change with its own load run, not a lint fix.",
    ),
    NagPackSuppression(
        id="AwsSolutions-APIG4",
        reason="WebSocket APIs authorize once, on $connect (the REQUEST authorizer); later routes run on "
        "that connection and check the caller's role against DynamoDB (only the session's speaker "
        "controls it). API Gateway offers no per-message authorizer.",
    ),
    NagPackSuppression(
        id="AwsSolutions-APIG1",
        reason="WebSocket access logs need the account-wide API Gateway CloudWatch role, which is account "
        "state outside this stack; every route's function logs the request (hashed ids) and the stage's "
        "metrics feed the dashboard. The HTTP API stage has access logs.",
    ),
)


# Dev's tables are disposable (DESTROY); staging and prod have point-in-time recovery.
DISPOSABLE_STAGE_FINDINGS = (
    NagPackSuppression(
        id="AwsSolutions-DDB3",
        reason="Dev and test stages hold only throwaway sessions (removal policy DESTROY); staging and prod "
        "enable point-in-time recovery.",
    ),
)


def suppress_reviewed_findings(stack: Stack, *, production_like: bool) -> None:
    findings = list(REVIEWED_FINDINGS) + ([] if production_like else list(DISPOSABLE_STAGE_FINDINGS))
    NagSuppressions.add_stack_suppressions(stack, findings, apply_to_nested_stacks=True)
