"""The control endpoints take requests from the stack's owner only: its secret, no web page."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from local_stack.control_access import SECRET_HEADER, control_guard

SECRET = "the-stacks-own-secret"


def app() -> web.Application:
    application = web.Application(middlewares=[control_guard(SECRET)])

    async def ok(_: web.Request) -> web.Response:
        return web.json_response({"changed": True})

    application.router.add_post("/__local/faults", ok)
    application.router.add_get("/__local/health", ok)
    application.router.add_post("/prod/@connections/abc", ok)
    return application


def status_of(method: str, path: str, **kwargs) -> int:
    async def main() -> int:
        async with TestClient(TestServer(app())) as client:
            response = await client.request(method, path, **kwargs)
            return response.status

    return asyncio.run(main())


JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 403),
        ({SECRET_HEADER: "guess"}, 403),
        ({SECRET_HEADER: SECRET[:-1]}, 403),
        ({SECRET_HEADER: SECRET}, 200),
        ({SECRET_HEADER: SECRET, "Origin": "https://evil.example"}, 403),
        ({SECRET_HEADER: SECRET, "Origin": "null"}, 403),
        ({SECRET_HEADER: SECRET, "Sec-Fetch-Site": "cross-site"}, 403),
        ({SECRET_HEADER: SECRET, "Sec-Fetch-Site": "same-site"}, 403),
        ({SECRET_HEADER: SECRET, "Sec-Fetch-Site": "none"}, 200),
    ],
)
def test_a_control_request_needs_the_secret_and_no_browser_origin(headers, status):
    assert status_of("POST", "/__local/faults", data=b"{}", headers={**JSON, **headers}) == status


def test_a_cross_site_form_post_is_refused_even_without_a_preflight():
    """What a web page can send to a loopback port without CORS: a text/plain POST with an Origin."""
    form = {"Content-Type": "text/plain", "Origin": "https://page.example"}
    assert status_of("POST", "/__local/faults", data=b'{"dropDisconnectFraction": 1}', headers=form) == 403


def test_a_control_body_must_be_json():
    headers = {SECRET_HEADER: SECRET, "Content-Type": "text/plain"}
    assert status_of("POST", "/__local/faults", data=b"{}", headers=headers) == 415


def test_the_health_check_and_the_apis_themselves_are_not_control_endpoints():
    assert status_of("GET", "/__local/health") == 200
    assert status_of("POST", "/prod/@connections/abc", data=b"x") == 200  # IAM guards it, not this


def test_an_empty_secret_refuses_every_control_request():
    async def main() -> int:
        application = web.Application(middlewares=[control_guard("")])

        async def ok(_: web.Request) -> web.Response:
            return web.Response()

        application.router.add_post("/__local/faults", ok)
        async with TestClient(TestServer(application)) as client:
            return (await client.post("/__local/faults", headers={SECRET_HEADER: "", **JSON}, data=b"{}")).status

    assert asyncio.run(main()) == 403
