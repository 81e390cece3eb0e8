"""CDK assertion tests on the synthesized template, for dev and prod and the differences between them."""

from __future__ import annotations

import pytest

from session_management import resource_names as names

FUNCTIONS = {
    "session-authorizer": ("session_management.handlers.authorizer.handler", 128, 10),
    "session-connection-handler": ("session_management.handlers.connection.handler", 256, 29),
    "session-heartbeat-handler": ("session_management.handlers.heartbeat.handler", 128, 10),
    "session-disconnect-handler": ("session_management.handlers.disconnect.handler", 256, 29),
    "session-refresh-handler": ("session_management.handlers.refresh.handler", 256, 29),
    "session-control-handler": ("session_management.handlers.control.handler", 256, 29),
    "session-status-handler": ("session_management.handlers.status.handler", 256, 10),
    "session-periodic-job-handler": ("session_management.handlers.periodic_job.handler", 256, 60),
    "session-default-handler": ("session_management.handlers.default.handler", 128, 10),
    "session-http-api-handler": ("session_management.handlers.http_api.handler", 256, 29),
}
MESSAGE_ROUTES = {
    "heartbeat",
    "createSession",
    "joinSession",
    "refreshConnection",
    "speakerControl",
    "listenerControl",
    "getSessionStatus",
    "$default",
}
ENVS = ("dev", "prod")


def resources(template, resource_type):
    return template.find_resources(resource_type)


def websocket_api_id(template):
    [logical_id] = [
        k
        for k, v in resources(template, "AWS::ApiGatewayV2::Api").items()
        if v["Properties"]["ProtocolType"] == "WEBSOCKET"
    ]
    return logical_id


def routes_of(template, api_logical_id):
    return {
        r["Properties"]["RouteKey"]: r["Properties"]
        for r in resources(template, "AWS::ApiGatewayV2::Route").values()
        if r["Properties"]["ApiId"] == {"Ref": api_logical_id}
    }


def function_named(template, name):
    [(logical_id, resource)] = [
        (k, v)
        for k, v in resources(template, "AWS::Lambda::Function").items()
        if v["Properties"]["FunctionName"] == name
    ]
    return logical_id, resource["Properties"]


def role_statements(template, function_logical_id):
    role_id = resources(template, "AWS::Lambda::Function")[function_logical_id]["Properties"]["Role"]["Fn::GetAtt"][0]
    statements = []
    for policy in resources(template, "AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            statements.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    return statements


def actions_of(statements):
    found = set()
    for statement in statements:
        action = statement["Action"]
        found.update(action if isinstance(action, list) else [action])
    return found


@pytest.mark.parametrize("env", ENVS)
def test_tables_keys_billing_and_ttl(templates, env):
    template = templates[env]
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "TableName": f"Sessions-{env}",
            "KeySchema": [{"AttributeName": "sessionId", "KeyType": "HASH"}],
            "BillingMode": "PAY_PER_REQUEST",
            "TimeToLiveSpecification": {"AttributeName": "expiresAt", "Enabled": True},
        },
    )
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "TableName": f"Connections-{env}",
            "KeySchema": [{"AttributeName": "connectionId", "KeyType": "HASH"}],
            "BillingMode": "PAY_PER_REQUEST",
            "TimeToLiveSpecification": {"AttributeName": "ttl", "Enabled": True},
            "GlobalSecondaryIndexes": [
                {
                    "IndexName": "sessionId-targetLanguage-index",
                    "KeySchema": [
                        {"AttributeName": "sessionId", "KeyType": "HASH"},
                        {"AttributeName": "targetLanguage", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
        },
    )
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "TableName": f"RateLimits-{env}",
            "KeySchema": [{"AttributeName": "identifier", "KeyType": "HASH"}],
            "BillingMode": "PAY_PER_REQUEST",
            "TimeToLiveSpecification": {"AttributeName": "expiresAt", "Enabled": True},
        },
    )


def test_prod_retains_tables_with_point_in_time_recovery_and_dev_does_not(templates):
    for table in resources(templates["prod"], "AWS::DynamoDB::Table").values():
        assert table["DeletionPolicy"] == "Retain"
        assert table["Properties"]["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    for table in resources(templates["dev"], "AWS::DynamoDB::Table").values():
        assert table["DeletionPolicy"] == "Delete"
        assert (
            table["Properties"].get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled", False)
            is False
        )


@pytest.mark.parametrize("env", ENVS)
@pytest.mark.parametrize("base_name", sorted(FUNCTIONS))
def test_functions_settings_and_environment(templates, env, base_name):
    handler, memory, timeout = FUNCTIONS[base_name]
    _, props = function_named(templates[env], f"{base_name}-{env}")
    assert props["Handler"] == handler
    assert props["MemorySize"] == memory
    assert props["Timeout"] == timeout
    assert props["Runtime"] == "python3.11"
    assert props["Architectures"] == ["arm64"]
    assert len(props["Layers"]) == 1
    variables = props["Environment"]["Variables"]
    assert "AWS_REGION" not in variables
    assert variables["ENV_NAME"] == env
    for name in (
        "SESSIONS_TABLE_NAME",
        "CONNECTIONS_TABLE_NAME",
        "RATE_LIMITS_TABLE_NAME",
        "COGNITO_USER_POOL_ID",
        "COGNITO_CLIENT_ID",
        "MAX_LISTENERS_PER_SESSION",
        "CONNECTION_REFRESH_MINUTES",
    ):
        assert name in variables


@pytest.mark.parametrize("env", ENVS)
def test_log_groups_cover_the_retention_window(templates, env):
    groups = resources(templates[env], "AWS::Logs::LogGroup").values()
    names = {g["Properties"]["LogGroupName"] for g in groups}
    assert names == {f"/aws/lambda/{name}-{env}" for name in FUNCTIONS} | {f"/aws/apigateway/session-http-api-{env}"}
    # CloudWatch has no hour-based retention: dev's 12 hours map to one day, prod's 48 to three days.
    assert {g["Properties"]["RetentionInDays"] for g in groups} == {1 if env == "dev" else 3}


@pytest.mark.parametrize("env", ENVS)
def test_websocket_api_routes_and_authorizer(templates, env):
    template = templates[env]
    template.has_resource_properties(
        "AWS::ApiGatewayV2::Api",
        {
            "Name": f"session-websocket-api-{env}",
            "ProtocolType": "WEBSOCKET",
            "RouteSelectionExpression": "$request.body.action",
        },
    )
    routes = routes_of(template, websocket_api_id(template))
    assert set(routes) == {"$connect", "$disconnect", *MESSAGE_ROUTES}
    assert routes["$connect"]["AuthorizationType"] == "CUSTOM"
    assert "AuthorizerId" in routes["$connect"]
    for route in MESSAGE_ROUTES:  # every message gets its answer as the route response
        assert routes[route]["RouteResponseSelectionExpression"] == "$default"
    template.resource_count_is("AWS::ApiGatewayV2::RouteResponse", len(MESSAGE_ROUTES))
    template.has_resource_properties(
        "AWS::ApiGatewayV2::Authorizer",
        {"AuthorizerType": "REQUEST", "IdentitySource": ["route.request.header.Host"]},
    )


@pytest.mark.parametrize("env", ENVS)
def test_stage_prod_with_throttling(templates, env):
    templates[env].has_resource_properties(
        "AWS::ApiGatewayV2::Stage",
        {
            "StageName": "prod",
            "AutoDeploy": True,
            "DefaultRouteSettings": {"ThrottlingRateLimit": 1000, "ThrottlingBurstLimit": 2000},
        },
    )


@pytest.mark.parametrize("env", ENVS)
def test_api_gateway_may_invoke_every_function_but_the_periodic_job(templates, env):
    template = templates[env]
    permissions = [p["Properties"] for p in resources(template, "AWS::Lambda::Permission").values()]
    for base_name in FUNCTIONS:
        logical_id, _ = function_named(template, f"{base_name}-{env}")
        invokable = any(
            p["Principal"] == "apigateway.amazonaws.com" and p["FunctionName"] == {"Fn::GetAtt": [logical_id, "Arn"]}
            for p in permissions
        )
        assert invokable is (base_name != "session-periodic-job-handler"), base_name


@pytest.mark.parametrize("env", ENVS)
def test_least_privilege(templates, env):
    template = templates[env]
    authorizer_id, _ = function_named(template, names.function_name(names.AUTHORIZER, env))
    heartbeat_id, _ = function_named(template, names.function_name(names.HEARTBEAT, env))
    default_id, _ = function_named(template, names.function_name(names.DEFAULT, env))
    assert role_statements(template, default_id) == []
    connection_id, _ = function_named(template, names.function_name(names.CONNECTION, env))
    disconnect_id, _ = function_named(template, names.function_name(names.DISCONNECT, env))
    assert role_statements(template, authorizer_id) == []
    assert role_statements(template, heartbeat_id) == []
    connection_actions = actions_of(role_statements(template, connection_id))
    assert "dynamodb:*" not in connection_actions and "dynamodb:Scan" not in connection_actions
    assert {
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "execute-api:ManageConnections",
        "lambda:InvokeFunction",
    } <= connection_actions
    assert "dynamodb:DeleteItem" in actions_of(role_statements(template, disconnect_id))
    for function_id in (connection_id, disconnect_id):
        manage = [s for s in role_statements(template, function_id) if s["Action"] == "execute-api:ManageConnections"]
        [statement] = manage
        resource = statement["Resource"]["Fn::Join"][1]
        assert {"Ref": websocket_api_id(template)} in resource  # this API only
        assert resource[-1] == "/prod/*/@connections/*"


@pytest.mark.parametrize("env", ENVS)
def test_the_periodic_job_runs_every_minute(templates, env):
    template = templates[env]
    job_id, _ = function_named(template, names.function_name(names.PERIODIC_JOB, env))
    template.has_resource_properties(
        "AWS::Events::Rule",
        {"Name": f"session-periodic-job-{env}", "ScheduleExpression": "rate(1 minute)", "State": "ENABLED"},
    )
    [rule] = resources(template, "AWS::Events::Rule").values()
    assert rule["Properties"]["Targets"][0]["Arn"] == {"Fn::GetAtt": [job_id, "Arn"]}
    assert any(
        p["Properties"]["Principal"] == "events.amazonaws.com"
        for p in resources(template, "AWS::Lambda::Permission").values()
    )


@pytest.mark.parametrize("env", ENVS)
def test_outputs(templates, env):
    outputs = templates[env].find_outputs("*")
    assert {
        "SessionsTableName",
        "ConnectionsTableName",
        "RateLimitsTableName",
        "WebSocketAPIEndpoint",
        "WebSocketApiId",
        "WebSocketManagementEndpoint",
        "CognitoUserPoolId",
        "CognitoClientId",
        "SourceCommit",
        "HttpApiUrl",
        "AlarmTopicArn",
        "DashboardName",
    } <= set(outputs)
    assert outputs["SourceCommit"]["Value"] == "unversioned"  # deploys pass -c commit=<sha>


def test_lambda_asset_excludes_bytecode(templates):
    from session_infrastructure.functions import ASSET_EXCLUDES

    assert "**/__pycache__" in ASSET_EXCLUDES and "**/*.pyc" in ASSET_EXCLUDES
