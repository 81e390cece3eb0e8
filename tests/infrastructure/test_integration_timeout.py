"""A function behind an API Gateway route must time out before API Gateway's 29 s: synth says so."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Annotations, Match

from session_infrastructure.integration_timeout import WARNING_ID, behind_a_route


def _function_behind_a_route(timeout_seconds: int) -> cdk.Stack:
    stack = cdk.Stack(cdk.App())
    function = lambda_.Function(
        stack,
        "Probe",
        runtime=lambda_.Runtime.PYTHON_3_11,
        handler="probe.handler",
        code=lambda_.Code.from_inline("def handler(event, context): return None"),
        timeout=cdk.Duration.seconds(timeout_seconds),
    )
    behind_a_route(function, "WebSocket API")
    return stack


def test_a_function_that_outlasts_api_gateway_is_flagged_at_synth():
    annotations = Annotations.from_stack(_function_behind_a_route(30))
    annotations.has_warning("/Default/Probe", Match.string_like_regexp("times out after 30 s .* gives up after 29 s"))
    assert WARNING_ID in str(annotations.find_warning("*", Match.any_value()))


def test_a_function_within_29_s_is_not_flagged():
    Annotations.from_stack(_function_behind_a_route(29)).has_no_warning("*", Match.any_value())


@pytest.mark.parametrize("env", ("dev", "prod"))
def test_no_function_of_the_app_outlasts_its_routes(stacks, env):
    Annotations.from_stack(stacks[env]).has_no_warning("*", Match.string_like_regexp("gives up after 29 s"))
