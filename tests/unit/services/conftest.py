"""Unit tests run the domain against moto's DynamoDB (fast, in-process); end-to-end tests use DynamoDB Local."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

ENVIRONMENT = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "ENV_NAME": "test",
    "SESSIONS_TABLE_NAME": "Sessions-test",
    "CONNECTIONS_TABLE_NAME": "Connections-test",
    "RATE_LIMITS_TABLE_NAME": "RateLimits-test",
    "COGNITO_USER_POOL_ID": "us-east-1_TestPool1",
    "COGNITO_CLIENT_ID": "testclient",
    "MAX_LISTENERS_PER_SESSION": "3",
    "AWS_LAMBDA_FUNCTION_NAME": "session-connection-handler-test",
    "POWERTOOLS_SERVICE_NAME": "session-management",
}


def _clear_caches() -> None:
    from session_management import aws, config, lifecycle

    for cached in (
        config.load_settings,
        aws.dynamodb_client,
        aws.lambda_client,
        aws.cognito_endpoint,
        aws.management_client,
        lifecycle.repositories,
    ):
        cached.cache_clear()


@pytest.fixture(autouse=True)
def environment(monkeypatch):
    for key, value in ENVIRONMENT.items():
        monkeypatch.setenv(key, value)
    _clear_caches()
    yield
    _clear_caches()


def create_tables(client) -> None:
    string = "S"
    client.create_table(
        TableName="Sessions-test",
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "sessionId", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": "sessionId", "AttributeType": string},
            {"AttributeName": "speakerUserId", "AttributeType": string},
            {"AttributeName": "createdAt", "AttributeType": "N"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "speakerUserId-createdAt-index",
                "KeySchema": [
                    {"AttributeName": "speakerUserId", "KeyType": "HASH"},
                    {"AttributeName": "createdAt", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    client.create_table(
        TableName="Connections-test",
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "connectionId", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": "connectionId", "AttributeType": string},
            {"AttributeName": "sessionId", "AttributeType": string},
            {"AttributeName": "targetLanguage", "AttributeType": string},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "sessionId-targetLanguage-index",
                "KeySchema": [
                    {"AttributeName": "sessionId", "KeyType": "HASH"},
                    {"AttributeName": "targetLanguage", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    client.create_table(
        TableName="RateLimits-test",
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "identifier", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "identifier", "AttributeType": string}],
    )


@pytest.fixture
def dynamodb():
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_tables(client)
        yield client
