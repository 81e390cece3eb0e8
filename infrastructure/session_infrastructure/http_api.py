"""The HTTP session API `session-http-api-{env}`: `/sessions` behind a Cognito JWT authorizer.

API Gateway verifies the ID token (issuer, audience, expiry, signature) before the function runs,
so an unauthenticated request costs no invocation.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from session_infrastructure.config import StageConfig
from session_infrastructure.functions import log_retention_for
from session_infrastructure.integration_timeout import behind_a_route
from session_management import resource_names as names

SESSION_ROUTES: tuple[tuple[apigwv2.HttpMethod, str], ...] = (
    (apigwv2.HttpMethod.POST, "/sessions"),
    (apigwv2.HttpMethod.GET, "/sessions"),
    (apigwv2.HttpMethod.GET, "/sessions/{sessionId}"),
    (apigwv2.HttpMethod.PATCH, "/sessions/{sessionId}"),
    (apigwv2.HttpMethod.DELETE, "/sessions/{sessionId}"),
)
# Fields API Gateway documents for HTTP API access logs; no source IP and no user id in clear.
ACCESS_LOG_FORMAT = (
    '{"requestId":"$context.requestId","routeKey":"$context.routeKey","status":"$context.status",'
    '"integrationStatus":"$context.integrationStatus","latencyMs":"$context.responseLatency",'
    '"integrationLatencyMs":"$context.integrationLatency","authorizerError":"$context.authorizer.error",'
    '"requestTime":"$context.requestTime"}'
)


class SessionHttpApi(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig, function: lambda_.Function) -> None:
        super().__init__(scope, construct_id)
        authorizer = authorizers.HttpJwtAuthorizer(
            "CognitoJwtAuthorizer",
            config.cognito_issuer,
            jwt_audience=[config.cognito_client_id],
            identity_source=["$request.header.Authorization"],
            authorizer_name="cognito-speakers",
        )
        self.api = apigwv2.HttpApi(
            self,
            "Api",
            api_name=names.http_api_name(config.env),
            description="Session management for dashboards: a speaker's own sessions over REST",
            create_default_stage=False,
            default_authorizer=authorizer,
        )
        integration = integrations.HttpLambdaIntegration("SessionsIntegration", behind_a_route(function, "HTTP API"))
        for method, path in SESSION_ROUTES:
            self.api.add_routes(path=path, methods=[method], integration=integration)
        self.access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            log_group_name=names.http_api_access_log_group(config.env),
            retention=log_retention_for(config.data_retention_hours),
            removal_policy=RemovalPolicy.RETAIN if config.is_production_like else RemovalPolicy.DESTROY,
        )
        self.stage = apigwv2.HttpStage(
            self,
            "DefaultStage",
            http_api=self.api,
            auto_deploy=True,
            throttle=apigwv2.ThrottleSettings(
                rate_limit=config.throttling_rate_limit, burst_limit=config.throttling_burst_limit
            ),
        )
        stage = self.stage.node.default_child
        assert isinstance(stage, apigwv2.CfnStage)
        stage.access_log_settings = apigwv2.CfnStage.AccessLogSettingsProperty(
            destination_arn=self.access_logs.log_group_arn, format=ACCESS_LOG_FORMAT
        )

    @property
    def url(self) -> str:
        return self.api.api_endpoint
