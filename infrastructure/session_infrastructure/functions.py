"""The Lambda functions, their shared dependency layer, log groups and least-privilege grants."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack, SymlinkFollowMode
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from session_infrastructure.config import StageConfig
from session_infrastructure.tables import CONNECTIONS_BY_LANGUAGE_INDEX, SESSIONS_BY_SPEAKER_INDEX, SessionTables

REPO_ROOT = Path(__file__).resolve().parents[2]
SERVICES_DIR = REPO_ROOT / "services"
DEFAULT_LAYER_DIR = REPO_ROOT / "build" / "lambda-layer"
# Bytecode and tool caches would change the asset hash on every run without changing the code.
ASSET_EXCLUDES = ["**/__pycache__", "**/*.pyc", "**/*.pyi", "**/.mypy_cache", "**/.pytest_cache", "**/.ruff_cache"]

# CloudWatch Logs offers only these retentions (in days); hours map to the smallest that covers them.
_RETENTION_DAYS = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    5: logs.RetentionDays.FIVE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
}


def retention_days_for(hours: float) -> int:
    """12 hours -> 1 day: there is no 12-hour retention, and less than asked would lose data early."""
    return next((days for days in sorted(_RETENTION_DAYS) if days * 24 >= hours), max(_RETENTION_DAYS))


def log_retention_for(hours: float) -> logs.RetentionDays:
    return _RETENTION_DAYS[retention_days_for(hours)]


@dataclass(frozen=True)
class FunctionSpec:
    key: str
    name: str
    handler: str
    memory_mb: int
    timeout_seconds: int
    description: str


def function_specs(env: str) -> list[FunctionSpec]:
    module = "session_management.handlers"
    return [
        FunctionSpec(
            "authorizer",
            f"session-authorizer-{env}",
            f"{module}.authorizer.handler",
            128,
            10,
            "REQUEST authorizer on $connect: verifies speakers' Cognito ID tokens",
        ),
        FunctionSpec(
            "connection",
            f"session-connection-handler-{env}",
            f"{module}.connection.handler",
            256,
            30,
            "$connect and the createSession/joinSession messages",
        ),
        FunctionSpec(
            "heartbeat",
            f"session-heartbeat-handler-{env}",
            f"{module}.heartbeat.handler",
            128,
            10,
            "heartbeat route: acknowledges without touching DynamoDB",
        ),
        FunctionSpec(
            "disconnect",
            f"session-disconnect-handler-{env}",
            f"{module}.disconnect.handler",
            256,
            30,
            "$disconnect: removes listeners, starts the speaker's reconnect grace window",
        ),
        FunctionSpec(
            "refresh",
            f"session-refresh-handler-{env}",
            f"{module}.refresh.handler",
            256,
            30,
            "refreshConnection message: a new connection takes over before the 2-hour limit",
        ),
        FunctionSpec(
            "control",
            f"session-control-handler-{env}",
            f"{module}.control.handler",
            256,
            30,
            "speakerControl and listenerControl, with the broadcast fan-out",
        ),
        FunctionSpec(
            "status",
            f"session-status-handler-{env}",
            f"{module}.status.handler",
            256,
            60,
            "getSessionStatus, and the periodic reconcile/status job (EventBridge, every minute)",
        ),
        FunctionSpec(
            "default",
            f"session-default-handler-{env}",
            f"{module}.default.handler",
            128,
            10,
            "$default: INVALID_MESSAGE for anything unrouted",
        ),
        FunctionSpec(
            "http_api",
            f"session-http-api-handler-{env}",
            f"{module}.http_api.handler",
            256,
            30,
            "HTTP session API (/sessions) behind the Cognito JWT authorizer",
        ),
    ]


def _pascal(key: str) -> str:
    """Construct ids from function keys: `http_api` -> `HttpApi` (logical ids stay stable)."""
    return "".join(part.capitalize() for part in key.split("_"))


class SessionFunctions(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: StageConfig, tables: SessionTables, layer_dir: Path
    ) -> None:
        super().__init__(scope, construct_id)
        if not (layer_dir / "python").is_dir():
            raise FileNotFoundError(f"Lambda layer not built at {layer_dir}: run `make layer`")
        self.config = config
        self.tables = tables
        self.layer = lambda_.LayerVersion(
            self,
            "SharedDependencies",
            code=lambda_.Code.from_asset(str(layer_dir), exclude=["**/__pycache__", ".built"]),
            compatible_runtimes=[lambda_.Runtime.PYTHON_3_11],
            compatible_architectures=[lambda_.Architecture.ARM_64],
            description="Runtime dependencies of the session management functions (arm64, Python 3.11)",
        )
        code = lambda_.Code.from_asset(
            str(SERVICES_DIR), exclude=ASSET_EXCLUDES, follow_symlinks=SymlinkFollowMode.ALWAYS
        )
        environment = self.environment()
        self.functions: dict[str, lambda_.Function] = {}
        for spec in function_specs(config.env):
            log_group = logs.LogGroup(
                self,
                f"{_pascal(spec.key)}Logs",
                log_group_name=f"/aws/lambda/{spec.name}",
                retention=log_retention_for(config.data_retention_hours),
                removal_policy=RemovalPolicy.RETAIN if config.is_production_like else RemovalPolicy.DESTROY,
            )
            self.functions[spec.key] = lambda_.Function(
                self,
                f"{_pascal(spec.key)}Function",
                function_name=spec.name,
                description=spec.description,
                runtime=lambda_.Runtime.PYTHON_3_11,
                architecture=lambda_.Architecture.ARM_64,
                handler=spec.handler,
                code=code,
                layers=[self.layer],
                memory_size=spec.memory_mb,
                timeout=Duration.seconds(spec.timeout_seconds),
                environment=environment,
                log_group=log_group,
            )
        self._grant_data_access()

    def environment(self) -> dict[str, str]:
        """Everything the handlers read, from the stage config. Never AWS_REGION: Lambda reserves it."""
        c = self.config
        return {
            "ENV_NAME": c.env,
            "SESSIONS_TABLE_NAME": self.tables.sessions.table_name,
            "CONNECTIONS_TABLE_NAME": self.tables.connections.table_name,
            "RATE_LIMITS_TABLE_NAME": self.tables.rate_limits.table_name,
            "COGNITO_USER_POOL_ID": c.cognito_user_pool_id,
            "COGNITO_CLIENT_ID": c.cognito_client_id,
            "MAX_LISTENERS_PER_SESSION": str(c.max_listeners_per_session),
            "MAX_ACTIVE_SESSIONS": str(c.max_active_sessions),
            "SESSION_MAX_DURATION_HOURS": str(c.session_max_duration_hours),
            "CONNECTION_REFRESH_MINUTES": str(c.connection_refresh_minutes),
            "CONNECTION_WARNING_MINUTES": str(c.connection_warning_minutes),
            "DATA_RETENTION_HOURS": str(c.data_retention_hours),
            "RATE_LIMIT_SESSIONS_PER_HOUR": str(c.rate_limit_sessions_per_hour),
            "RATE_LIMIT_LISTENER_JOINS_PER_MIN": str(c.rate_limit_listener_joins_per_min),
            "RATE_LIMIT_CONNECTION_ATTEMPTS_PER_MIN": str(c.rate_limit_connection_attempts_per_min),
            "RATE_LIMIT_HEARTBEATS_PER_MIN": str(c.rate_limit_heartbeats_per_min),
            "HEARTBEAT_TIMEOUT_SECONDS": str(c.heartbeat_timeout_seconds),
            "SPEAKER_RECONNECT_GRACE_SECONDS": str(c.speaker_reconnect_grace_seconds),
            "FANOUT_CONCURRENCY": str(c.fanout_concurrency),
            "POWERTOOLS_SERVICE_NAME": "session-management",
            "POWERTOOLS_METRICS_NAMESPACE": "SessionManagement",
            "LOG_LEVEL": c.log_level,
        }

    def _grant(self, key: str, actions: list[str], resources: list[str]) -> None:
        self.functions[key].add_to_role_policy(iam.PolicyStatement(actions=actions, resources=resources))

    def _grant_data_access(self) -> None:
        """Only the actions each handler performs (transactions need the per-item actions)."""
        sessions = self.tables.sessions.table_arn
        connections = self.tables.connections.table_arn
        by_language = f"{connections}/index/{CONNECTIONS_BY_LANGUAGE_INDEX}"
        rate_limits = self.tables.rate_limits.table_arn
        read_write = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem"]
        for key in ("connection", "refresh"):
            self._grant(key, read_write, [sessions, connections])
            # A speaker coming back tells its listeners; a listener found gone (410) is removed.
            self._grant(key, ["dynamodb:DeleteItem"], [connections])
            self._grant(key, ["dynamodb:Query"], [by_language])
            self._grant(key, ["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem"], [rate_limits])
        leave = ["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:ConditionCheckItem"]
        self._grant("disconnect", leave, [sessions, connections])
        self._grant("disconnect", ["dynamodb:Query"], [by_language])
        self._grant("control", leave, [sessions, connections])
        self._grant("control", ["dynamodb:Query"], [by_language])
        self._grant("control", ["dynamodb:PutItem"], [rate_limits])
        self._grant("status", [*leave, "dynamodb:Scan"], [sessions, connections])
        self._grant("status", ["dynamodb:Query"], [by_language])
        self._grant("status", ["dynamodb:UpdateItem"], [rate_limits])
        by_speaker = f"{sessions}/index/{SESSIONS_BY_SPEAKER_INDEX}"
        self._grant("http_api", [*leave, "dynamodb:PutItem"], [sessions])
        self._grant("http_api", ["dynamodb:Query"], [by_speaker, by_language])
        self._grant("http_api", ["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"], [connections])
        self._grant(
            "http_api", ["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem"], [rate_limits]
        )
        # The connection handler delivers sessionCreated by invoking itself asynchronously; the ARN
        # is built from the fixed name because a GetAtt on itself would be a dependency cycle.
        own_arn = Stack.of(self).format_arn(
            service="lambda",
            resource="function",
            resource_name=f"session-connection-handler-{self.config.env}",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        self._grant("connection", ["lambda:InvokeFunction"], [own_arn])
