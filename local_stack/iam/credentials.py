"""The keys this stack issues: one per function role, given to that function's workers, and one
for the stack's owner (local tools and tests). Nothing else signs a request the stack accepts.

Secrets are made at every start: each function's is derived from a per-stack seed (so the gateway
processes and the DynamoDB proxy need only the seed), the owner's is random. The owner's key is
written 0600 to the state directory (`credentials.json`), where `stack.json` points.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from local_stack.awslambda.models import functions_from_template
from local_stack.cloudformation.template import StackTemplate
from local_stack.iam.models import access_key_for, roles_from_template
from local_stack.iam.signatures import IssuedKey

OWNER_CREDENTIALS_FILE = "credentials.json"


@dataclass(frozen=True)
class StackCredentials:
    seed: str
    owner_access_key_id: str
    owner_secret_access_key: str

    @classmethod
    def new(cls) -> StackCredentials:
        owner = "AKIA" + secrets.token_hex(8).upper()
        return cls(seed=secrets.token_hex(32), owner_access_key_id=owner, owner_secret_access_key=secrets.token_hex(20))

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> StackCredentials:
        return cls(**raw)

    def to_json(self) -> dict[str, str]:
        return asdict(self)

    def owner_file_content(self) -> bytes:
        """What `credentials.json` holds: the owner's key, in boto3's parameter names."""
        owner = {"aws_access_key_id": self.owner_access_key_id, "aws_secret_access_key": self.owner_secret_access_key}
        return json.dumps(owner, indent=2).encode()

    def function_secret(self, access_key_id: str) -> str:
        return hmac.new(self.seed.encode(), access_key_id.encode(), hashlib.sha256).hexdigest()[:40]


def _function_keys(template: StackTemplate) -> dict[str, tuple[Any, str]]:
    """Access key id -> (role, function name), for every function whose role is in the template."""
    roles = roles_from_template(template)
    keys: dict[str, tuple[Any, str]] = {}
    for spec in functions_from_template(template).values():
        role = roles.get(spec.role_logical_id or "")
        if role is not None:
            keys[access_key_for(role.name + "/" + spec.name)] = (role, spec.name)
    return keys


def issued_keys(template: StackTemplate, credentials: StackCredentials) -> dict[str, IssuedKey]:
    """Every key that may sign a request to this stack, with whom it stands for."""
    keys = {
        key: IssuedKey(credentials.function_secret(key), principal)
        for key, principal in _function_keys(template).items()
    }
    keys[credentials.owner_access_key_id] = IssuedKey(credentials.owner_secret_access_key, None)
    return keys


def function_credentials(template: StackTemplate, credentials: StackCredentials) -> dict[str, dict[str, str]]:
    """Environment credentials per function name, for the Lambda workers. A function whose role is
    not a role of the template gets none: no key of the stack stands for a role it cannot read."""
    return {
        function_name: {"AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": credentials.function_secret(key)}
        for key, (_, function_name) in _function_keys(template).items()
    }


def read_owner_credentials(state_dir: Path) -> dict[str, str]:
    result: dict[str, str] = json.loads((state_dir / OWNER_CREDENTIALS_FILE).read_text())
    return result
