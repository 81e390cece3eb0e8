"""Where the parts of one local stack listen, and the two documents the supervisor writes from it:
`runtime.json` (read by the stack's own processes at start) and `stack.json` (the endpoints
clients, tests and the tools use).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from local_stack.iam.credentials import StackCredentials
from local_stack.tls import TlsFiles

if TYPE_CHECKING:
    from local_stack.supervisor import LocalStackOptions

# API Gateway's stage of the WebSocket API; always `prod` (the deployment stage is the `env`).
API_STAGE = "prod"  # the stage every API of the template is served under (resource_names.WEBSOCKET_STAGE)


@dataclass
class StackLayout:
    """Filled in as the supervisor starts the parts: ports are chosen as each part starts."""

    host: str
    region: str
    user_pool_id: str
    client_id: str
    tls: TlsFiles
    log_dir: Path
    # Local-only private keys, so tests can forge tokens "signed by the pool" (like .local/tls).
    signing_keys_file: Path
    # The control endpoints' secret (control_access.py), and where local tools read it.
    control_secret: str
    control_secret_file: Path
    # The keys the stack issues (iam/credentials.py), and where the owner's is written.
    credentials: StackCredentials
    credentials_file: Path
    dynamodb_port: int = 0
    cognito_port: int = 0
    proxy_port: int = 0
    plain_ports: list[int] = field(default_factory=list)
    tls_ports: list[int] = field(default_factory=list)

    @property
    def issuer(self) -> str:
        return f"https://cognito-idp.{self.region}.amazonaws.com/{self.user_pool_id}"

    @property
    def jwks_url(self) -> str:
        return f"http://{self.host}:{self.cognito_port}/{self.user_pool_id}/.well-known/jwks.json"


def function_environment(layout: StackLayout) -> dict[str, str]:
    """What every function's environment adds to the template's: the local endpoints (each function's
    own credentials are added per function, gateway_process.assemble)."""
    host = layout.host
    return {
        "AWS_REGION": layout.region,
        "AWS_DEFAULT_REGION": layout.region,
        "AWS_ENDPOINT_URL_DYNAMODB": f"http://{host}:{layout.proxy_port}",
        "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER": f"http://{host}:{layout.cognito_port}",
        "AWS_ENDPOINT_URL_LAMBDA": f"http://{host}:{layout.plain_ports[0]}",
        "AWS_CA_BUNDLE": str(layout.tls.ca_cert),
    }


def runtime_settings(options: LocalStackOptions, layout: StackLayout) -> dict[str, Any]:
    """`runtime.json`: the gateway processes' settings and the IAM proxy's upstream."""
    host = layout.host
    return {
        "gateway": {
            "stackName": options.stack_name,
            "region": layout.region,
            "assemblyDir": str(Path(options.assembly_dir).resolve()),
            "logDir": str(layout.log_dir.resolve()),
            "host": host,
            "plainPorts": layout.plain_ports,
            "tlsPorts": layout.tls_ports,
            "certFile": str(layout.tls.server_cert),
            "keyFile": str(layout.tls.server_key),
            "functionEnv": function_environment(layout),
            "lambdaConcurrency": options.lambda_concurrency,
            "warmFunctions": options.warm_functions,
            # The HTTP API's JWT authorizer names the real Cognito issuer; its keys live here.
            "jwksUrls": {layout.issuer: layout.jwks_url},
            "controlSecret": layout.control_secret,
            "credentials": layout.credentials.to_json(),
            **options.gateway_overrides,
        },
        "dynamodbProxy": {"port": layout.proxy_port, "upstream": f"http://{host}:{layout.dynamodb_port}"},
    }


def stack_description(
    env: str, layout: StackLayout, tables: list[str], template_digest: str, supervisor_pid: int
) -> dict[str, Any]:
    """`stack.json`: every endpoint of the running stack, in the shape stage access reads."""
    host, stage, tls_port = layout.host, API_STAGE, layout.tls_ports[0]
    gateway = f"{host}:{layout.plain_ports[0]}"
    return {
        "env": env,
        "stage": stage,
        "websocketUrl": f"ws://{gateway}/{stage}",
        "managementApiUrl": f"http://{gateway}/{stage}",
        "dynamodbEndpoint": f"http://{host}:{layout.proxy_port}",
        "dynamodbLocalEndpoint": f"http://{host}:{layout.dynamodb_port}",
        "cognito": {
            "endpoint": f"http://{host}:{layout.cognito_port}",
            "region": layout.region,
            "userPoolId": layout.user_pool_id,
            "clientId": layout.client_id,
            "issuer": layout.issuer,
            "jwksUrl": layout.jwks_url,
            "signingKeysFile": str(layout.signing_keys_file),
        },
        "websocketTlsUrl": f"wss://{host}:{tls_port}/{stage}",
        "httpApiUrl": f"http://{gateway}",
        "httpApiTlsUrl": f"https://{host}:{tls_port}",
        "managementApiTlsUrl": f"https://{host}:{tls_port}/{stage}",
        "websocketUrls": [f"ws://{host}:{p}/{stage}" for p in layout.plain_ports],
        "lambdaEndpoint": f"http://{gateway}",
        "caBundle": str(layout.tls.ca_cert),
        "region": layout.region,
        "tables": tables,
        "templateHash": template_digest,
        "logDir": str(layout.log_dir),
        "controlSecretFile": str(layout.control_secret_file),
        "credentialsFile": str(layout.credentials_file),
        "supervisorPid": supervisor_pid,
    }
