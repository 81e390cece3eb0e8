"""What `Ref` and `Fn::GetAtt` return for a resource, as CloudFormation would after a deploy.

Names the template sets are kept; what AWS generates (API ids, ARNs) is derived from the
logical id so it is the same on every start.
"""

from __future__ import annotations

import hashlib
import string
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from local_stack.cloudformation.template import StackTemplate

_API_ID_ALPHABET = string.ascii_lowercase + string.digits


def api_id_for(logical_id: str) -> str:
    """A stable 10-character id in API Gateway's alphabet, derived from the logical id."""
    digest = hashlib.sha256(logical_id.encode()).digest()
    return "".join(_API_ID_ALPHABET[b % len(_API_ID_ALPHABET)] for b in digest[:10])


def physical_id(template: StackTemplate, logical_id: str) -> str:
    """What `Ref` returns for a resource."""
    resource = template.resource(logical_id)
    props = resource.properties
    match resource.type:
        case "AWS::DynamoDB::Table":
            return str(template.resolve(props.get("TableName", logical_id)))
        case "AWS::Lambda::Function":
            return str(template.resolve(props.get("FunctionName", logical_id)))
        case "AWS::IAM::Role":
            return str(template.resolve(props.get("RoleName", logical_id)))
        case "AWS::Logs::LogGroup":
            return str(template.resolve(props.get("LogGroupName", logical_id)))
        case "AWS::ApiGatewayV2::Api":
            return api_id_for(logical_id)
        case "AWS::Lambda::LayerVersion":
            return f"arn:aws:lambda:{template.region}:{template.account_id}:layer:{logical_id}:1"
        case "AWS::SNS::Topic":
            name = template.resolve(props.get("TopicName", logical_id))
            return f"arn:aws:sns:{template.region}:{template.account_id}:{name}"
        case _:
            return logical_id


def attribute(template: StackTemplate, logical_id: str, name: str) -> str:
    """What `Fn::GetAtt` returns; an unmodelled attribute gets a recognisable local ARN."""
    resource = template.resource(logical_id)
    physical = physical_id(template, logical_id)
    arn_prefix = f"arn:aws:{{}}:{template.region}:{template.account_id}"
    match (resource.type, name):
        case ("AWS::Lambda::Function", "Arn"):
            return f"{arn_prefix.format('lambda')}:function:{physical}"
        case ("AWS::DynamoDB::Table", "Arn"):
            return f"{arn_prefix.format('dynamodb')}:table/{physical}"
        case ("AWS::DynamoDB::Table", "StreamArn"):
            return f"{arn_prefix.format('dynamodb')}:table/{physical}/stream/local"
        case ("AWS::IAM::Role", "Arn"):
            return f"arn:aws:iam::{template.account_id}:role/{physical}"
        case ("AWS::ApiGatewayV2::Api", "ApiEndpoint"):
            scheme = "wss" if resource.properties.get("ProtocolType") == "WEBSOCKET" else "https"
            return f"{scheme}://{physical}.execute-api.{template.region}.amazonaws.com"
        case ("AWS::ApiGatewayV2::Api", "ApiId"):
            return physical
        case ("AWS::SNS::Topic", "TopicArn"):
            return physical
        case ("AWS::Logs::LogGroup", "Arn"):
            group = template.resolve(resource.properties.get("LogGroupName", logical_id))
            return f"{arn_prefix.format('logs')}:log-group:{group}:*"
    return f"{arn_prefix.format('local')}:{logical_id}/{name}"
