"""What the Python runtime does with a handler's return value and which variables it sets, run
through the real worker process: Decimals are numbers, anything else JSON cannot encode is a
Runtime.MarshalError, and the runtime's own environment (TZ, trace header, log group) is there."""

from __future__ import annotations

import asyncio
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest

from local_stack.awslambda.models import FunctionSpec, functions_from_template
from local_stack.awslambda.pool import FunctionPool, InvocationResult
from local_stack.cloudformation.template import StackTemplate
from tests.unit.local_stack.fakes import function_spec, handler_code

HANDLER = textwrap.dedent(
    """
    import datetime
    import decimal
    import os

    RETURNS = {
        "decimals": lambda: {
            "int": decimal.Decimal("10"),
            "fraction": decimal.Decimal("1.50"),
            "exponent": decimal.Decimal("1E+2"),
            "nested": [decimal.Decimal("-3")],
        },
        "set": lambda: {"members": {1, 2}},
        "datetime": lambda: {"at": datetime.datetime(2026, 1, 1)},
        "bytes": lambda: {"blob": b"raw"},
    }
    NAMES = ("TZ", "AWS_LAMBDA_INITIALIZATION_TYPE", "_X_AMZN_TRACE_ID", "AWS_LAMBDA_LOG_GROUP_NAME")

    def handler(event, context):
        if event.get("return"):
            return RETURNS[event["return"]]()
        return {"env": {name: os.environ.get(name) for name in NAMES}, "logGroup": context.log_group_name}
    """
)

TRACE = re.compile(r"^Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0$")


@pytest.fixture
def code(tmp_path: Path) -> Path:
    return handler_code(tmp_path, HANDLER)


def spec(code: Path, **overrides: Any) -> FunctionSpec:
    return function_spec(code, **{**overrides})


def invoke_all(pool: FunctionPool, events: list[dict[str, Any]]) -> list[InvocationResult]:
    """Invoke one after the other in one environment, then stop it inside the same loop."""

    async def main() -> list[InvocationResult]:
        try:
            return [await pool.invoke(event) for event in events]
        finally:
            pool.shutdown()
            await asyncio.sleep(0.2)  # let the killed worker's pipes close inside this loop

    return asyncio.run(main())


def test_a_decimal_return_is_a_json_number_as_the_runtime_writes_its_digits(code, tmp_path):
    (result,) = invoke_all(FunctionPool(spec(code), {}, tmp_path, max_concurrency=1), [{"return": "decimals"}])
    assert not result.failed, result
    payload = result.payload
    assert payload == {"int": 10, "fraction": 1.5, "exponent": 100.0, "nested": [-3]}
    assert type(payload["int"]) is int and type(payload["nested"][0]) is int
    assert type(payload["fraction"]) is float and type(payload["exponent"]) is float


@pytest.mark.parametrize(("returned", "type_name"), [("set", "set"), ("datetime", "datetime"), ("bytes", "bytes")])
def test_an_unencodable_return_is_a_runtime_marshal_error_and_the_environment_kept(code, tmp_path, returned, type_name):
    pool = FunctionPool(spec(code), {}, tmp_path, max_concurrency=1)
    failed, after = invoke_all(pool, [{"return": returned}, {"return": "decimals"}])
    assert failed.failed and failed.payload is None
    assert failed.error_type == "Runtime.MarshalError"
    assert failed.error_message == f"Unable to marshal response: Object of type {type_name} is not JSON serializable"
    assert not after.failed  # the environment serves the next invocation, as Lambda's does


def test_the_runtimes_variables_are_set_with_lambdas_shapes(code, tmp_path):
    first, second = invoke_all(FunctionPool(spec(code), {}, tmp_path, max_concurrency=1), [{}, {}])
    env = first.payload["env"]
    assert env["TZ"] == ":UTC"
    assert env["AWS_LAMBDA_INITIALIZATION_TYPE"] == "on-demand"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == first.payload["logGroup"] == "/aws/lambda/fn"
    assert TRACE.match(env["_X_AMZN_TRACE_ID"]), env["_X_AMZN_TRACE_ID"]
    assert TRACE.match(second.payload["env"]["_X_AMZN_TRACE_ID"])
    assert second.payload["env"]["_X_AMZN_TRACE_ID"] != env["_X_AMZN_TRACE_ID"]  # one per invocation


def test_tz_is_unreserved_and_the_template_may_set_it(code, tmp_path):
    pool = FunctionPool(spec(code, environment={"TZ": "Europe/Berlin"}), {}, tmp_path, max_concurrency=1)
    (result,) = invoke_all(pool, [{}])
    assert result.payload["env"]["TZ"] == "Europe/Berlin"


def test_the_log_group_comes_from_the_templates_logging_config(code, tmp_path):
    body = {
        "Resources": {
            "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "/custom/fn-logs"}},
            "Fn": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "FunctionName": "fn",
                    "Handler": "app.handler",
                    "Timeout": 10,
                    "LoggingConfig": {"LogGroup": {"Ref": "Logs"}},
                },
                "Metadata": {"aws:asset:path": str(code)},
            },
        }
    }
    template = StackTemplate(body, stack_name="Stack-local", region="us-east-1", assembly_dir=tmp_path)
    function = functions_from_template(template)["fn"]
    assert function.log_group == "/custom/fn-logs"
    (result,) = invoke_all(FunctionPool(function, {}, tmp_path, max_concurrency=1), [{}])
    assert result.payload["env"]["AWS_LAMBDA_LOG_GROUP_NAME"] == "/custom/fn-logs"
    assert result.payload["logGroup"] == "/custom/fn-logs"
