"""What the supervisor publishes: the processes' runtime settings and the stack's endpoints."""

from __future__ import annotations

import json
from pathlib import Path

from local_stack.apigateway.settings import GatewaySettings
from local_stack.iam.credentials import StackCredentials
from local_stack.layout import StackLayout, runtime_settings, stack_description
from local_stack.supervisor import LocalStackOptions
from local_stack.tls import TlsFiles


def layout(tmp_path: Path) -> StackLayout:
    return StackLayout(
        host="127.0.0.1",
        region="eu-west-1",
        user_pool_id="eu-west-1_pool",
        client_id="client",
        tls=TlsFiles(tmp_path / "ca.pem", tmp_path / "server.pem", tmp_path / "server-key.pem"),
        log_dir=tmp_path / "logs",
        signing_keys_file=tmp_path / "keys.json",
        control_secret="s3cret",
        control_secret_file=tmp_path / "control-secret",
        credentials=StackCredentials("seed", "AKIAOWNER00000000000", "owner-secret"),
        credentials_file=tmp_path / "credentials.json",
        dynamodb_port=1001,
        cognito_port=1002,
        proxy_port=1003,
        plain_ports=[2001, 2002],
        tls_ports=[3001, 3002],
    )


def test_the_runtime_file_is_what_the_gateway_settings_read(tmp_path):
    options = LocalStackOptions(env="e2e", lambda_concurrency=3, gateway_overrides={"idleTimeoutSeconds": 2})
    runtime = runtime_settings(options, layout(tmp_path))
    runtime_file = tmp_path / "runtime.json"
    runtime_file.write_text(json.dumps(runtime))
    settings = GatewaySettings.from_file(runtime_file)
    assert settings.stack_name == "SessionManagement-e2e"
    assert settings.plain_ports == (2001, 2002) and settings.tls_ports == (3001, 3002)
    assert settings.lambda_concurrency == 3 and settings.idle_timeout_seconds == 2
    assert settings.function_env["AWS_ENDPOINT_URL_DYNAMODB"] == "http://127.0.0.1:1003"  # through the IAM proxy
    assert settings.function_env["AWS_ENDPOINT_URL_LAMBDA"] == "http://127.0.0.1:2001"
    assert settings.function_env["AWS_CA_BUNDLE"] == str(tmp_path / "ca.pem")
    assert settings.jwks_urls == {
        "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_pool": (
            "http://127.0.0.1:1002/eu-west-1_pool/.well-known/jwks.json"
        )
    }
    assert runtime["dynamodbProxy"] == {"port": 1003, "upstream": "http://127.0.0.1:1001"}


def test_stack_json_names_every_endpoint_on_the_first_gateway(tmp_path):
    stack = stack_description("local", layout(tmp_path), ["sessions"], "abc", 42)
    assert stack["websocketUrl"] == "ws://127.0.0.1:2001/prod"
    assert stack["websocketUrls"] == ["ws://127.0.0.1:2001/prod", "ws://127.0.0.1:2002/prod"]
    assert stack["websocketTlsUrl"] == "wss://127.0.0.1:3001/prod"
    assert stack["managementApiUrl"] == "http://127.0.0.1:2001/prod"
    assert stack["httpApiTlsUrl"] == "https://127.0.0.1:3001"
    assert stack["dynamodbEndpoint"] == "http://127.0.0.1:1003"
    assert stack["dynamodbLocalEndpoint"] == "http://127.0.0.1:1001"
    assert stack["cognito"]["issuer"] == "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_pool"
    assert stack["cognito"]["signingKeysFile"] == str(tmp_path / "keys.json")
    assert (stack["tables"], stack["templateHash"], stack["supervisorPid"]) == (["sessions"], "abc", 42)
