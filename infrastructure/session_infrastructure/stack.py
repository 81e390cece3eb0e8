"""`SessionManagement-{env}`: tables, functions and the WebSocket API of one stage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from session_infrastructure.config import StageConfig
from session_infrastructure.functions import SessionFunctions
from session_infrastructure.http_api import SessionHttpApi
from session_infrastructure.monitoring import SessionMonitoring
from session_infrastructure.nag_suppressions import suppress_reviewed_findings
from session_infrastructure.schedule import PeriodicJob
from session_infrastructure.tables import SessionTables
from session_infrastructure.websocket_api import SessionWebSocketApi
from session_management import config as settings
from session_management import resource_names as names


class SessionManagementStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: StageConfig, layer_dir: Path, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.tables = SessionTables(self, "Tables", config=config)
        self.functions = SessionFunctions(self, "Functions", config=config, tables=self.tables, layer_dir=layer_dir)
        self.websocket = SessionWebSocketApi(self, "WebSocket", config=config, functions=self.functions)
        fns = self.functions.functions
        self.periodic_job = PeriodicJob(self, "PeriodicJob", config=config, function=fns[names.PERIODIC_JOB])
        self.http_api = SessionHttpApi(self, "HttpApi", config=config, function=fns[names.HTTP_API])
        api_id = self.websocket.api.api_id
        management_endpoint = f"https://{api_id}.execute-api.{self.region}.{self.url_suffix}/{names.WEBSOCKET_STAGE}"
        # Sessions created over HTTP broadcast here until their speaker connects.
        for key in settings.WEBSOCKET_MANAGEMENT_ENDPOINT_FUNCTIONS:
            fns[key].add_environment(settings.WEBSOCKET_MANAGEMENT_ENDPOINT, management_endpoint)
            self.websocket.stage.grant_management_api_access(fns[key])
        self.monitoring = SessionMonitoring(
            self,
            "Monitoring",
            config=config,
            functions=fns,
            websocket_api_id=api_id,
            websocket_stage=names.WEBSOCKET_STAGE,
        )
        outputs = {
            "SessionsTableName": self.tables.sessions.table_name,
            "ConnectionsTableName": self.tables.connections.table_name,
            "RateLimitsTableName": self.tables.rate_limits.table_name,
            "WebSocketAPIEndpoint": f"{self.websocket.api.api_endpoint}/{names.WEBSOCKET_STAGE}",
            "WebSocketApiId": api_id,
            "WebSocketManagementEndpoint": management_endpoint,
            "HttpApiUrl": self.http_api.url,
            "AlarmTopicArn": self.monitoring.topic.topic_arn,
            "DashboardName": names.dashboard_name(config.env),
            "CognitoUserPoolId": config.cognito_user_pool_id,
            "CognitoClientId": config.cognito_client_id,
            # Promotion checks that the stage it load-tests runs the commit it is about to promote.
            "SourceCommit": self.node.try_get_context("commit") or "unversioned",
        }
        for name, value in outputs.items():
            CfnOutput(self, name, value=value)
        suppress_reviewed_findings(self, production_like=config.is_production_like)
