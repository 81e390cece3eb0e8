"""The WebSocket API: routes, the REQUEST authorizer on $connect, the `prod` stage and its throttling."""

from __future__ import annotations

from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from constructs import Construct

from session_infrastructure.config import StageConfig
from session_infrastructure.functions import SessionFunctions
from session_infrastructure.integration_timeout import behind_a_route
from session_management import resource_names as names

# Message routes and the function behind each; answers travel back as route responses.
MESSAGE_ROUTES = {
    "heartbeat": names.HEARTBEAT,
    "createSession": names.CONNECTION,
    "joinSession": names.CONNECTION,
    "refreshConnection": names.REFRESH,
    "speakerControl": names.CONTROL,
    "listenerControl": names.CONTROL,
    "getSessionStatus": names.STATUS,
    "$default": names.DEFAULT,
}
# API Gateway answers 401 without calling the authorizer when an identity source is missing.
# Anonymous listeners carry no token, but every WebSocket handshake carries Host.
AUTHORIZER_IDENTITY_SOURCES = ["route.request.header.Host"]
API = "WebSocket API"


class SessionWebSocketApi(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: StageConfig, functions: SessionFunctions
    ) -> None:
        super().__init__(scope, construct_id)
        fns = functions.functions
        authorizer = authorizers.WebSocketLambdaAuthorizer(
            "SessionAuthorizer", fns[names.AUTHORIZER], identity_source=AUTHORIZER_IDENTITY_SOURCES
        )
        self.api = apigwv2.WebSocketApi(
            self,
            "Api",
            api_name=names.websocket_api_name(config.env),
            description="Session management: speakers create sessions, listeners join them",
            route_selection_expression="$request.body.action",
            connect_route_options=apigwv2.WebSocketRouteOptions(
                integration=integrations.WebSocketLambdaIntegration(
                    "ConnectIntegration", behind_a_route(fns[names.CONNECTION], API)
                ),
                authorizer=authorizer,
            ),
            disconnect_route_options=apigwv2.WebSocketRouteOptions(
                integration=integrations.WebSocketLambdaIntegration(
                    "DisconnectIntegration", behind_a_route(fns[names.DISCONNECT], API)
                ),
            ),
        )
        integrations_by_function: dict[str, integrations.WebSocketLambdaIntegration] = {}
        for route_key, key in MESSAGE_ROUTES.items():
            if key not in integrations_by_function:
                integrations_by_function[key] = integrations.WebSocketLambdaIntegration(
                    f"{key.capitalize()}MessageIntegration", behind_a_route(fns[key], API)
                )
            self.api.add_route(route_key, integration=integrations_by_function[key], return_response=True)
        self.stage = apigwv2.WebSocketStage(
            self,
            "Stage",
            web_socket_api=self.api,
            stage_name=names.WEBSOCKET_STAGE,
            auto_deploy=True,
            throttle=apigwv2.ThrottleSettings(
                rate_limit=config.throttling_rate_limit, burst_limit=config.throttling_burst_limit
            ),
        )
        for key in (names.CONNECTION, names.DISCONNECT, names.REFRESH, names.CONTROL, names.PERIODIC_JOB):
            self.stage.grant_management_api_access(fns[key])
