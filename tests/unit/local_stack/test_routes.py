"""Route selection (WebSocket and HTTP APIs) and the routes the template declares."""

from __future__ import annotations

from pathlib import Path

import pytest

from local_stack.apigateway.http_api import http_apis
from local_stack.apigateway.websocket_api import Route, WebSocketApi, websocket_apis
from local_stack.cloudformation.template import StackTemplate, TemplateError


def api(expression: str = "$request.body.action", *keys: str) -> WebSocketApi:
    routes = {key: Route(key=key, function_name=f"fn-{key}") for key in keys}
    return WebSocketApi("Api", "abcdefghij", "api", expression, routes=routes)


def test_the_action_in_the_body_selects_its_route():
    assert api("$request.body.action", "heartbeat", "$default").select_route('{"action": "heartbeat"}').key == (
        "heartbeat"
    )


def test_a_nested_selection_expression_walks_the_body():
    ws = api("$request.body.meta.kind", "joinSession", "$default")
    assert ws.select_route('{"meta": {"kind": "joinSession"}}').key == "joinSession"
    assert ws.select_route('{"meta": "joinSession"}').key == "$default"


@pytest.mark.parametrize(
    "body",
    [
        '{"action": "unknown"}',
        "not json",
        '{"action": 7}',
        '{"action": null}',
        '["heartbeat"]',
        '{"other": "heartbeat"}',
        "[" * 100_000,  # deep nesting: RecursionError, not a crash
        "",
    ],
)
def test_anything_that_selects_no_route_falls_back_to_default(body):
    assert api("$request.body.action", "heartbeat", "$default").select_route(body).key == "$default"


def test_a_body_naming_a_reserved_route_goes_to_default():
    ws = api("$request.body.action", "$connect", "$disconnect", "$default")
    assert ws.select_route('{"action": "$connect"}').key == "$default"
    assert ws.select_route('{"action": "$disconnect"}').key == "$default"


def test_without_a_default_route_an_unmatched_message_has_no_route():
    assert api("$request.body.action", "heartbeat").select_route('{"action": "nope"}') is None


def test_an_expression_not_on_the_body_always_selects_default():
    assert api("$request.header.x", "heartbeat", "$default").select_route('{"action": "heartbeat"}').key == "$default"


def fn(name: str) -> dict:
    return {"Type": "AWS::Lambda::Function", "Properties": {"FunctionName": name}}


def integration(api_ref: str, function: str) -> dict:
    uri = {
        "Fn::Join": [
            "",
            [
                "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/",
                {"Fn::GetAtt": [function, "Arn"]},
                "/invocations",
            ],
        ]
    }
    return {
        "Type": "AWS::ApiGatewayV2::Integration",
        "Properties": {"ApiId": {"Ref": api_ref}, "IntegrationType": "AWS_PROXY", "IntegrationUri": uri},
    }


def route(api_ref: str, key: str, integration_ref: str, **extra) -> dict:
    target = {"Fn::Join": ["", ["integrations/", {"Ref": integration_ref}]]}
    return {
        "Type": "AWS::ApiGatewayV2::Route",
        "Properties": {"ApiId": {"Ref": api_ref}, "RouteKey": key, "Target": target, **extra},
    }


WEBSOCKET_TEMPLATE = {
    "Resources": {
        "Ws": {
            "Type": "AWS::ApiGatewayV2::Api",
            "Properties": {"ProtocolType": "WEBSOCKET", "Name": "ws", "RouteSelectionExpression": "$request.body.type"},
        },
        "Connect": fn("connect-fn"),
        "Message": fn("message-fn"),
        "Auth": fn("auth-fn"),
        "ConnectIntegration": integration("Ws", "Connect"),
        "MessageIntegration": integration("Ws", "Message"),
        "Authorizer": {
            "Type": "AWS::ApiGatewayV2::Authorizer",
            "Properties": {
                "ApiId": {"Ref": "Ws"},
                "AuthorizerType": "REQUEST",
                "Name": "speaker",
                "AuthorizerUri": integration("Ws", "Auth")["Properties"]["IntegrationUri"],
                "IdentitySource": ["route.request.querystring.token"],
            },
        },
        "ConnectRoute": route(
            "Ws", "$connect", "ConnectIntegration", AuthorizationType="CUSTOM", AuthorizerId={"Ref": "Authorizer"}
        ),
        "AnswerRoute": route("Ws", "ask", "MessageIntegration", RouteResponseSelectionExpression="$default"),
        "AnswerResponse": {
            "Type": "AWS::ApiGatewayV2::RouteResponse",
            "Properties": {"ApiId": {"Ref": "Ws"}, "RouteId": {"Ref": "AnswerRoute"}, "RouteResponseKey": "$default"},
        },
        "SilentRoute": route("Ws", "tell", "MessageIntegration", RouteResponseSelectionExpression="$default"),
        "Stage": {
            "Type": "AWS::ApiGatewayV2::Stage",
            "Properties": {
                "ApiId": {"Ref": "Ws"},
                "StageName": "prod",
                "DefaultRouteSettings": {"ThrottlingRateLimit": 50, "ThrottlingBurstLimit": 20},
            },
        },
        "Http": {"Type": "AWS::ApiGatewayV2::Api", "Properties": {"ProtocolType": "HTTP", "Name": "http"}},
    }
}


def load(body: dict) -> StackTemplate:
    return StackTemplate(body, stack_name="S", region="us-east-1", assembly_dir=Path())


def test_the_websocket_api_as_the_template_declares_it():
    [ws] = websocket_apis(load(WEBSOCKET_TEMPLATE))
    assert ws.name == "ws" and ws.route_selection_expression == "$request.body.type"
    connect = ws.routes["$connect"]
    assert connect.function_name == "connect-fn"
    assert connect.authorization_type == "CUSTOM"
    assert connect.authorizer.function_name == "auth-fn"
    assert connect.authorizer.identity_sources == ("route.request.querystring.token",)
    assert ws.routes["ask"].function_name == "message-fn"
    assert ws.stages["prod"].throttling_rate_limit == 50
    assert ws.stages["prod"].throttling_burst_limit == 20


def test_only_a_route_with_a_route_response_returns_its_result():
    [ws] = websocket_apis(load(WEBSOCKET_TEMPLATE))
    assert ws.routes["ask"].returns_response
    assert not ws.routes["tell"].returns_response
    assert not ws.routes["$connect"].returns_response


def test_a_route_naming_an_unknown_authorizer_is_a_template_error():
    body = {"Resources": dict(WEBSOCKET_TEMPLATE["Resources"])}
    body["Resources"]["ConnectRoute"] = route("Ws", "$connect", "ConnectIntegration", AuthorizerId={"Ref": "Other"})
    with pytest.raises(TemplateError, match="unknown authorizer"):
        websocket_apis(load(body))


HTTP_TEMPLATE = {
    "Resources": {
        "Http": {"Type": "AWS::ApiGatewayV2::Api", "Properties": {"ProtocolType": "HTTP", "Name": "http"}},
        "Sessions": fn("sessions-fn"),
        "Other": fn("other-fn"),
        "SessionsIntegration": integration("Http", "Sessions"),
        "OtherIntegration": integration("Http", "Other"),
        "Jwt": {
            "Type": "AWS::ApiGatewayV2::Authorizer",
            "Properties": {
                "ApiId": {"Ref": "Http"},
                "AuthorizerType": "JWT",
                "Name": "cognito",
                "IdentitySource": ["$request.header.Authorization"],
                "JwtConfiguration": {"Issuer": "https://issuer", "Audience": ["client"]},
            },
        },
        "Create": route(
            "Http", "POST /sessions", "SessionsIntegration", AuthorizationType="JWT", AuthorizerId={"Ref": "Jwt"}
        ),
        "Get": route("Http", "GET /sessions/{sessionId}", "SessionsIntegration"),
        "Mine": route("Http", "GET /sessions/mine", "OtherIntegration"),
        "AnyOne": route("Http", "ANY /sessions/{sessionId}", "OtherIntegration"),
        "Proxy": route("Http", "ANY /files/{proxy+}", "OtherIntegration"),
    }
}


def test_http_routes_prefer_literal_segments_then_a_specific_method():
    [http] = http_apis(load(HTTP_TEMPLATE))
    matched, params = http.route_for("GET", "/sessions/mine")
    assert matched.key == "GET /sessions/mine" and params == {}
    matched, params = http.route_for("GET", "/sessions/s-1")
    assert matched.key == "GET /sessions/{sessionId}" and params == {"sessionId": "s-1"}
    matched, _ = http.route_for("DELETE", "/sessions/s-1")
    assert matched.key == "ANY /sessions/{sessionId}"


def test_http_parameters_take_one_segment_and_greedy_ones_the_rest():
    [http] = http_apis(load(HTTP_TEMPLATE))
    assert http.route_for("GET", "/sessions/a/b") is None
    matched, params = http.route_for("PUT", "/files/a/b/c.txt")
    assert matched.key == "ANY /files/{proxy+}" and params == {"proxy": "a/b/c.txt"}
    assert http.route_for("GET", "/nowhere") is None
    assert http.route_for("GET", "/sessions") is None


def test_http_routes_carry_their_integration_and_jwt_authorizer():
    [http] = http_apis(load(HTTP_TEMPLATE))
    create, _ = http.route_for("POST", "/sessions")
    assert create.function_name == "sessions-fn"
    assert create.authorizer.issuer == "https://issuer" and create.authorizer.audience == ("client",)
    get, _ = http.route_for("GET", "/sessions/x")
    assert get.authorizer is None
