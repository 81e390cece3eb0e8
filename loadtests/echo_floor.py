"""The physical floor: a bare WebSocket server that answers heartbeats with no Lambda, IAM or
DynamoDB behind it. The same Locust settings against it show what the machine and the load
generator cost on their own, so our heartbeat p95 is reported as a ratio to it.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import signal
import time

from aiohttp import WSMsgType, web


async def websocket(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(max_msg_size=128 * 1024)
    await ws.prepare(request)
    async for message in ws:
        if message.type is not WSMsgType.TEXT:
            break
        try:
            body = json.loads(message.data)
        except ValueError:
            continue
        if body.get("action") == "heartbeat":
            ack = {"type": "heartbeatAck", "timestamp": int(time.time() * 1000)}
            if isinstance(body.get("timestamp"), int):
                ack["clientTimestamp"] = body["timestamp"]
            await ws.send_str(json.dumps(ack))
    return ws


async def freeze_periodically() -> None:
    while True:
        await asyncio.sleep(5)
        gc.collect(1)
        gc.freeze()


async def serve(host: str, port: int) -> None:
    app = web.Application()
    app.router.add_get("/{stage}", websocket)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port, backlog=4096).start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    freezer = asyncio.ensure_future(freeze_periodically())
    await stop.wait()
    freezer.cancel()
    await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description="Bare heartbeat echo server (the floor of the load benchmark)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    asyncio.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
