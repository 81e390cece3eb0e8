"""Settings of one gateway process, written by the supervisor to `.local/runtime.json`.

Durations default to AWS's quotas; tests shorten them through the local stack's settings,
never through the handler code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class GatewaySettings:
    stack_name: str
    region: str
    assembly_dir: Path
    log_dir: Path
    host: str
    plain_ports: tuple[int, ...]
    tls_ports: tuple[int, ...]
    cert_file: Path
    key_file: Path
    function_env: dict[str, str] = field(default_factory=dict)
    lambda_concurrency: int = 8
    warm_functions: bool = True
    # Environments started per function before traffic (like provisioned concurrency); load runs raise it.
    warm_environments: int = 1
    # Invocations rotate over this many environments per function before one is reused, as Lambda
    # spreads requests: state kept at module level then differs between calls, as it would in AWS.
    spread_environments: int = 2
    idle_timeout_seconds: float = 600.0
    max_connection_seconds: float = 7200.0
    integration_timeout_seconds: float = 29.0
    max_frame_bytes: int = 32 * 1024
    max_post_bytes: int = 128 * 1024
    # The account's @connections throttle (PostToConnection, GetConnection, DeleteConnection together).
    management_requests_per_second: float = 10_000.0
    management_burst: float = 5_000.0
    new_connections_per_second: int = 500
    schedule_time_scale: float = 1.0
    # Tests record every event the gateway sends to a function, to validate them all against Powertools.
    record_events_file: Path | None = None
    # A frame that cannot be written for this long means the client stopped reading: drop it.
    slow_consumer_seconds: float = 5.0
    # Fault injection: the share of `$disconnect` events never delivered (AWS delivers them best effort).
    drop_disconnect_fraction: float = 0.0
    # The stack's secret for its control endpoints (control_access.py); empty refuses them all.
    control_secret: str = ""
    # The stack's signing material (iam/credentials.py StackCredentials); empty: nobody may sign.
    credentials: dict[str, str] = field(default_factory=dict)
    # Issuer -> where its JWKS is served locally (HTTP API JWT authorizers).
    jwks_urls: dict[str, str] = field(default_factory=dict)
    # Lambda retries a failed asynchronous invocation after about 1 and 2 minutes; tests shorten them.
    async_retry_delays_seconds: tuple[float, ...] = (60.0, 120.0)
    # Fault injection: the share of asynchronous events delivered twice (AWS delivers at least once).
    async_duplicate_fraction: float = 0.0

    @classmethod
    def from_file(cls, path: Path) -> GatewaySettings:
        raw: dict[str, Any] = json.loads(path.read_text())["gateway"]
        return cls(
            stack_name=raw["stackName"],
            region=raw["region"],
            assembly_dir=Path(raw["assemblyDir"]),
            log_dir=Path(raw["logDir"]),
            host=raw["host"],
            plain_ports=tuple(raw["plainPorts"]),
            tls_ports=tuple(raw["tlsPorts"]),
            cert_file=Path(raw["certFile"]),
            key_file=Path(raw["keyFile"]),
            function_env=dict(raw["functionEnv"]),
            lambda_concurrency=int(raw.get("lambdaConcurrency", 8)),
            warm_functions=bool(raw.get("warmFunctions", True)),
            warm_environments=int(raw.get("warmEnvironments", 1)),
            spread_environments=int(raw.get("spreadEnvironments", 2)),
            idle_timeout_seconds=float(raw.get("idleTimeoutSeconds", 600)),
            max_connection_seconds=float(raw.get("maxConnectionSeconds", 7200)),
            integration_timeout_seconds=float(raw.get("integrationTimeoutSeconds", 29)),
            max_frame_bytes=int(raw.get("maxFrameBytes", 32 * 1024)),
            management_requests_per_second=float(raw.get("managementRequestsPerSecond", 10_000)),
            management_burst=float(raw.get("managementBurst", 5_000)),
            new_connections_per_second=int(raw.get("newConnectionsPerSecond", 500)),
            schedule_time_scale=float(raw.get("scheduleTimeScale", 1.0)),
            record_events_file=Path(raw["recordEventsFile"]) if raw.get("recordEventsFile") else None,
            jwks_urls=dict(raw.get("jwksUrls", {})),
            control_secret=str(raw.get("controlSecret", "")),
            credentials=dict(raw.get("credentials", {})),
            drop_disconnect_fraction=float(raw.get("dropDisconnectFraction", 0.0)),
            slow_consumer_seconds=float(raw.get("slowConsumerSeconds", 5.0)),
            async_retry_delays_seconds=tuple(float(d) for d in raw.get("asyncRetryDelaysSeconds", (60.0, 120.0))),
            async_duplicate_fraction=float(raw.get("asyncDuplicateFraction", 0.0)),
        )
