"""`make local-up` listens on fixed ports; a taken one is an error naming it, never a silent swap."""

from __future__ import annotations

import socket

import pytest

from local_stack.cli import DEFAULT_PORTS, default_ports
from local_stack.processes import free_port
from local_stack.supervisor import PortTaken, _port


def test_the_defaults_are_fixed_and_each_can_be_moved_by_its_variable():
    assert default_ports({}) == {
        "gateway_port": 4510,
        "tls_port": 4520,
        "cognito_port": 4530,
        "proxy_port": 4540,
        "dynamodb_port": 4550,
    }
    moved = default_ports({"LOCAL_GATEWAY_PORT": "5510"})
    assert moved["gateway_port"] == 5510 and moved["tls_port"] == 4520
    assert len({default for _, default in DEFAULT_PORTS.values()}) == len(DEFAULT_PORTS)


def test_a_fixed_port_that_is_taken_stops_the_start_naming_it():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        with pytest.raises(PortTaken) as refused:
            _port(taken, "127.0.0.1", "gateway")
        assert f"gateway port {taken} is already in use" in str(refused.value)


def test_a_free_fixed_port_is_used_and_zero_takes_any_free_one():
    fixed = free_port()
    assert _port(fixed, "127.0.0.1", "gateway") == fixed
    assert _port(0, "127.0.0.1", "gateway") > 0
