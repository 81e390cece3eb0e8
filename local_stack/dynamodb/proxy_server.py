"""Process entry point for the IAM-checking proxy in front of DynamoDB Local."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
from pathlib import Path

from aiohttp import web

from local_stack.cloudformation.template import StackTemplate
from local_stack.dynamodb.iam_proxy import DynamoDBIamProxy
from local_stack.iam.credentials import StackCredentials, issued_keys
from local_stack.processes import quiet_request_errors


async def serve(runtime_file: Path) -> None:
    runtime = json.loads(runtime_file.read_text())
    gateway, proxy = runtime["gateway"], runtime["dynamodbProxy"]
    template = StackTemplate.load(Path(gateway["assemblyDir"]), gateway["stackName"], gateway["region"])
    handler = DynamoDBIamProxy(
        upstream=proxy["upstream"],
        keys=issued_keys(template, StackCredentials.from_json(gateway["credentials"]))
        if gateway.get("credentials")
        else {},
        table_arn_prefix=f"arn:aws:dynamodb:{template.region}:{template.account_id}:table",
        region=template.region,
    )
    app = web.Application(client_max_size=32 * 1024 * 1024)
    app.router.add_post("/", handler.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, gateway["host"], proxy["port"], backlog=4096).start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()
    await handler.close()


def main() -> None:
    parser = argparse.ArgumentParser(description="IAM policy check in front of DynamoDB Local")
    parser.add_argument("--runtime-file", type=Path, required=True)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    quiet_request_errors()
    asyncio.run(serve(parser.parse_args().runtime_file))


if __name__ == "__main__":
    main()
