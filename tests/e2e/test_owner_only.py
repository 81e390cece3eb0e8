"""Only its owner can reach the local stack: nothing it starts listens beyond loopback."""

from __future__ import annotations

import ipaddress
import stat
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import boto3
import psutil
import pytest
import requests
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from stage_access import control
from stage_access.clients import owner_credentials
from tests.support.clients import local_client
from tests.support.websocket_client import Client

pytestmark = pytest.mark.e2e
PUBLIC_CERTIFICATES = {"ca.pem", "server.pem"}


def _stack_processes(stack: dict[str, Any]) -> list[psutil.Process]:
    supervisor = psutil.Process(int(stack["supervisorPid"]))
    return [supervisor, *supervisor.children(recursive=True)]


def _bound_sockets(stack: dict[str, Any]) -> list[tuple[str, str, int, str]]:
    """(process, address, port, kind) of every TCP listener and bound UDP socket of the stack."""
    found = []
    for process in _stack_processes(stack):
        for connection in process.net_connections(kind="inet"):
            listening = connection.status == psutil.CONN_LISTEN
            bound_udp = connection.type.name == "SOCK_DGRAM" and connection.laddr
            if listening or bound_udp:
                kind = "tcp" if listening else "udp"
                found.append((" ".join(process.cmdline()[:4]), connection.laddr.ip, connection.laddr.port, kind))
    return found


def _is_loopback(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # Java's listeners show IPv4 addresses as ::ffff:a.b.c.d
    return ip.is_loopback


def test_every_listening_socket_of_the_stack_is_on_loopback(stack):
    sockets = _bound_sockets(stack)
    ports = {port for _, _, port, _ in sockets}
    # Everything stack.json publishes is among them: the test sees the whole stack.
    endpoints = [stack["dynamodbEndpoint"], stack["dynamodbLocalEndpoint"], stack["cognito"]["endpoint"]]
    endpoints += [stack["websocketUrl"], stack["websocketTlsUrl"]]
    published = {urlparse(url).port for url in endpoints}
    assert published <= ports, (published, sockets)
    assert len({process for process, *_ in sockets}) >= 4, sockets  # DynamoDB, Cognito, proxy, gateway
    exposed = [s for s in sockets if not _is_loopback(s[1])]
    assert not exposed, f"listening beyond loopback: {exposed}"
    with Client.connect(stack["websocketUrl"]) as client:  # and the published endpoint answers there
        client.send({"action": "heartbeat"})
        client.wait_for("heartbeatAck")


def test_nothing_in_the_state_directory_is_readable_by_others(stack):
    """Keys, logs, events and credentials live under the state directory: every directory is 0700
    and every file 0600 but the certificates, which are public (and unreachable behind 0700)."""
    state_dir = Path(stack["logDir"]).parent
    wide = [
        (str(path), oct(stat.S_IMODE(path.stat().st_mode)))
        for path in [state_dir, *state_dir.rglob("*")]
        if not path.is_symlink() and stat.S_IMODE(path.stat().st_mode) & 0o077 and path.name not in PUBLIC_CERTIFICATES
    ]
    assert not wide, wide


def test_the_control_endpoints_refuse_strangers_and_web_pages_and_change_nothing(stack):
    faults = control.control_url(stack, "/__local/faults")
    stranger = requests.post(faults, json={"dropDisconnectFraction": 1}, timeout=5)
    page = requests.post(
        faults,
        data='{"dropDisconnectFraction": 1}',
        headers={**control.control_headers(stack), "Content-Type": "text/plain", "Origin": "https://page.example"},
        timeout=5,
    )
    job = f"/__local/rules/session-periodic-job-{stack['env']}/trigger"
    trigger = requests.post(control.control_url(stack, job), timeout=5)
    assert (stranger.status_code, page.status_code, trigger.status_code) == (403, 403, 403)
    assert control.control_headers(stack)[control.SECRET_HEADER] not in stranger.text + page.text
    assert control.post(stack, "/__local/faults", {}) == {"dropDisconnectFraction": 0.0}  # unchanged


def _calls(env: str) -> dict[str, Any]:
    heartbeat = f"session-heartbeat-handler-{env}"
    return {
        "dynamodb": lambda c: c.list_tables(),
        "lambda": lambda c: c.get_function_configuration(FunctionName=heartbeat),
        "lambda-invoke": lambda c: c.invoke(FunctionName=heartbeat, Payload=b"{}"),
        "apigatewaymanagementapi": lambda c: c.get_connection(ConnectionId="AAAAAAAAAAAAAAA="),
    }


@pytest.mark.parametrize("api", ["dynamodb", "lambda", "lambda-invoke", "apigatewaymanagementapi"])
def test_every_local_aws_api_refuses_unsigned_and_wrongly_signed_calls_as_aws_does(stack, api):
    service = api.removesuffix("-invoke")
    call = _calls(stack["env"])[api]
    once = {"retries": {"max_attempts": 1}}
    owner = owner_credentials(stack)
    callers = {
        "MissingAuthenticationTokenException": local_client(
            stack, service, config=Config(signature_version=UNSIGNED, **once)
        ),
        "UnrecognizedClientException": boto3.client(
            service,
            endpoint_url=local_client(stack, service).meta.endpoint_url,
            region_name=stack["region"],
            aws_access_key_id="AKIANEVERISSUED00000",
            aws_secret_access_key="whatever",
            config=Config(**once),
        ),
        "InvalidSignatureException": boto3.client(
            service,
            endpoint_url=local_client(stack, service).meta.endpoint_url,
            region_name=stack["region"],
            aws_access_key_id=owner["aws_access_key_id"],
            aws_secret_access_key=owner["aws_secret_access_key"] + "x",
            config=Config(**once),
        ),
    }
    for code, client in callers.items():
        with pytest.raises(ClientError) as refused:
            call(client)
        assert refused.value.response["Error"]["Code"] == code, (api, refused.value.response)
    try:  # the owner's own key is accepted (a connection that does not exist is simply gone)
        call(local_client(stack, service))
    except ClientError as error:
        assert error.response["Error"]["Code"] == "GoneException" and api == "apigatewaymanagementapi"
