"""CloudFormation's intrinsic functions and pseudo parameters, resolved as a deploy would.

Ref, Fn::GetAtt, Fn::Join, Fn::Sub, Fn::Select and Fn::Split; any other function is left as
written (its arguments resolved), so what the local stack cannot model stays visible.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from local_stack.cloudformation.template import StackTemplate

_SUB_VARIABLE = re.compile(r"\$\{([^}!]+)\}")


def pseudo_parameter(template: StackTemplate, name: str) -> str | None:
    """`AWS::NoValue` is None; an unknown pseudo parameter resolves to an empty string."""
    return {
        "AWS::Region": template.region,
        "AWS::AccountId": template.account_id,
        "AWS::Partition": "aws",
        "AWS::URLSuffix": "amazonaws.com",
        "AWS::StackName": template.stack_name,
        "AWS::NoValue": None,
    }.get(name, "")


def resolve(template: StackTemplate, value: Any) -> Any:
    """Resolve every intrinsic in `value`, recursively."""
    if isinstance(value, list):
        return [resolve(template, v) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((key, arg),) = value.items()
        if key == "Ref":
            return pseudo_parameter(template, arg) if arg.startswith("AWS::") else template.physical_id(arg)
        if key == "Fn::GetAtt":
            logical_id, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
            return template.attribute(logical_id, attribute)
        if key == "Fn::Join":
            separator, parts = arg
            return separator.join(str(resolve(template, p)) for p in resolve(template, parts))
        if key == "Fn::Select":
            index, items = arg
            return resolve(template, items)[int(resolve(template, index))]
        if key == "Fn::Split":
            separator, text = arg
            return str(resolve(template, text)).split(separator)
        if key == "Fn::Sub":
            return _sub(template, arg)
    return {k: resolve(template, v) for k, v in value.items()}


def _sub(template: StackTemplate, arg: Any) -> str:
    text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
    resolved_vars = {k: resolve(template, v) for k, v in variables.items()}

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in resolved_vars:
            return str(resolved_vars[name])
        if name.startswith("AWS::"):
            return str(pseudo_parameter(template, name))
        if "." in name:
            logical_id, attribute = name.split(".", 1)
            return template.attribute(logical_id, attribute)
        return template.physical_id(name)

    return _SUB_VARIABLE.sub(substitute, text)
