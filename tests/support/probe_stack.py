"""A small CloudFormation template of probe routes, functions and roles, written the way CDK
synthesizes one, so each fidelity test can provoke exactly one AWS behaviour in the local stack."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.support.stacks import started_stack

FUNCTIONS_DIR = Path(__file__).resolve().parent / "probe_functions"
STACK_NAME = "ProbeStack"
TABLE_NAME = "Probe-fidelity"


def _arn(logical_id: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [logical_id, "Arn"]}


def _invocation_uri(function_logical_id: str) -> dict[str, Any]:
    return {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":apigateway:",
                {"Ref": "AWS::Region"},
                ":lambda:path/2015-03-31/functions/",
                _arn(function_logical_id),
                "/invocations",
            ],
        ]
    }


def _function(name: str, handler: str, role: str, timeout: int = 10, reserved: int | None = None) -> dict[str, Any]:
    props: dict[str, Any] = {
        "FunctionName": f"probe-{name}",
        "Handler": f"probe.{handler}",
        "Runtime": "python3.11",
        "Role": _arn(role),
        "Timeout": timeout,
        "MemorySize": 128,
        "Environment": {"Variables": {"PROBE_TABLE": {"Ref": "ProbeTable"}}},
        "Code": {"S3Bucket": "cdk-assets", "S3Key": "probe.zip"},
    }
    if reserved is not None:
        props["ReservedConcurrentExecutions"] = reserved
    return {"Type": "AWS::Lambda::Function", "Properties": props, "Metadata": {"aws:asset:path": str(FUNCTIONS_DIR)}}


def build(
    assembly_dir: Path,
    *,
    identity_source: str = "route.request.header.Host",
    throttle: tuple[float, int] = (1000, 2000),
) -> Path:
    functions = {
        "Authorizer": _function("authorizer", "authorize", "ProbeRole"),
        "Connect": _function("connect", "connect", "ProbeRole"),
        "Disconnect": _function("disconnect", "disconnect", "ProbeRole"),
        "Echo": _function("echo", "echo", "ProbeRole"),
        "Boom": _function("boom", "boom", "ProbeRole"),
        "Slow": _function("slow", "slow", "ProbeRole", timeout=1),
        "Write": _function("write", "write", "NarrowRole"),
        "Manage": _function("manage", "manage", "ProbeRole"),
        "Unpermitted": _function("unpermitted", "echo", "ProbeRole"),
        "Scheduled": _function("scheduled", "scheduled", "ProbeRole"),
        "Single": _function("single", "slow", "ProbeRole", timeout=3, reserved=1),
    }
    resources: dict[str, Any] = {f"{k}Function": v for k, v in functions.items()}
    resources["ProbeTable"] = {
        "Type": "AWS::DynamoDB::Table",
        "Properties": {
            "TableName": TABLE_NAME,
            "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
            "TimeToLiveSpecification": {"AttributeName": "ttl", "Enabled": True},
        },
    }
    for role, actions in {
        "ProbeRole": ["dynamodb:PutItem", "dynamodb:GetItem"],
        "NarrowRole": ["dynamodb:GetItem"],
    }.items():
        resources[role] = {
            "Type": "AWS::IAM::Role",
            "Properties": {"RoleName": role.lower(), "AssumeRolePolicyDocument": {"Statement": []}},
        }
        resources[f"{role}Policy"] = {
            "Type": "AWS::IAM::Policy",
            "Properties": {
                "PolicyName": f"{role}Policy",
                "Roles": [{"Ref": role}],
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Action": actions, "Resource": _arn("ProbeTable")},
                        {
                            "Effect": "Allow",
                            "Action": "execute-api:ManageConnections",
                            "Resource": {
                                "Fn::Sub": "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:"
                                "${ProbeApi}/prod/*/@connections/*"
                            },
                        },
                    ],
                },
            },
        }
    resources["ProbeApi"] = {
        "Type": "AWS::ApiGatewayV2::Api",
        "Properties": {
            "Name": "probe-api",
            "ProtocolType": "WEBSOCKET",
            "RouteSelectionExpression": "$request.body.action",
        },
    }
    resources["ProbeAuthorizer"] = {
        "Type": "AWS::ApiGatewayV2::Authorizer",
        "Properties": {
            "ApiId": {"Ref": "ProbeApi"},
            "AuthorizerType": "REQUEST",
            "Name": "ProbeAuthorizer",
            "IdentitySource": [identity_source],
            "AuthorizerUri": _invocation_uri("AuthorizerFunction"),
        },
    }
    routes = {
        "$connect": ("Connect", False),
        "$disconnect": ("Disconnect", False),
        "echo": ("Echo", True),
        "silent": ("Echo", False),
        "boom": ("Boom", True),
        "slow": ("Slow", True),
        "write": ("Write", True),
        "manage": ("Manage", True),
        "unpermitted": ("Unpermitted", True),
        "single": ("Single", True),
    }
    for index, (route_key, (function, responds)) in enumerate(routes.items()):
        integration, route = f"Integration{index}", f"Route{index}"
        resources[integration] = {
            "Type": "AWS::ApiGatewayV2::Integration",
            "Properties": {
                "ApiId": {"Ref": "ProbeApi"},
                "IntegrationType": "AWS_PROXY",
                "IntegrationUri": _invocation_uri(f"{function}Function"),
            },
        }
        props: dict[str, Any] = {
            "ApiId": {"Ref": "ProbeApi"},
            "RouteKey": route_key,
            "Target": {"Fn::Join": ["", ["integrations/", {"Ref": integration}]]},
            "AuthorizationType": "NONE",
        }
        if route_key == "$connect":
            props.update({"AuthorizationType": "CUSTOM", "AuthorizerId": {"Ref": "ProbeAuthorizer"}})
        if responds:
            props["RouteResponseSelectionExpression"] = "$default"
            resources[f"{route}Response"] = {
                "Type": "AWS::ApiGatewayV2::RouteResponse",
                "Properties": {"ApiId": {"Ref": "ProbeApi"}, "RouteId": {"Ref": route}, "RouteResponseKey": "$default"},
            }
        resources[route] = {"Type": "AWS::ApiGatewayV2::Route", "Properties": props}
    for function in functions:
        if function in ("Unpermitted", "Scheduled"):
            continue
        resources[f"{function}Permission"] = {
            "Type": "AWS::Lambda::Permission",
            "Properties": {
                "Action": "lambda:InvokeFunction",
                "FunctionName": _arn(f"{function}Function"),
                "Principal": "apigateway.amazonaws.com",
                "SourceArn": {
                    "Fn::Sub": "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${ProbeApi}/*"
                },
            },
        }
    resources["ProbeStage"] = {
        "Type": "AWS::ApiGatewayV2::Stage",
        "Properties": {
            "ApiId": {"Ref": "ProbeApi"},
            "StageName": "prod",
            "AutoDeploy": True,
            "DefaultRouteSettings": {"ThrottlingRateLimit": throttle[0], "ThrottlingBurstLimit": throttle[1]},
        },
    }
    resources["ProbeSchedule"] = {
        "Type": "AWS::Events::Rule",
        "Properties": {
            "Name": "probe-every-minute",
            "ScheduleExpression": "rate(1 minute)",
            "State": "ENABLED",
            "Targets": [{"Arn": _arn("ScheduledFunction"), "Id": "Target0"}],
        },
    }
    assembly_dir.mkdir(parents=True, exist_ok=True)
    path = assembly_dir / f"{STACK_NAME}.template.json"
    path.write_text(json.dumps({"Resources": resources}, indent=1))
    config = assembly_dir / "stage-config.json"
    config.write_text(
        json.dumps(
            {
                "region": "us-east-1",
                "cognitoUserPoolId": "us-east-1_Pr0bePool",
                "cognitoClientId": "probeclient000000000000000a",
            }
        )
    )
    return config


@contextmanager
def started_probe_stack(
    base: Path, *, template: dict[str, Any] | None = None, **options: Any
) -> Iterator[dict[str, Any]]:
    """The probe template (`template`: `build`'s arguments) built under `base` and running;
    `options` as for `started_stack`. Functions start cold: each probe sees a first invocation."""
    assembly = base / "assembly"
    config = build(assembly, **(template or {}))
    with started_stack(
        base / "state",
        assembly_dir=str(assembly),
        stack=STACK_NAME,
        stage_config_file=str(config),
        warm_functions=False,
        **options,
    ) as stack:
        yield stack
