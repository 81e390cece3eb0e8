"""A stack on fixed ports publishes the same endpoints after a restart; a second one on the same
ports fails to start and says which port is taken; the start reports its steps as it goes."""

from __future__ import annotations

from pathlib import Path

import pytest

from local_stack import cli
from local_stack.processes import free_port
from local_stack.supervisor import LocalStackOptions

pytestmark = pytest.mark.e2e
ENDPOINTS = ("websocketUrl", "websocketTlsUrl", "managementApiUrl", "httpApiUrl", "dynamodbEndpoint", "lambdaEndpoint")


def _options(state_dir: Path, ports: dict[str, int]) -> LocalStackOptions:
    return LocalStackOptions(state_dir=str(state_dir), warm_functions=False, **ports)


def test_the_endpoints_survive_a_restart_and_a_taken_port_is_named(tmp_path):
    ports = {name: free_port() for name in ("gateway_port", "tls_port", "cognito_port", "proxy_port", "dynamodb_port")}
    steps: list[str] = []
    first = cli.start(_options(tmp_path / "one", ports), on_progress=steps.append)
    # `make local-up` says which part it is starting while it waits (each step once, in order).
    expected = ["DynamoDB Local and Cognito", "tables", "IAM proxy", "gateway process"]
    assert [next(i for i, line in enumerate(steps) if part in line) for part in expected] == sorted(
        next(i for i, line in enumerate(steps) if part in line) for part in expected
    ), steps
    assert len(steps) == len(set(steps)) and all(line.startswith("[") for line in steps)
    try:
        with pytest.raises(cli.LocalStackError) as refused:  # the same ports, another stack
            cli.start(_options(tmp_path / "two", ports))
        assert "is already in use" in str(refused.value) and "port" in str(refused.value)
    finally:
        cli.stop(tmp_path / "one")
    again = cli.start(_options(tmp_path / "one", ports))
    try:
        assert {k: again[k] for k in ENDPOINTS} == {k: first[k] for k in ENDPOINTS}
        assert again["cognito"]["endpoint"] == first["cognito"]["endpoint"]
        assert f":{ports['gateway_port']}/" in again["websocketUrl"]
    finally:
        cli.stop(tmp_path / "one")
