"""EventBridge's local-only route: run a schedule rule's targets now (`make trigger-rule`).

AWS has no such API; tests and people use it to run the periodic job without waiting for it.
"""

from __future__ import annotations

from aiohttp import web

from local_stack.eventbridge.scheduler import Scheduler


def add_routes(app: web.Application, scheduler: Scheduler) -> None:
    async def trigger_rule(request: web.Request) -> web.Response:
        name = request.match_info["rule"]
        if name not in scheduler.rules:
            return web.json_response({"message": f"rule {name} not found"}, status=404)
        failures = await scheduler.trigger(name)
        return web.json_response({"rule": name, "failedTargets": failures})

    app.router.add_post("/__local/rules/{rule}/trigger", trigger_rule)
