"""API Gateway gives up on a Lambda integration after 29 seconds (WebSocket and HTTP APIs alike) and
answers `Endpoint request timed out`, but the function runs on to its own timeout, holding its
concurrency and perhaps writing after the client was told it failed. So a function behind a route
must time out first; one that would not is flagged when the app is synthesized."""

from __future__ import annotations

from aws_cdk import Annotations
from aws_cdk import aws_lambda as lambda_

API_GATEWAY_INTEGRATION_TIMEOUT_SECONDS = 29
WARNING_ID = "SessionManagement:IntegrationTimeout"


def behind_a_route(function: lambda_.Function, api: str) -> lambda_.Function:
    """`function`, after warning (`cdk synth` prints it) if its timeout outlasts API Gateway's."""
    timeout = function.timeout.to_seconds() if function.timeout is not None else 3
    if timeout > API_GATEWAY_INTEGRATION_TIMEOUT_SECONDS:
        Annotations.of(function).add_warning_v2(
            WARNING_ID,
            f"{function.node.id} times out after {timeout} s but sits behind a route of the {api}, which "
            f"gives up after {API_GATEWAY_INTEGRATION_TIMEOUT_SECONDS} s: set its timeout to at most "
            f"{API_GATEWAY_INTEGRATION_TIMEOUT_SECONDS} s",
        )
    return function
