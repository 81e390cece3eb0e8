"""The Lambda Invoke API (`POST /2015-03-31/functions/{name}/invocations`) on the wire.

Handlers call it through boto3 exactly as in AWS (`AWS_ENDPOINT_URL_LAMBDA` points here), so the
connection handler's asynchronous self-invocation runs the same code path locally.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from aiohttp import web

from local_stack.awslambda.models import FunctionSpec
from local_stack.awslambda.pool import FunctionPool

log = logging.getLogger("local_stack.awslambda")


def _function_name(identifier: str) -> str:
    """Accept a name, a full ARN or a partial ARN, as Lambda does."""
    if ":function:" in identifier:
        return identifier.split(":function:", 1)[1].split(":", 1)[0]
    return identifier.split(":", 1)[0]


class InvokeApi:
    def __init__(self, pools: dict[str, FunctionPool]) -> None:
        self.pools = pools
        self._tasks: set[asyncio.Task[Any]] = set()

    def spec_for(self, identifier: str) -> FunctionSpec | None:
        pool = self.pools.get(_function_name(identifier))
        return pool.spec if pool is not None else None

    async def configuration(self, request: web.Request) -> web.Response:
        """GetFunctionConfiguration: what the template set, so checklists can read it as from Lambda."""
        spec = self.spec_for(request.match_info["function"])
        if spec is None:
            name = _function_name(request.match_info["function"])
            return web.json_response(
                {"Type": "User", "message": f"Function not found: {name}"},
                status=404,
                headers={"x-amzn-ErrorType": "ResourceNotFoundException"},
            )
        return web.json_response(
            {
                "FunctionName": spec.name,
                "FunctionArn": spec.arn,
                "Runtime": spec.runtime,
                "Handler": spec.handler,
                "MemorySize": spec.memory_mb,
                "Timeout": spec.timeout_seconds,
                "Architectures": list(spec.architectures),
                "Description": spec.description,
                "Environment": {"Variables": dict(spec.environment)},
                "State": "Active",
            }
        )

    async def invoke(self, request: web.Request) -> web.Response:
        name = _function_name(request.match_info["function"])
        pool = self.pools.get(name)
        if pool is None:
            return web.json_response(
                {"Type": "User", "message": f"Function not found: {name}"},
                status=404,
                headers={"x-amzn-ErrorType": "ResourceNotFoundException"},
            )
        raw = await request.read()
        try:
            event = json.loads(raw) if raw else {}
        except ValueError:
            return web.json_response(
                {"Type": "User", "message": "Could not parse request body into json"},
                status=400,
                headers={"x-amzn-ErrorType": "InvalidRequestContentException"},
            )
        invocation_type = request.headers.get("X-Amz-Invocation-Type", "RequestResponse")
        if invocation_type == "DryRun":
            return web.Response(status=204)
        if invocation_type == "Event":
            task = asyncio.ensure_future(self._invoke_async(pool, event))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return web.Response(status=202)
        result = await pool.invoke(event)
        if result.failed:
            return web.json_response(
                {"errorMessage": result.error_message, "errorType": result.error_type},
                headers={"X-Amz-Function-Error": "Unhandled", "X-Amz-Executed-Version": "$LATEST"},
            )
        return web.Response(
            text=json.dumps(result.payload),
            content_type="application/json",
            headers={"X-Amz-Executed-Version": "$LATEST"},
        )

    async def _invoke_async(self, pool: FunctionPool, event: Any) -> None:
        result = await pool.invoke(event)
        if result.failed:
            log.warning("async invocation of %s failed: %s", pool.spec.name, result.error_type)
