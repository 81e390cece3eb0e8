"""The authorizer outcomes API Gateway gives, as the local gateway decides them."""

from __future__ import annotations

import pytest

from local_stack.apigateway.authorization import evaluate, identity_present

METHOD_ARN = "arn:aws:execute-api:us-east-1:000000000000:abcdefghij/prod/$connect"


def policy(effect: str, resource: str, action: str = "execute-api:Invoke", **extra):
    return {
        "principalId": "user-1",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Effect": effect, "Action": action, "Resource": resource}],
        },
        **extra,
    }


def test_allow_on_the_method_arn_passes_context_as_strings():
    decision = evaluate(policy("Allow", METHOD_ARN, context={"userId": "u1", "tier": 2, "admin": True}), METHOD_ARN)
    assert decision.status == 200
    assert decision.context == {"principalId": "user-1", "userId": "u1", "tier": "2", "admin": "true"}


@pytest.mark.parametrize("resource", ["arn:aws:execute-api:us-east-1:000000000000:abcdefghij/prod/*", "*"])
def test_wildcard_resources_cover_connect(resource):
    assert evaluate(policy("Allow", resource), METHOD_ARN).status == 200


def test_deny_is_403():
    assert evaluate(policy("Deny", METHOD_ARN), METHOD_ARN).status == 403


def test_allow_that_does_not_cover_connect_is_403():
    other = "arn:aws:execute-api:us-east-1:000000000000:abcdefghij/dev/$connect"
    assert evaluate(policy("Allow", other), METHOD_ARN).status == 403


def test_malformed_result_is_500():
    assert evaluate({"principalId": "x"}, METHOD_ARN).status == 500
    assert evaluate(policy("Allow", METHOD_ARN, context={"nested": {"a": 1}}), METHOD_ARN).status == 500


def test_identity_sources():
    headers = {"Host": "example", "Auth": ""}
    assert identity_present("route.request.header.host", headers, None)
    assert not identity_present("route.request.header.Auth", headers, None)
    assert not identity_present("route.request.querystring.token", headers, None)
    assert identity_present("route.request.querystring.token", headers, {"token": "t"})


@pytest.mark.parametrize("value", [None, {"nested": "object"}, ["a", "list"]])
def test_a_context_value_that_is_not_a_string_number_or_boolean_is_500(value):
    """Not the string "None": API Gateway refuses such a result as a configuration error."""
    assert evaluate(policy("Allow", METHOD_ARN, context={"userId": value}), METHOD_ARN).status == 500


def test_an_authorizer_result_over_8_kb_is_500():
    big = policy("Allow", METHOD_ARN, context={"claims": "x" * 8_200})
    assert evaluate(big, METHOD_ARN).status == 500
    assert evaluate(policy("Allow", METHOD_ARN, context={"claims": "x" * 7_000}), METHOD_ARN).status == 200
