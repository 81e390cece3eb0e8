"""The Lambda Invoke API on the wire, as boto3 calls it from the handlers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from local_stack.awslambda import responses
from local_stack.awslambda.models import FunctionSpec
from local_stack.awslambda.pool import InvocationResult
from local_stack.iam.models import Role, Statement
from tests.unit.local_stack.fakes import RecordingPool, SigningClient, owner_keys

ARN = "arn:aws:lambda:us-east-1:000000000000:function:worker"
SPEC = FunctionSpec("Worker", "worker", ARN, "app.handler", "python3.11", Path(), 512, 30, {"A": "1"})


def pool(result: InvocationResult) -> RecordingPool:
    recording = RecordingPool(result)
    recording.spec = SPEC  # what InvokeApi reads of a pool besides invoke()
    return recording


def run(scenario: Callable[[TestClient, RecordingPool], Awaitable[None]], result=None, keys=None) -> None:
    worker = pool(result or InvocationResult(payload={"ok": True}))

    async def main() -> None:
        app = web.Application()
        api = responses.InvokeApi({"worker": worker})
        responses.add_routes(app, api, keys or owner_keys(), "us-east-1")
        async with TestClient(TestServer(app)) as client:
            await scenario(SigningClient(client, "lambda"), worker)
            await asyncio.sleep(0.01)  # let an Event invocation's task finish in this loop

    asyncio.run(main())


def test_request_response_returns_the_payload_by_name_or_arn():
    async def scenario(client, worker):
        for identifier in ("worker", ARN, "worker:$LATEST"):
            response = await client.post(f"/2015-03-31/functions/{identifier}/invocations", data=b'{"n": 1}')
            assert response.status == 200 and await response.json() == {"ok": True}
            assert response.headers["X-Amz-Executed-Version"] == "$LATEST"
        assert worker.events == [{"n": 1}] * 3

    run(scenario)


def test_a_function_error_is_200_with_the_error_header():
    async def scenario(client, worker):
        response = await client.post("/2015-03-31/functions/worker/invocations", data=b"{}")
        assert response.status == 200 and response.headers["X-Amz-Function-Error"] == "Unhandled"
        assert await response.json() == {"errorMessage": "boom", "errorType": "ValueError"}

    run(scenario, result=InvocationResult(error_type="ValueError", error_message="boom"))


def test_event_and_dry_run_invocations():
    async def scenario(client, worker):
        url = "/2015-03-31/functions/worker/invocations"
        queued = await client.post(url, data=b'{"later": 1}', headers={"X-Amz-Invocation-Type": "Event"})
        assert queued.status == 202
        dry = await client.post(url, data=b'{"never": 1}', headers={"X-Amz-Invocation-Type": "DryRun"})
        assert dry.status == 204
        await asyncio.sleep(0.05)
        assert worker.events == [{"later": 1}]

    run(scenario)


def test_unknown_functions_and_unparseable_bodies():
    async def scenario(client, worker):
        missing = await client.post("/2015-03-31/functions/nobody/invocations", data=b"{}")
        assert missing.status == 404 and missing.headers["x-amzn-ErrorType"] == "ResourceNotFoundException"
        bad = await client.post("/2015-03-31/functions/worker/invocations", data=b"{not json")
        assert bad.status == 400 and bad.headers["x-amzn-ErrorType"] == "InvalidRequestContentException"
        assert worker.events == []

    run(scenario)


def test_get_function_configuration_is_what_the_template_set():
    async def scenario(client, worker):
        config = await (await client.get("/2015-03-31/functions/worker/configuration")).json()
        assert config["FunctionArn"] == ARN and config["MemorySize"] == 512 and config["Timeout"] == 30
        assert config["Environment"] == {"Variables": {"A": "1"}} and config["State"] == "Active"
        assert (await client.get("/2015-03-31/functions/nobody/configuration")).status == 404

    run(scenario)


def test_a_function_whose_role_may_not_invoke_gets_access_denied():
    caller = Role(
        "R",
        "caller-role",
        "arn:aws:iam::000000000000:role/caller-role",
        (Statement("Allow", ("lambda:InvokeFunction",), (ARN + "-other",)),),
    )
    key = "ASIACALLER0000000000"

    async def scenario(client, worker):
        refused = await client.as_(key, "caller-secret").post("/2015-03-31/functions/worker/invocations", data=b"{}")
        assert refused.status == 403 and refused.headers["x-amzn-ErrorType"] == "AccessDeniedException"
        body = json.loads(await refused.text())
        assert body["Message"].endswith(f"lambda:InvokeFunction on resource: {ARN}")
        assert worker.events == []

    run(scenario, keys=owner_keys(**{key: ("caller-secret", (caller, "caller"))}))


def test_a_throttled_synchronous_invoke_is_429_too_many_requests():
    async def scenario(client, worker):
        response = await client.post("/2015-03-31/functions/worker/invocations", data=b"{}")
        assert response.status == 429
        assert response.headers["x-amzn-ErrorType"] == "TooManyRequestsException"
        assert (await response.json())["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"

    run(scenario, result=InvocationResult(error_type="TooManyRequestsException", error_message="Rate Exceeded."))


def test_the_duplicate_switch_is_a_local_fault_route():
    async def scenario(client, worker):
        switched = await client.post("/__local/lambda/faults", json={"duplicateAsyncFraction": 1})
        assert await switched.json() == {"duplicateAsyncFraction": 1.0}
        await client.post(
            "/2015-03-31/functions/worker/invocations", data=b'{"n": 1}', headers={"X-Amz-Invocation-Type": "Event"}
        )
        await asyncio.sleep(0.05)
        assert worker.events == [{"n": 1}, {"n": 1}]

    run(scenario)
