"""The Lambda API on the wire: Invoke (`POST /2015-03-31/functions/{name}/invocations`) and
GetFunctionConfiguration, with the calling function's IAM check.

Handlers call it through boto3 exactly as in AWS (`AWS_ENDPOINT_URL_LAMBDA` points here), so the
connection handler's asynchronous self-invocation runs the same code path locally.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping

from aiohttp import web

from local_stack.awslambda.async_invocations import THROTTLED, AsyncInvoker
from local_stack.awslambda.models import FunctionSpec
from local_stack.awslambda.pool import FunctionPool
from local_stack.iam.responses import not_authorized, rest_refusal, signer_of
from local_stack.iam.signatures import IssuedKey, SignatureRefused

log = logging.getLogger("local_stack.awslambda")


def _function_name(identifier: str) -> str:
    """Accept a name, a full ARN or a partial ARN, as Lambda does."""
    if ":function:" in identifier:
        return identifier.split(":function:", 1)[1].split(":", 1)[0]
    return identifier.split(":", 1)[0]


class InvokeApi:
    def __init__(self, pools: dict[str, FunctionPool], async_invoker: AsyncInvoker | None = None) -> None:
        self.pools = pools
        self.async_invoker = async_invoker or AsyncInvoker()

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
            self.async_invoker.submit(pool, event)  # queued, retried and perhaps duplicated, as in Lambda
            return web.Response(status=202)
        result = await pool.invoke(event)
        if result.error_type == THROTTLED:
            # A synchronous invocation beyond the function's reserved concurrency is refused, not run.
            return web.json_response(
                {
                    "Type": "User",
                    "message": "Rate Exceeded.",
                    "Reason": "ReservedFunctionConcurrentInvocationLimitExceeded",
                },
                status=429,
                headers={"x-amzn-ErrorType": "TooManyRequestsException"},
            )
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


def add_routes(app: web.Application, api: InvokeApi, keys: Mapping[str, IssuedKey], region: str) -> None:
    async def signed(request: web.Request) -> IssuedKey | web.Response:
        signer = await signer_of(request, keys, "lambda", region)
        return rest_refusal(signer) if isinstance(signer, SignatureRefused) else signer

    async def invoke(request: web.Request) -> web.StreamResponse:
        signer = await signed(request)
        if isinstance(signer, web.Response):
            return signer
        caller = signer.principal
        if caller is not None:  # a function's role; the stack's owner may do anything
            spec = api.spec_for(request.match_info["function"])
            if spec is not None and not caller[0].is_allowed("lambda:InvokeFunction", spec.arn):
                return not_authorized(caller, "lambda:InvokeFunction", spec.arn, 403, "AccessDeniedException")
        return await api.invoke(request)

    async def faults(request: web.Request) -> web.Response:
        """Fault switch for reliability tests (no AWS API): deliver this share of async events twice."""
        body = await request.json()
        policy = api.async_invoker.policy
        if "duplicateAsyncFraction" in body:
            policy.duplicate_fraction = min(1.0, max(0.0, float(body["duplicateAsyncFraction"])))
        return web.json_response({"duplicateAsyncFraction": policy.duplicate_fraction})

    app.router.add_post("/2015-03-31/functions/{function}/invocations", invoke)
    app.router.add_post("/__local/lambda/faults", faults)

    async def configuration(request: web.Request) -> web.StreamResponse:
        signer = await signed(request)
        if isinstance(signer, web.Response):
            return signer
        spec = api.spec_for(request.match_info["function"])
        caller = signer.principal
        if (
            caller is not None
            and spec is not None
            and not caller[0].is_allowed("lambda:GetFunctionConfiguration", spec.arn)
        ):
            return not_authorized(caller, "lambda:GetFunctionConfiguration", spec.arn, 403, "AccessDeniedException")
        return await api.configuration(request)

    app.router.add_get("/2015-03-31/functions/{function}/configuration", configuration)
