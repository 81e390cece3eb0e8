"""Small process and network helpers shared by the parts of the local stack."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    """Poll a readiness predicate; bounded in time so a broken part cannot hang `local-up`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


class WithoutRequestDetails(logging.Filter):
    """aiohttp's request errors name the client's address and carry a traceback that can quote the
    request (tokens): the local stack logs only the kind of error."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            record.msg, record.args = "error handling a request: %s", (type(record.exc_info[1]).__name__,)
        else:
            record.msg, record.args = "error handling a request", ()
        record.exc_info, record.exc_text = None, None
        return True


def quiet_request_errors() -> None:
    logging.getLogger("aiohttp.server").addFilter(WithoutRequestDetails())
