"""The synthesized template as the local stack sees it.

Everything the local stack runs (tables, functions, routes, authorizer, stage) is read from
here, never from a second hand-written list, so a change to the CDK app changes the local
stack the same way it changes a deployment.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local_stack.cloudformation import identities, intrinsics

LOCAL_ACCOUNT_ID = "000000000000"


class TemplateError(ValueError):
    """The template uses something the local stack cannot resolve; named so it can be fixed."""


@dataclass(frozen=True)
class Resource:
    logical_id: str
    type: str
    properties: Mapping[str, Any]
    metadata: Mapping[str, Any]


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

    def referring_to(self, resource_type: str, property_name: str, logical_id: str) -> list[Resource]:
        """The resources of a type whose property resolves to another resource's `Ref` (an API's routes)."""
        target = self.physical_id(logical_id)
        return [r for r in self.of_type(resource_type) if self.resolve(r.properties.get(property_name)) == target]

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.body, sort_keys=True).encode()).hexdigest()

    def resource(self, logical_id: str) -> Resource:
        try:
            return self.resources[logical_id]
        except KeyError:
            raise TemplateError(f"unknown resource {logical_id!r}") from None

    def physical_id(self, logical_id: str) -> str:
        """What `Ref` returns for a resource, as CloudFormation would after a deploy."""
        return identities.physical_id(self, logical_id)

    def attribute(self, logical_id: str, attribute: str) -> str:
        return identities.attribute(self, logical_id, attribute)

    def resolve(self, value: Any) -> Any:
        """Resolve Ref, Fn::GetAtt, Fn::Join, Fn::Sub, Fn::Select and Fn::Split recursively."""
        return intrinsics.resolve(self, value)
