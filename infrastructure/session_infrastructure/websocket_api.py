"""The WebSocket API: routes, the REQUEST authorizer on $connect, the `prod` stage and its throttling."""

from __future__ import annotations

from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from constructs import Construct

from session_infrastructure.config import StageConfig
from session_infrastructure.functions import SessionFunctions

STAGE_NAME = "prod"
# API Gateway answers 401 without calling the authorizer when an identity source is missing.
# Anonymous listeners carry no token, but every WebSocket handshake carries Host.
AUTHORIZER_IDENTITY_SOURCES = ["route.request.header.Host"]


class SessionWebSocketApi(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: StageConfig, functions: SessionFunctions
    ) -> None:
        super().__init__(scope, construct_id)
        fns = functions.functions
        authorizer = authorizers.WebSocketLambdaAuthorizer(
            "SessionAuthorizer", fns["authorizer"], identity_source=AUTHORIZER_IDENTITY_SOURCES
        )
        self.api = apigwv2.WebSocketApi(
            self,
            "Api",
            api_name=f"session-websocket-api-{config.env}",
            description="Session management: speakers create sessions, listeners join them",
            route_selection_expression="$request.body.action",
            connect_route_options=apigwv2.WebSocketRouteOptions(
                integration=integrations.WebSocketLambdaIntegration("ConnectIntegration", fns["connection"]),
                authorizer=authorizer,
            ),
            disconnect_route_options=apigwv2.WebSocketRouteOptions(
                integration=integrations.WebSocketLambdaIntegration("DisconnectIntegration", fns["disconnect"]),
            ),
        )
        # The ack travels back as the route response: no @connections call, no DynamoDB access.
        self.api.add_route(
            "heartbeat",
            integration=integrations.WebSocketLambdaIntegration("HeartbeatIntegration", fns["heartbeat"]),
            return_response=True,
        )
        self.stage = apigwv2.WebSocketStage(
            self,
            "Stage",
            web_socket_api=self.api,
            stage_name=STAGE_NAME,
            auto_deploy=True,
            throttle=apigwv2.ThrottleSettings(
                rate_limit=config.throttling_rate_limit, burst_limit=config.throttling_burst_limit
            ),
        )
        for key in ("connection", "disconnect"):
            self.stage.grant_management_api_access(fns[key])
