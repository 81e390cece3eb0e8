"""The Lambda functions, their shared dependency layer, log groups and least-privilege grants."""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack, SymlinkFollowMode
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from session_infrastructure.config import StageConfig
from session_infrastructure.tables import SessionTables
from session_management import config as settings
from session_management import resource_names as names

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
            names.AUTHORIZER,
            names.function_name(names.AUTHORIZER, env),
            f"{module}.authorizer.handler",
            128,
            10,
            "REQUEST authorizer on $connect: verifies speakers' Cognito ID tokens",
        ),
        FunctionSpec(
            names.CONNECTION,
            names.function_name(names.CONNECTION, env),
            f"{module}.connection.handler",
            256,
            29,
            "$connect and the createSession/joinSession messages",
        ),
        FunctionSpec(
            names.HEARTBEAT,
            names.function_name(names.HEARTBEAT, env),
            f"{module}.heartbeat.handler",
            128,
            10,
            "heartbeat route: acknowledges without touching DynamoDB",
        ),
        FunctionSpec(
            names.DISCONNECT,
            names.function_name(names.DISCONNECT, env),
            f"{module}.disconnect.handler",
            256,
            29,
            "$disconnect: removes listeners, starts the speaker's reconnect grace window",
        ),
        FunctionSpec(
            names.REFRESH,
            names.function_name(names.REFRESH, env),
            f"{module}.refresh.handler",
            256,
            29,
            "refreshConnection message: a new connection takes over before the 2-hour limit",
        ),
        FunctionSpec(
            names.CONTROL,
            names.function_name(names.CONTROL, env),
            f"{module}.control.handler",
            256,
            29,
            "speakerControl and listenerControl, with the broadcast fan-out",
        ),
        FunctionSpec(
            names.STATUS,
            names.function_name(names.STATUS, env),
            f"{module}.status.handler",
            256,
            10,
            "getSessionStatus route",
        ),
        FunctionSpec(
            names.PERIODIC_JOB,
            names.function_name(names.PERIODIC_JOB, env),
            f"{module}.periodic_job.handler",
            256,
            60,
            "periodic reconcile/status job (EventBridge, every minute)",
        ),
        FunctionSpec(
            names.DEFAULT,
            names.function_name(names.DEFAULT, env),
            f"{module}.default.handler",
            128,
            10,
            "$default: INVALID_MESSAGE for anything unrouted",
        ),
        FunctionSpec(
            names.HTTP_API,
            names.function_name(names.HTTP_API, env),
            f"{module}.http_api.handler",
            256,
            29,
            "HTTP session API (/sessions) behind the Cognito JWT authorizer",
        ),
    ]


def construct_id_of(key: str) -> str:
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
                f"{construct_id_of(spec.key)}Logs",
                log_group_name=names.function_log_group(spec.key, config.env),
                retention=log_retention_for(config.data_retention_hours),
                removal_policy=RemovalPolicy.RETAIN if config.is_production_like else RemovalPolicy.DESTROY,
            )
            self.functions[spec.key] = lambda_.Function(
                self,
                f"{construct_id_of(spec.key)}Function",
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
        """Everything `Settings` reads, from the stage config. Never AWS_REGION: Lambda reserves it."""
        c = self.config
        return {
            settings.ENV_NAME: c.env,
            settings.SESSIONS_TABLE_NAME: self.tables.sessions.table_name,
            settings.CONNECTIONS_TABLE_NAME: self.tables.connections.table_name,
            settings.RATE_LIMITS_TABLE_NAME: self.tables.rate_limits.table_name,
            settings.COGNITO_USER_POOL_ID: c.cognito_user_pool_id,
            settings.COGNITO_CLIENT_ID: c.cognito_client_id,
            **{
                settings.environment_variable(tunable.name): str(getattr(c, tunable.name))
                for tunable in fields(settings.Tunables)
            },
            "POWERTOOLS_SERVICE_NAME": names.SERVICE_NAME,
            "POWERTOOLS_METRICS_NAMESPACE": names.METRICS_NAMESPACE,
            "LOG_LEVEL": c.log_level,
        }

    def _grant(self, key: str, actions: list[str], resources: list[str]) -> None:
        self.functions[key].add_to_role_policy(iam.PolicyStatement(actions=actions, resources=resources))

    def _grant_data_access(self) -> None:
        """Only the actions each handler performs (transactions need the per-item actions)."""
        sessions = self.tables.sessions.table_arn
        connections = self.tables.connections.table_arn
        by_language = f"{connections}/index/{names.CONNECTIONS_BY_LANGUAGE_INDEX}"
        rate_limits = self.tables.rate_limits.table_arn
        read_write = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem"]
        for key in (names.CONNECTION, names.REFRESH):
            self._grant(key, read_write, [sessions, connections])
            # A speaker coming back tells its listeners; a listener found gone (410) is removed.
            self._grant(key, ["dynamodb:DeleteItem"], [connections])
            self._grant(key, ["dynamodb:Query"], [by_language])
            self._grant(key, ["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem"], [rate_limits])
        leave = ["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:ConditionCheckItem"]
        self._grant(names.DISCONNECT, leave, [sessions, connections])
        self._grant(names.DISCONNECT, ["dynamodb:Query"], [by_language])
        self._grant(names.CONTROL, leave, [sessions, connections])
        self._grant(names.CONTROL, ["dynamodb:Query"], [by_language])
        self._grant(names.CONTROL, ["dynamodb:PutItem"], [rate_limits])
        self._grant(names.STATUS, ["dynamodb:GetItem"], [sessions, connections])
        self._grant(names.STATUS, ["dynamodb:Query"], [by_language])
        self._grant(names.PERIODIC_JOB, [*leave, "dynamodb:Scan"], [sessions, connections])
        self._grant(names.PERIODIC_JOB, ["dynamodb:Query"], [by_language])
        # The active-session counter: read and corrected by the job (see reconcile).
        self._grant(names.PERIODIC_JOB, ["dynamodb:GetItem", "dynamodb:UpdateItem"], [rate_limits])
        by_speaker = f"{sessions}/index/{names.SESSIONS_BY_SPEAKER_INDEX}"
        self._grant(names.HTTP_API, [*leave, "dynamodb:PutItem"], [sessions])
        self._grant(names.HTTP_API, ["dynamodb:Query"], [by_speaker, by_language])
        self._grant(names.HTTP_API, ["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"], [connections])
        self._grant(
            names.HTTP_API, ["dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem"], [rate_limits]
        )
        # The connection handler delivers sessionCreated by invoking itself asynchronously; the ARN
        # is built from the fixed name because a GetAtt on itself would be a dependency cycle.
        own_arn = Stack.of(self).format_arn(
            service="lambda",
            resource="function",
            resource_name=names.function_name(names.CONNECTION, self.config.env),
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        self._grant(names.CONNECTION, ["lambda:InvokeFunction"], [own_arn])
