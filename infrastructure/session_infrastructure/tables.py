"""The three DynamoDB tables: Sessions, Connections (with the language GSI) and RateLimits."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from session_infrastructure.config import StageConfig
from session_management import resource_names as names


class SessionTables(Construct):
    """On-demand tables with TTLs; staging and prod keep their data (RETAIN + point-in-time recovery)."""

    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig) -> None:
        super().__init__(scope, construct_id)
        retain = config.is_production_like
        common = {
            "billing_mode": dynamodb.BillingMode.PAY_PER_REQUEST,
            "removal_policy": RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY,
            "point_in_time_recovery_specification": dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=retain
            ),
        }
        string = dynamodb.AttributeType.STRING
        self.sessions = dynamodb.Table(
            self,
            "Sessions",
            table_name=names.sessions_table(config.env),
            partition_key=dynamodb.Attribute(name="sessionId", type=string),
            time_to_live_attribute="expiresAt",
            **common,  # type: ignore[arg-type]
        )
        # The HTTP API's `GET /sessions`: a speaker's own sessions, newest first.
        self.sessions.add_global_secondary_index(
            index_name=names.SESSIONS_BY_SPEAKER_INDEX,
            partition_key=dynamodb.Attribute(name="speakerUserId", type=string),
            sort_key=dynamodb.Attribute(name="createdAt", type=dynamodb.AttributeType.NUMBER),
            projection_type=dynamodb.ProjectionType.ALL,
        )
        self.connections = dynamodb.Table(
            self,
            "Connections",
            table_name=names.connections_table(config.env),
            partition_key=dynamodb.Attribute(name="connectionId", type=string),
            time_to_live_attribute="ttl",
            **common,  # type: ignore[arg-type]
        )
        # Sparse: only listener rows carry targetLanguage, so the index holds exactly the audience.
        self.connections.add_global_secondary_index(
            index_name=names.CONNECTIONS_BY_LANGUAGE_INDEX,
            partition_key=dynamodb.Attribute(name="sessionId", type=string),
            sort_key=dynamodb.Attribute(name="targetLanguage", type=string),
            projection_type=dynamodb.ProjectionType.ALL,
        )
        self.rate_limits = dynamodb.Table(
            self,
            "RateLimits",
            table_name=names.rate_limits_table(config.env),
            partition_key=dynamodb.Attribute(name="identifier", type=string),
            time_to_live_attribute="expiresAt",
            **common,  # type: ignore[arg-type]
        )
