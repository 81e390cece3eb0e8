"""Physical names of a stage's resources, defined once.

The CDK app names the resources with these, the handlers fall back to them, and the tools and
tests find a stage's resources by them, so a rename is one edit here. Standard library only: the
Lambda code, the CDK app, the tools and the tests all import this module.

Every name ends in the stage (`env`: dev, staging, prod, local, e2e), so stages share an account.
"""

from __future__ import annotations

from typing import Final

STACK_PREFIX: Final = "SessionManagement"
# Powertools' service name (logs, the metrics' `service` dimension) and the metrics namespace.
SERVICE_NAME: Final = "session-management"
METRICS_NAMESPACE: Final = "SessionManagement"

# Global secondary indexes.
SESSIONS_BY_SPEAKER_INDEX: Final = "speakerUserId-createdAt-index"  # Sessions: a speaker's own, newest first
CONNECTIONS_BY_LANGUAGE_INDEX: Final = "sessionId-targetLanguage-index"  # Connections: a session's listeners

# The WebSocket API's only stage (not the deployment stage): management endpoints end in it.
WEBSOCKET_STAGE: Final = "prod"

# Function keys (how the code refers to a function) and the base of each physical name.
AUTHORIZER: Final = "authorizer"
CONNECTION: Final = "connection"
HEARTBEAT: Final = "heartbeat"
DISCONNECT: Final = "disconnect"
REFRESH: Final = "refresh"
CONTROL: Final = "control"
STATUS: Final = "status"
PERIODIC_JOB: Final = "periodic_job"
DEFAULT: Final = "default"
HTTP_API: Final = "http_api"
FUNCTION_BASE_NAMES: Final = {
    AUTHORIZER: "session-authorizer",
    CONNECTION: "session-connection-handler",
    HEARTBEAT: "session-heartbeat-handler",
    DISCONNECT: "session-disconnect-handler",
    REFRESH: "session-refresh-handler",
    CONTROL: "session-control-handler",
    STATUS: "session-status-handler",
    PERIODIC_JOB: "session-periodic-job-handler",
    DEFAULT: "session-default-handler",
    HTTP_API: "session-http-api-handler",
}


def stack_name(env: str) -> str:
    return f"{STACK_PREFIX}-{env}"


def template_file(env: str) -> str:
    """What `cdk synth` writes into its output directory (cdk.out) for the stage."""
    return f"{stack_name(env)}.template.json"


def dashboard_name(env: str) -> str:
    return f"{STACK_PREFIX}-{env}"


def sessions_table(env: str) -> str:
    return f"Sessions-{env}"


def connections_table(env: str) -> str:
    return f"Connections-{env}"


def rate_limits_table(env: str) -> str:
    return f"RateLimits-{env}"


def function_name(key: str, env: str) -> str:
    """`function_name(CONNECTION, "dev")` -> `session-connection-handler-dev`."""
    return f"{FUNCTION_BASE_NAMES[key]}-{env}"


def function_log_group(key: str, env: str) -> str:
    return f"/aws/lambda/{function_name(key, env)}"


def periodic_job_rule(env: str) -> str:
    """The EventBridge rule that runs the status function's periodic job every minute."""
    return f"session-periodic-job-{env}"


def websocket_api_name(env: str) -> str:
    return f"session-websocket-api-{env}"


def http_api_name(env: str) -> str:
    return f"session-http-api-{env}"


def http_api_access_log_group(env: str) -> str:
    return f"/aws/apigateway/{http_api_name(env)}"


def alarm_topic_name(env: str) -> str:
    return f"session-management-alarms-{env}"


def alarm_name(subject: str, env: str) -> str:
    """`alarm_name("periodic-job-failures", "dev")` -> `session-periodic-job-failures-dev`."""
    return f"session-{subject}-{env}"
