"""Resource-based policies of functions (`AWS::Lambda::Permission`): who may invoke what.

API Gateway can invoke a route's or authorizer's function only if a permission names
`apigateway.amazonaws.com` and its SourceArn covers the route's execute-api ARN; without one,
AWS answers the client with an internal server error, and so does the local gateway.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from local_stack.cloudformation.template import StackTemplate


@dataclass(frozen=True)
class InvokePermission:
    function_name: str
    principal: str
    source_arn: str | None


def _function_name(value: str) -> str:
    return value.split(":function:", 1)[1].split(":", 1)[0] if ":function:" in value else value


def invoke_permissions(template: StackTemplate) -> list[InvokePermission]:
    permissions = []
    for resource in template.of_type("AWS::Lambda::Permission"):
        props = template.resolve(dict(resource.properties))
        if props.get("Action") not in ("lambda:InvokeFunction", "lambda:*"):
            continue
        permissions.append(
            InvokePermission(
                function_name=_function_name(str(props["FunctionName"])),
                principal=str(props.get("Principal", "")),
                source_arn=props.get("SourceArn"),
            )
        )
    return permissions


def apigateway_may_invoke(permissions: list[InvokePermission], function_name: str, source_arn: str) -> bool:
    return any(
        p.function_name == function_name
        and p.principal == "apigateway.amazonaws.com"
        and (p.source_arn is None or fnmatch.fnmatchcase(source_arn, p.source_arn))
        for p in permissions
    )
