"""Which function (and so which role) signed a request: each function gets its role's access key."""

from __future__ import annotations

from local_stack.awslambda.models import functions_from_template
from local_stack.cloudformation.template import StackTemplate
from local_stack.iam.models import Role, access_key_for, roles_from_template

LOCAL_SECRET_KEY = "local"  # noqa: S105 - the local stack does not verify signatures


def principals_by_access_key(template: StackTemplate) -> dict[str, tuple[Role, str]]:
    roles = roles_from_template(template)
    principals: dict[str, tuple[Role, str]] = {}
    for spec in functions_from_template(template).values():
        role = roles.get(spec.role_logical_id or "")
        if role is not None:
            principals[access_key_for(role.name + "/" + spec.name)] = (role, spec.name)
    return principals


def function_credentials(template: StackTemplate) -> dict[str, dict[str, str]]:
    """Environment credentials per function name, for the Lambda workers."""
    return {
        function_name: {"AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": LOCAL_SECRET_KEY}
        for key, (_, function_name) in principals_by_access_key(template).items()
    }
