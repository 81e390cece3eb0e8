"""One gateway process: the WebSocket endpoint, the @connections API and the Lambda Invoke API,
served plain (ws://, http://) and over TLS (wss://, https://) with the local CA.

Several processes can run side by side (the open-file limit is per process); a management call
for a connection held by another process is forwarded to it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import re
import signal
import ssl
from dataclasses import replace
from pathlib import Path

import aiohttp
from aiohttp import web

from local_stack.apigateway.gateway import WebSocketGateway
from local_stack.apigateway.http_gateway import HttpApiGateway
from local_stack.apigateway.http_models import http_apis
from local_stack.apigateway.ids import owner_of
from local_stack.apigateway.jwt_authorizer import JwtVerifier
from local_stack.apigateway.models import websocket_apis
from local_stack.apigateway.settings import GatewaySettings
from local_stack.awslambda.invoke_api import InvokeApi
from local_stack.awslambda.models import FunctionSpec, functions_from_template
from local_stack.awslambda.permissions import invoke_permissions
from local_stack.awslambda.pool import FunctionPool
from local_stack.cloudformation.template import StackTemplate, TemplateError
from local_stack.eventbridge.models import schedule_rules
from local_stack.eventbridge.scheduler import Scheduler
from local_stack.iam.credentials import function_credentials, principals_by_access_key
from local_stack.iam.models import Role
from local_stack.processes import quiet_request_errors

_CREDENTIAL = re.compile(r"Credential=([A-Z0-9]+)/")


def caller_role(request: web.Request, principals: dict[str, tuple[Role, str]]) -> tuple[Role, str] | None:
    """The function whose role signed this request, or None for the account's admin (tests, people)."""
    match = _CREDENTIAL.search(request.headers.get("Authorization", ""))
    return principals.get(match.group(1)) if match else None


def forbidden(role: Role, function_name: str, action: str, resource: str, status: int, error_type: str) -> web.Response:
    message = (
        f"User: arn:aws:sts::000000000000:assumed-role/{role.name}/{function_name} is not authorized to perform: "
        f"{action} on resource: {resource}"
    )
    return web.Response(
        status=status,
        text=json.dumps({"message": message, "Message": message}),
        content_type="application/json",
        headers={"x-amzn-ErrorType": error_type},
    )


def _add_local_admin_routes(app: web.Application, gateway: WebSocketGateway, scheduler: Scheduler | None) -> None:
    """What has no AWS API: run a schedule now, and switch injected faults while the stack runs."""

    async def trigger_rule(request: web.Request) -> web.Response:
        name = request.match_info["rule"]
        if scheduler is None or name not in scheduler.rules:
            return web.json_response({"message": f"rule {name} not found"}, status=404)
        failures = await scheduler.trigger(name)
        return web.json_response({"rule": name, "failedTargets": failures})

    async def faults(request: web.Request) -> web.Response:
        """Fault switches for reliability tests, changed while the stack runs."""
        body = await request.json()
        if "dropDisconnectFraction" in body:
            gateway.drop_disconnect_fraction = min(1.0, max(0.0, float(body["dropDisconnectFraction"])))
        return web.json_response({"dropDisconnectFraction": gateway.drop_disconnect_fraction})

    app.router.add_post("/__local/rules/{rule}/trigger", trigger_rule)
    app.router.add_post("/__local/faults", faults)


def build_app(
    gateway: WebSocketGateway,
    invoke_api: InvokeApi,
    principals: dict[str, tuple[Role, str]] | None = None,
    scheduler: Scheduler | None = None,
    http_api: HttpApiGateway | None = None,
) -> web.Application:
    settings = gateway.settings
    stage = gateway.stage
    client: dict[str, aiohttp.ClientSession] = {}

    async def forward(request: web.Request, owner: int) -> web.Response:
        if "session" not in client:
            client["session"] = aiohttp.ClientSession()
        url = f"http://{settings.host}:{settings.plain_ports[owner]}{request.rel_url}"
        async with client["session"].request(request.method, url, data=await request.read()) as upstream:
            return web.Response(status=upstream.status, body=await upstream.read(), headers=upstream.headers)

    async def connections(request: web.Request) -> web.StreamResponse:
        connection_id = request.match_info["connection_id"]
        owner = owner_of(connection_id)
        caller = caller_role(request, principals or {})
        if caller is not None:
            resource = (
                f"arn:aws:execute-api:{settings.region}:000000000000:{gateway.api.api_id}/{stage}/"
                f"{request.method}/@connections/{connection_id}"
            )
            if not caller[0].is_allowed("execute-api:ManageConnections", resource):
                return forbidden(*caller, "execute-api:ManageConnections", resource, 403, "ForbiddenException")
        if owner is not None and owner != gateway.process_index and owner < len(settings.plain_ports):
            return await forward(request, owner)
        if request.method == "POST":
            return await gateway.post_to_connection(connection_id, await request.read())
        if request.method == "GET":
            return gateway.get_connection(connection_id)
        return await gateway.delete_connection(connection_id)

    async def websocket(request: web.Request) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() != "websocket":
            return web.Response(status=426, text="Upgrade Required")
        return await gateway.handshake(request)

    async def health(_: web.Request) -> web.Response:
        # Not ready until the warm environments are up, so a run's first requests meet warm functions.
        if not gateway.ready:
            return web.json_response({"status": "warming"}, status=503)
        return web.json_response({"status": "ok", "connections": len(gateway.connections)})

    async def on_cleanup(_: web.Application) -> None:
        await gateway.shutdown()
        if "session" in client:
            await client["session"].close()

    # aiohttp's own line limit (8190) would answer 400 and echo the request line, token and all;
    # API Gateway's 10,240-byte quota is enforced by the handshake instead.
    app = web.Application(client_max_size=1024 * 1024, handler_args={"max_line_size": 65_536, "max_field_size": 65_536})
    app.router.add_get(f"/{stage}", websocket)
    app.router.add_get(f"/{stage}/", websocket)
    app.router.add_route("*", f"/{stage}/@connections/{{connection_id}}", connections)

    async def invoke(request: web.Request) -> web.StreamResponse:
        caller = caller_role(request, principals or {})
        if caller is not None:
            spec = invoke_api.spec_for(request.match_info["function"])
            if spec is not None and not caller[0].is_allowed("lambda:InvokeFunction", spec.arn):
                return forbidden(*caller, "lambda:InvokeFunction", spec.arn, 403, "AccessDeniedException")
        return await invoke_api.invoke(request)

    app.router.add_post("/2015-03-31/functions/{function}/invocations", invoke)
    app.router.add_get("/2015-03-31/functions/{function}/configuration", invoke_api.configuration)
    app.router.add_get("/__local/health", health)
    _add_local_admin_routes(app, gateway, scheduler)
    if http_api is not None:
        # Everything else is the HTTP API's ($default stage: no stage prefix in the path).
        app.router.add_route("*", "/{path:.*}", http_api.handle)
    app.on_cleanup.append(on_cleanup)
    return app


def localize_endpoints(spec: FunctionSpec, api_id: str, region: str, local_endpoint: str) -> FunctionSpec:
    """What DNS does in AWS: the API's execute-api host resolves to this gateway (same stage path)."""
    aws_endpoint = f"https://{api_id}.execute-api.{region}.amazonaws.com"
    environment = {k: v.replace(aws_endpoint, local_endpoint) for k, v in spec.environment.items()}
    return replace(spec, environment=environment)


async def serve(settings: GatewaySettings, index: int) -> None:
    template = StackTemplate.load(settings.assembly_dir, settings.stack_name, settings.region)
    apis = websocket_apis(template)
    if not apis:
        raise TemplateError("the template has no WebSocket API")
    api = apis[0]
    stage = next(iter(api.stages), "prod")
    credentials = function_credentials(template)
    local_endpoint = f"https://{settings.host}:{settings.tls_ports[0]}"
    pools = {
        name: FunctionPool(
            localize_endpoints(spec, api.api_id, settings.region, local_endpoint),
            {**settings.function_env, **credentials.get(name, {})},
            settings.log_dir,
            settings.lambda_concurrency,
        )
        for name, spec in functions_from_template(template).items()
    }
    gateway = WebSocketGateway(api, stage, pools, settings, index, permissions=invoke_permissions(template))
    scheduler = Scheduler(
        schedule_rules(template), pools, settings.region, template.account_id, settings.schedule_time_scale
    )
    http = http_apis(template)
    http_gateway = (
        HttpApiGateway(
            http[0], pools, JwtVerifier(settings.jwks_urls), gateway.domain_name, settings.record_events_file
        )
        if http
        else None
    )
    app = build_app(gateway, InvokeApi(pools), principals_by_access_key(template), scheduler, http_gateway)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=2)
    await runner.setup()
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(settings.cert_file, settings.key_file)
    await web.TCPSite(runner, settings.host, settings.plain_ports[index], backlog=4096).start()
    await web.TCPSite(runner, settings.host, settings.tls_ports[index], ssl_context=tls, backlog=4096).start()
    quotas = asyncio.ensure_future(gateway.enforce_quotas())
    # One process runs the schedules, as EventBridge invokes a target once per period.
    schedules = asyncio.ensure_future(scheduler.run()) if index == 0 else None
    if settings.warm_functions:
        await asyncio.gather(
            *(pool.warm(settings.warm_environments) for pool in pools.values()), return_exceptions=True
        )
    gateway.ready = True
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    logging.getLogger("local_stack.apigateway").info(
        "gateway %d serving api %s stage %s on %d/%d",
        index,
        api.api_id,
        stage,
        settings.plain_ports[index],
        settings.tls_ports[index],
    )
    await stop.wait()
    quotas.cancel()
    if schedules is not None:
        schedules.cancel()
    await runner.cleanup()
    for pool in pools.values():
        pool.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description="Local API Gateway (WebSocket) process")
    parser.add_argument("--runtime-file", type=Path, required=True)
    parser.add_argument("--index", type=int, default=0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    quiet_request_errors()
    asyncio.run(serve(GatewaySettings.from_file(args.runtime_file), args.index))


if __name__ == "__main__":
    main()
