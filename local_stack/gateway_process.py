"""The composition root of one gateway process: it builds every emulated service from the
template (the Lambda pools, API Gateway's WebSocket and HTTP APIs, the EventBridge scheduler,
IAM's principals), lets each service add its own routes, and serves them plain (ws://, http://)
and over TLS (wss://, https://) with the local CA.

The supervisor starts several of these side by side (the open-file limit is per process);
`--index` says which one this is. Each service's wire routes live with the service.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import ssl
from dataclasses import dataclass, replace
from pathlib import Path

from aiohttp import web

from local_stack.apigateway import responses as apigateway_routes
from local_stack.apigateway.gateway import WebSocketGateway
from local_stack.apigateway.http_api import http_apis
from local_stack.apigateway.http_gateway import HttpApiGateway
from local_stack.apigateway.jwt_authorizer import JwtVerifier
from local_stack.apigateway.settings import GatewaySettings
from local_stack.apigateway.websocket_api import websocket_apis
from local_stack.awslambda import responses as lambda_routes
from local_stack.awslambda.async_invocations import AsyncInvocationPolicy, AsyncInvoker
from local_stack.awslambda.models import FunctionSpec, functions_from_template
from local_stack.awslambda.permissions import invoke_permissions
from local_stack.awslambda.pool import FunctionPool
from local_stack.cloudformation.template import StackTemplate, TemplateError
from local_stack.control_access import control_guard
from local_stack.eventbridge import responses as eventbridge_routes
from local_stack.eventbridge.models import schedule_rules
from local_stack.eventbridge.scheduler import Scheduler
from local_stack.iam.credentials import StackCredentials, function_credentials, issued_keys
from local_stack.iam.signatures import IssuedKey
from local_stack.processes import quiet_request_errors

log = logging.getLogger("local_stack.apigateway")


@dataclass(frozen=True)
class GatewayServices:
    """Every emulated service one gateway process runs, built from the template."""

    pools: dict[str, FunctionPool]
    gateway: WebSocketGateway
    invoke_api: lambda_routes.InvokeApi
    async_invoker: AsyncInvoker
    scheduler: Scheduler
    http_api: HttpApiGateway | None
    keys: dict[str, IssuedKey]


def localize_endpoints(spec: FunctionSpec, api_id: str, region: str, local_endpoint: str) -> FunctionSpec:
    """What DNS does in AWS: the API's execute-api host resolves to this gateway (same stage path)."""
    aws_endpoint = f"https://{api_id}.execute-api.{region}.amazonaws.com"
    environment = {k: v.replace(aws_endpoint, local_endpoint) for k, v in spec.environment.items()}
    return replace(spec, environment=environment)


def assemble(settings: GatewaySettings, index: int) -> GatewayServices:
    template = StackTemplate.load(settings.assembly_dir, settings.stack_name, settings.region)
    apis = websocket_apis(template)
    if not apis:
        raise TemplateError("the template has no WebSocket API")
    api = apis[0]
    stage = next(iter(api.stages), "prod")
    stack_credentials = StackCredentials.from_json(settings.credentials) if settings.credentials else None
    credentials = function_credentials(template, stack_credentials) if stack_credentials else {}
    local_endpoint = f"https://{settings.host}:{settings.tls_ports[0]}"
    pools = {
        name: FunctionPool(
            localize_endpoints(spec, api.api_id, settings.region, local_endpoint),
            {**settings.function_env, **credentials.get(name, {})},
            settings.log_dir,
            settings.lambda_concurrency,
            spread_environments=settings.spread_environments,
            reserved_slots_dir=settings.log_dir.parent / "reserved-concurrency",
        )
        for name, spec in functions_from_template(template).items()
    }
    gateway = WebSocketGateway(api, stage, pools, settings, index, permissions=invoke_permissions(template))
    async_invoker = AsyncInvoker(
        AsyncInvocationPolicy(
            retry_delays_seconds=settings.async_retry_delays_seconds,
            duplicate_fraction=settings.async_duplicate_fraction,
        )
    )
    scheduler = Scheduler(
        schedule_rules(template),
        pools,
        settings.region,
        template.account_id,
        settings.schedule_time_scale,
        async_invoker,
    )
    http = http_apis(template)
    http_api = (
        HttpApiGateway(
            http[0],
            pools,
            JwtVerifier(settings.jwks_urls),
            gateway.domain_name,
            settings.record_events_file,
            permissions=invoke_permissions(template),
            region=settings.region,
        )
        if http
        else None
    )
    return GatewayServices(
        pools=pools,
        gateway=gateway,
        invoke_api=lambda_routes.InvokeApi(pools, async_invoker),
        async_invoker=async_invoker,
        scheduler=scheduler,
        http_api=http_api,
        keys=issued_keys(template, stack_credentials) if stack_credentials else {},
    )


def build_app(services: GatewayServices) -> web.Application:
    gateway = services.gateway

    async def health(_: web.Request) -> web.Response:
        # Not ready until the warm environments are up, so a run's first requests meet warm functions.
        if not gateway.ready:
            return web.json_response({"status": "warming"}, status=503)
        return web.json_response({"status": "ok", "connections": len(gateway.connections)})

    # aiohttp's own line limit (8190) would answer 400 and echo the request line, token and all;
    # API Gateway's 10,240-byte quota is enforced by the handshake instead.
    app = web.Application(
        client_max_size=1024 * 1024,
        handler_args={"max_line_size": 65_536, "max_field_size": 65_536},
        middlewares=[control_guard(gateway.settings.control_secret)],
    )
    apigateway_routes.add_routes(app, gateway, services.keys)
    lambda_routes.add_routes(app, services.invoke_api, services.keys, gateway.settings.region)
    app.router.add_get("/__local/health", health)
    eventbridge_routes.add_routes(app, services.scheduler)
    if services.http_api is not None:
        # Everything else is the HTTP API's ($default stage: no stage prefix in the path), so it goes last.
        app.router.add_route("*", "/{path:.*}", services.http_api.handle)
    return app


async def _listen(app: web.Application, settings: GatewaySettings, index: int) -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=2)
    await runner.setup()
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(settings.cert_file, settings.key_file)
    await web.TCPSite(runner, settings.host, settings.plain_ports[index], backlog=4096).start()
    await web.TCPSite(runner, settings.host, settings.tls_ports[index], ssl_context=tls, backlog=4096).start()
    return runner


async def _warm(services: GatewayServices, settings: GatewaySettings) -> None:
    if settings.warm_functions:
        await asyncio.gather(
            *(pool.warm(settings.warm_environments) for pool in services.pools.values()), return_exceptions=True
        )
    services.gateway.ready = True


async def _until_signalled() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def serve(settings: GatewaySettings, index: int) -> None:
    services = assemble(settings, index)
    runner = await _listen(build_app(services), settings, index)
    background = [asyncio.ensure_future(services.gateway.enforce_quotas())]
    # One process runs the schedules, as EventBridge invokes a target once per period.
    if index == 0:
        background.append(asyncio.ensure_future(services.scheduler.run()))
    await _warm(services, settings)
    log.info(
        "gateway %d serving api %s stage %s on %d/%d",
        index,
        services.gateway.api.api_id,
        services.gateway.stage,
        settings.plain_ports[index],
        settings.tls_ports[index],
    )
    await _until_signalled()
    for task in background:
        task.cancel()
    services.async_invoker.shutdown()
    await runner.cleanup()
    for pool in services.pools.values():
        pool.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description="Local gateway process: every emulated service behind one port pair")
    parser.add_argument("--runtime-file", type=Path, required=True)
    parser.add_argument("--index", type=int, default=0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    quiet_request_errors()
    asyncio.run(serve(GatewaySettings.from_file(args.runtime_file), args.index))


if __name__ == "__main__":
    main()
