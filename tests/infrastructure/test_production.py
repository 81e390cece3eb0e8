"""The production parts of the stack: alarms and their topic, the dashboard, the HTTP session API,
the speaker index, and cdk-nag's AwsSolutions checks, for dev and prod."""

from __future__ import annotations

import pytest

from session_management import resource_names as names
from tests.infrastructure.conftest import ALARM_EMAIL, example_config, synthesize_stack
from tests.infrastructure.test_stack import actions_of, function_named, resources, role_statements

ENVS = ("dev", "prod")
FUNCTION_KEYS = (
    "authorizer",
    "connection",
    "heartbeat",
    "disconnect",
    "refresh",
    "control",
    "status",
    "default",
    "http-api",
)


def alarms(template):
    return {
        a["Properties"]["AlarmName"]: a["Properties"] for a in resources(template, "AWS::CloudWatch::Alarm").values()
    }


@pytest.mark.parametrize("env", ENVS)
def test_latency_alarms_match_the_product_targets(templates, env):
    found = alarms(templates[env])
    for metric, threshold in (
        ("SessionCreationLatency", 2000),
        ("ListenerJoinLatency", 1000),
        ("HeartbeatLatency", 100),
    ):
        [alarm] = [a for a in found.values() if a.get("MetricName") == metric]
        assert alarm["ExtendedStatistic"] == "p95"
        assert alarm["Threshold"] == threshold
        assert alarm["Namespace"] == "SessionManagement"
        assert alarm["Dimensions"] == [{"Name": "service", "Value": "session-management"}]
        assert alarm["TreatMissingData"] == "notBreaching"


@pytest.mark.parametrize("env", ENVS)
def test_service_alarms(templates, env):
    found = alarms(templates[env])
    assert found[f"session-connection-errors-{env}"]["MetricName"] == "ConnectionErrors"
    assert found[f"session-fanout-failures-{env}"]["MetricName"] == "FanoutFailures"
    assert found[f"session-periodic-job-failures-{env}"]["MetricName"] == "PeriodicJobFailures"
    active = found[f"session-active-sessions-near-limit-{env}"]
    assert active["MetricName"] == "ActiveSessions"
    assert active["Threshold"] == 80  # 80 % of maxActiveSessions (100)
    assert active["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"


@pytest.mark.parametrize("env", ENVS)
def test_every_function_has_error_and_throttle_alarms(templates, env):
    found = alarms(templates[env])
    for key in FUNCTION_KEYS:
        for kind, metric in (("errors", "Errors"), ("throttles", "Throttles")):
            alarm = found[f"session-{key}-function-{kind}-{env}"]
            assert alarm["Namespace"] == "AWS/Lambda" and alarm["MetricName"] == metric
            assert alarm["Threshold"] == 0 and alarm["ComparisonOperator"] == "GreaterThanThreshold"


@pytest.mark.parametrize("env", ENVS)
def test_every_alarm_notifies_the_topic(templates, env):
    template = templates[env]
    [(topic_id, topic)] = resources(template, "AWS::SNS::Topic").items()
    assert topic["Properties"]["TopicName"] == f"session-management-alarms-{env}"
    # Names are unique: CloudFormation would refuse the deploy, synth would not.
    assert len(alarms(template)) == len(resources(template, "AWS::CloudWatch::Alarm"))
    for alarm in alarms(template).values():
        assert alarm["AlarmActions"] == [{"Ref": topic_id}]
        assert alarm["OKActions"] == [{"Ref": topic_id}]
    # Only TLS publishers (cdk-nag SNS3).
    [policy] = resources(template, "AWS::SNS::TopicPolicy").values()
    assert policy["Properties"]["PolicyDocument"]["Statement"][0]["Condition"] == {
        "Bool": {"aws:SecureTransport": "false"}
    }


def test_prod_mails_its_alarms_and_dev_has_no_subscription(templates):
    templates["prod"].has_resource_properties("AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": ALARM_EMAIL})
    templates["dev"].resource_count_is("AWS::SNS::Subscription", 0)


@pytest.mark.parametrize("env", ENVS)
def test_dashboard_shows_latency_percentiles_and_active_resources(templates, env):
    [dashboard] = resources(templates[env], "AWS::CloudWatch::Dashboard").values()
    assert dashboard["Properties"]["DashboardName"] == f"SessionManagement-{env}"
    body = "".join(str(part) for part in dashboard["Properties"]["DashboardBody"]["Fn::Join"][1])
    for expected in ("SessionCreationLatency", "ListenerJoinLatency", "HeartbeatLatency", "ActiveSessions", "p99"):
        assert expected in body


@pytest.mark.parametrize("env", ENVS)
def test_http_api_routes_behind_the_cognito_jwt_authorizer(templates, env):
    template = templates[env]
    [(api_id, _)] = [
        (k, v)
        for k, v in resources(template, "AWS::ApiGatewayV2::Api").items()
        if v["Properties"]["ProtocolType"] == "HTTP"
    ]
    template.has_resource_properties(
        "AWS::ApiGatewayV2::Api", {"Name": f"session-http-api-{env}", "ProtocolType": "HTTP"}
    )
    [(authorizer_id, authorizer)] = [
        (k, v)
        for k, v in resources(template, "AWS::ApiGatewayV2::Authorizer").items()
        if v["Properties"]["AuthorizerType"] == "JWT"
    ]
    config = example_config(env)
    assert authorizer["Properties"]["JwtConfiguration"] == {
        "Audience": [config["cognitoClientId"]],
        "Issuer": f"https://cognito-idp.{config['region']}.amazonaws.com/{config['cognitoUserPoolId']}",
    }
    assert authorizer["Properties"]["IdentitySource"] == ["$request.header.Authorization"]
    routes = {
        r["Properties"]["RouteKey"]: r["Properties"]
        for r in resources(template, "AWS::ApiGatewayV2::Route").values()
        if r["Properties"]["ApiId"] == {"Ref": api_id}
    }
    assert set(routes) == {
        "POST /sessions",
        "GET /sessions",
        "GET /sessions/{sessionId}",
        "PATCH /sessions/{sessionId}",
        "DELETE /sessions/{sessionId}",
    }
    for route in routes.values():
        assert route["AuthorizationType"] == "JWT" and route["AuthorizerId"] == {"Ref": authorizer_id}
    [stage] = [
        s["Properties"]
        for s in resources(template, "AWS::ApiGatewayV2::Stage").values()
        if s["Properties"]["ApiId"] == {"Ref": api_id}
    ]
    assert stage["StageName"] == "$default" and stage["AutoDeploy"] is True
    assert "sourceIp" not in stage["AccessLogSettings"]["Format"]
    assert stage["DefaultRouteSettings"] == {"ThrottlingBurstLimit": 2000, "ThrottlingRateLimit": 1000}


@pytest.mark.parametrize("env", ENVS)
def test_sessions_are_indexed_by_speaker(templates, env):
    [sessions] = [
        t["Properties"]
        for t in resources(templates[env], "AWS::DynamoDB::Table").values()
        if t["Properties"]["TableName"] == names.sessions_table(env)
    ]
    [index] = sessions["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "speakerUserId-createdAt-index"
    assert index["KeySchema"] == [
        {"AttributeName": "speakerUserId", "KeyType": "HASH"},
        {"AttributeName": "createdAt", "KeyType": "RANGE"},
    ]


@pytest.mark.parametrize("env", ENVS)
def test_http_api_function_privileges(templates, env):
    template = templates[env]
    function_id, props = function_named(template, names.function_name(names.HTTP_API, env))
    actions = actions_of(role_statements(template, function_id))
    assert "dynamodb:Query" in actions and "execute-api:ManageConnections" in actions
    assert "dynamodb:Scan" not in actions and not any(a.endswith("*") for a in actions)
    assert "WEBSOCKET_MANAGEMENT_ENDPOINT" in props["Environment"]["Variables"]


@pytest.mark.parametrize("env", ENVS)
def test_cdk_nag_aws_solutions_passes(env, tmp_path):
    """Every AwsSolutions finding is fixed or suppressed with a reason (nag_suppressions.py)."""
    import aws_cdk as cdk
    from aws_cdk.assertions import Annotations, Match
    from cdk_nag import AwsSolutionsChecks

    stack = synthesize_stack(env, tmp_path / "layer", tmp_path)
    cdk.Aspects.of(stack).add(AwsSolutionsChecks())
    annotations = Annotations.from_stack(stack)
    pattern = Match.string_like_regexp("AwsSolutions-.*")
    findings = [f.entry.data.split(":")[0] + " " + f.id for f in annotations.find_error("*", pattern)]
    findings += [f.entry.data.split(":")[0] + " " + f.id for f in annotations.find_warning("*", pattern)]
    assert findings == []


def test_suppressions_all_carry_reasons():
    from session_infrastructure.nag_suppressions import DISPOSABLE_STAGE_FINDINGS, REVIEWED_FINDINGS

    for suppression in (*REVIEWED_FINDINGS, *DISPOSABLE_STAGE_FINDINGS):
        assert len(suppression.reason) >= 40
