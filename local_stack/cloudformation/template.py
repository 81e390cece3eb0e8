"""The synthesized template as the local stack sees it.

Everything the local stack runs (tables, functions, routes, authorizer, stage) is read from
here, never from a second hand-written list, so a change to the CDK app changes the local
stack the same way it changes a deployment.
"""

from __future__ import annotations

import hashlib
import json
import re
import string
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LOCAL_ACCOUNT_ID = "000000000000"
_API_ID_ALPHABET = string.ascii_lowercase + string.digits


class TemplateError(ValueError):
    """The template uses something the local stack cannot resolve; named so it can be fixed."""


@dataclass(frozen=True)
class Resource:
    logical_id: str
    type: str
    properties: Mapping[str, Any]
    metadata: Mapping[str, Any]


def _api_id_for(logical_id: str) -> str:
    """A stable 10-character id in API Gateway's alphabet, derived from the logical id."""
    digest = hashlib.sha256(logical_id.encode()).digest()
    return "".join(_API_ID_ALPHABET[b % len(_API_ID_ALPHABET)] for b in digest[:10])


class StackTemplate:
    """A loaded template with CloudFormation's intrinsic functions resolved the way a deploy would."""

    def __init__(self, body: Mapping[str, Any], *, stack_name: str, region: str, assembly_dir: Path) -> None:
        self.body = body
        self.stack_name = stack_name
        self.region = region
        self.account_id = LOCAL_ACCOUNT_ID
        self.assembly_dir = assembly_dir
        self.resources: dict[str, Resource] = {
            logical_id: Resource(
                logical_id=logical_id,
                type=resource["Type"],
                properties=resource.get("Properties", {}),
                metadata=resource.get("Metadata", {}),
            )
            for logical_id, resource in body.get("Resources", {}).items()
        }

    @classmethod
    def load(cls, assembly_dir: Path, stack_name: str, region: str) -> StackTemplate:
        path = assembly_dir / f"{stack_name}.template.json"
        if not path.exists():
            raise TemplateError(f"{path} not found: run `make synth` first")
        return cls(json.loads(path.read_text()), stack_name=stack_name, region=region, assembly_dir=assembly_dir)

    def of_type(self, resource_type: str) -> Iterator[Resource]:
        return (r for r in self.resources.values() if r.type == resource_type)

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.body, sort_keys=True).encode()).hexdigest()

    # Physical identities ---------------------------------------------------------------
    def physical_id(self, logical_id: str) -> str:
        """What `Ref` returns for a resource, as CloudFormation would after a deploy."""
        resource = self._resource(logical_id)
        props = resource.properties
        match resource.type:
            case "AWS::DynamoDB::Table":
                return str(self.resolve(props.get("TableName", logical_id)))
            case "AWS::Lambda::Function":
                return str(self.resolve(props.get("FunctionName", logical_id)))
            case "AWS::IAM::Role":
                return str(self.resolve(props.get("RoleName", logical_id)))
            case "AWS::ApiGatewayV2::Api":
                return _api_id_for(logical_id)
            case "AWS::Lambda::LayerVersion":
                return f"arn:aws:lambda:{self.region}:{self.account_id}:layer:{logical_id}:1"
            case "AWS::SNS::Topic":
                name = self.resolve(props.get("TopicName", logical_id))
                return f"arn:aws:sns:{self.region}:{self.account_id}:{name}"
            case _:
                return logical_id

    def attribute(self, logical_id: str, attribute: str) -> str:
        resource = self._resource(logical_id)
        physical = self.physical_id(logical_id)
        arn_prefix = f"arn:aws:{{}}:{self.region}:{self.account_id}"
        match (resource.type, attribute):
            case ("AWS::Lambda::Function", "Arn"):
                return f"{arn_prefix.format('lambda')}:function:{physical}"
            case ("AWS::DynamoDB::Table", "Arn"):
                return f"{arn_prefix.format('dynamodb')}:table/{physical}"
            case ("AWS::DynamoDB::Table", "StreamArn"):
                return f"{arn_prefix.format('dynamodb')}:table/{physical}/stream/local"
            case ("AWS::IAM::Role", "Arn"):
                return f"arn:aws:iam::{self.account_id}:role/{physical}"
            case ("AWS::ApiGatewayV2::Api", "ApiEndpoint"):
                scheme = "wss" if resource.properties.get("ProtocolType") == "WEBSOCKET" else "https"
                return f"{scheme}://{physical}.execute-api.{self.region}.amazonaws.com"
            case ("AWS::ApiGatewayV2::Api", "ApiId"):
                return physical
            case ("AWS::SNS::Topic", "TopicArn"):
                return physical
            case ("AWS::Logs::LogGroup", "Arn"):
                name = self.resolve(resource.properties.get("LogGroupName", logical_id))
                return f"{arn_prefix.format('logs')}:log-group:{name}:*"
        return f"{arn_prefix.format('local')}:{logical_id}/{attribute}"

    def _resource(self, logical_id: str) -> Resource:
        try:
            return self.resources[logical_id]
        except KeyError:
            raise TemplateError(f"unknown resource {logical_id!r}") from None

    # Intrinsics ------------------------------------------------------------------------
    def _pseudo(self, name: str) -> str | None:
        return {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": self.stack_name,
            "AWS::NoValue": None,
        }.get(name, "")

    def resolve(self, value: Any) -> Any:
        """Resolve Ref, Fn::GetAtt, Fn::Join, Fn::Sub, Fn::Select and Fn::Split recursively."""
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self._pseudo(arg) if arg.startswith("AWS::") else self.physical_id(arg)
            if key == "Fn::GetAtt":
                logical_id, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.attribute(logical_id, attribute)
            if key == "Fn::Join":
                separator, parts = arg
                return separator.join(str(self.resolve(p)) for p in self.resolve(parts))
            if key == "Fn::Select":
                index, items = arg
                return self.resolve(items)[int(self.resolve(index))]
            if key == "Fn::Split":
                separator, text = arg
                return str(self.resolve(text)).split(separator)
            if key == "Fn::Sub":
                return self._sub(arg)
        return {k: self.resolve(v) for k, v in value.items()}

    def _sub(self, arg: Any) -> str:
        template, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
        resolved_vars = {k: self.resolve(v) for k, v in variables.items()}

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in resolved_vars:
                return str(resolved_vars[name])
            if name.startswith("AWS::"):
                return str(self._pseudo(name))
            if "." in name:
                logical_id, attribute = name.split(".", 1)
                return self.attribute(logical_id, attribute)
            return self.physical_id(name)

        return re.sub(r"\$\{([^}!]+)\}", substitute, template)
