"""Unit tests run the domain against moto's DynamoDB (fast, in-process); end-to-end tests use DynamoDB Local."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local_stack.cloudformation.template import StackTemplate
from local_stack.dynamodb.provisioning import create_table_requests
from session_management import resource_names as names

ROOT = Path(__file__).resolve().parents[3]

ENVIRONMENT = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "ENV_NAME": "test",
    "SESSIONS_TABLE_NAME": names.sessions_table("test"),
    "CONNECTIONS_TABLE_NAME": names.connections_table("test"),
    "RATE_LIMITS_TABLE_NAME": names.rate_limits_table("test"),
    "COGNITO_USER_POOL_ID": "us-east-1_TestPool1",
    "COGNITO_CLIENT_ID": "testclient",
    "MAX_LISTENERS_PER_SESSION": "3",
    "AWS_LAMBDA_FUNCTION_NAME": names.function_name(names.CONNECTION, "test"),
    "POWERTOOLS_SERVICE_NAME": names.SERVICE_NAME,
}


def reset_dependencies() -> None:
    """Settings and the handlers' dependencies are built once per execution environment; a test's
    environment is a new one."""
    from session_management import config, dependencies

    config.load_settings.cache_clear()
    dependencies.dependencies.cache_clear()


@pytest.fixture(autouse=True)
def environment(monkeypatch):
    for key, value in ENVIRONMENT.items():
        monkeypatch.setenv(key, value)
    reset_dependencies()
    yield
    reset_dependencies()


@cache
def table_requests() -> list[dict[str, Any]]:
    """The CreateTable requests of the synthesized template's tables (the local stack's own
    provisioning code), renamed for the unit tests' stage, so these tables cannot drift from it."""
    assembly = ROOT / "cdk.out"
    if not (assembly / names.template_file("local")).exists():
        pytest.fail("the unit tests build their tables from the synthesized template: run `make synth STAGE=local`")
    template = StackTemplate.load(assembly, names.stack_name("local"), "us-east-1")
    renamed = {
        names.sessions_table("local"): names.sessions_table("test"),
        names.connections_table("local"): names.connections_table("test"),
        names.rate_limits_table("local"): names.rate_limits_table("test"),
    }
    return [
        {**request, "TableName": renamed[request["TableName"]]} for request, _ttl in create_table_requests(template)
    ]


def create_tables(client) -> None:
    for request in table_requests():
        client.create_table(**request)


@pytest.fixture
def reset():
    """For a test that changes the environment: call it to build settings and dependencies anew."""
    return reset_dependencies


@pytest.fixture
def dynamodb():
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_tables(client)
        yield client
