"""Roles and their identity-based policies, read from the template, and how they are evaluated.

Evaluation follows IAM's order for identity-based policies: an explicit Deny wins, then any
Allow, otherwise an implicit deny. Actions and resources match with IAM's `*` and `?`
wildcards, case-insensitively for actions.
"""

from __future__ import annotations

import fnmatch
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from local_stack.cloudformation.template import StackTemplate, TemplateError


@dataclass(frozen=True)
class Statement:
    effect: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    not_actions: tuple[str, ...] = ()

    def covers(self, action: str, resource: str) -> bool:
        action_lower = action.lower()
        if self.not_actions:
            if any(fnmatch.fnmatchcase(action_lower, a.lower()) for a in self.not_actions):
                return False
        elif not any(fnmatch.fnmatchcase(action_lower, a.lower()) for a in self.actions):
            return False
        return any(fnmatch.fnmatchcase(resource, r) for r in self.resources)


@dataclass(frozen=True)
class Role:
    logical_id: str
    name: str
    arn: str
    statements: tuple[Statement, ...] = field(default_factory=tuple)

    def is_allowed(self, action: str, resource: str) -> bool:
        matching = [s for s in self.statements if s.covers(action, resource)]
        if any(s.effect == "Deny" for s in matching):
            return False
        return any(s.effect == "Allow" for s in matching)


# A function's role and the function's name, as its access key identifies them.
Principal = tuple[Role, str]


def _as_tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return tuple(str(v) for v in (value if isinstance(value, list) else [value]))


# What IAM evaluates that this evaluator does not: a statement with one of these could allow less
# than it seems (a Condition) or more (a NotResource read as everything), so it is refused.
_UNEVALUATED = ("Condition", "NotResource", "NotPrincipal")


class UnsupportedPolicy(TemplateError):
    """A policy statement the local IAM cannot evaluate exactly; the stack does not start."""


def _statements(template: StackTemplate, document: Mapping[str, Any], owner: str) -> list[Statement]:
    resolved = template.resolve(dict(document))
    raw = resolved.get("Statement", [])
    for index, statement in enumerate(raw if isinstance(raw, list) else [raw]):
        for element in _UNEVALUATED:
            if element in statement:
                name = statement.get("Sid") or f"statement {index}"
                raise UnsupportedPolicy(
                    f"{owner}: {name} uses {element}, which the local IAM does not evaluate; it refuses to start "
                    "rather than allow more than AWS would (see Known differences in docs/LOCAL_STACK.md)"
                )
    return [
        Statement(
            effect=str(s.get("Effect", "Allow")),
            actions=_as_tuple(s.get("Action")),
            not_actions=_as_tuple(s.get("NotAction")),
            resources=_as_tuple(s.get("Resource", "*")),
        )
        for s in (raw if isinstance(raw, list) else [raw])
    ]


def _role_refs(template: StackTemplate, roles: Iterable[Any]) -> set[str]:
    return {str(template.resolve(r)) for r in roles}


def roles_from_template(template: StackTemplate) -> dict[str, Role]:
    """Every AWS::IAM::Role with its inline policies and the AWS::IAM::Policy resources attached to it."""
    roles: dict[str, Role] = {}
    policies = list(template.of_type("AWS::IAM::Policy"))
    for resource in template.of_type("AWS::IAM::Role"):
        name = template.physical_id(resource.logical_id)
        statements: list[Statement] = []
        for inline in resource.properties.get("Policies", []):
            statements.extend(_statements(template, inline["PolicyDocument"], resource.logical_id))
        for policy in policies:
            if name in _role_refs(template, policy.properties.get("Roles", [])):
                statements.extend(_statements(template, policy.properties["PolicyDocument"], policy.logical_id))
        roles[resource.logical_id] = Role(
            logical_id=resource.logical_id,
            name=name,
            arn=template.attribute(resource.logical_id, "Arn"),
            statements=tuple(statements),
        )
    return roles


def access_key_for(role_name: str) -> str:
    """A stable, recognisable access key id per role (20 characters like a real one)."""
    return "ASIA" + hashlib.sha256(role_name.encode()).hexdigest()[:16].upper()
