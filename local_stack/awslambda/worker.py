"""One execution environment: imports the handler once (the cold start), then serves invocations.

The protocol runs over the process's original stdout (kept on a private descriptor) and stdin,
one JSON document per line. The handler's own prints and logs go to the function's log file,
as they go to CloudWatch in Lambda, so they can never corrupt the protocol.
"""

from __future__ import annotations

import ctypes
import decimal
import importlib
import json
import math
import os
import secrets
import signal
import stat
import sys
import time
import traceback
import uuid
from typing import Any


class CognitoIdentity:
    """`context.identity`: always an object in the Python runtime, its fields None unless a mobile
    SDK invoked the function with a Cognito identity (never here)."""

    __slots__ = ("cognito_identity_id", "cognito_identity_pool_id")

    def __init__(self) -> None:
        self.cognito_identity_id: str | None = None
        self.cognito_identity_pool_id: str | None = None


class LambdaContext:
    """Lambda's context object as the Python runtime builds it (awslambdaric's lambda_context)."""

    def __init__(self, request_id: str, deadline_ms: int) -> None:
        self.aws_request_id = request_id
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.invoked_function_arn = os.environ.get("LOCAL_LAMBDA_FUNCTION_ARN", "")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = CognitoIdentity()
        self.client_context = None  # only mobile SDK invocations carry one
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))

    def log(self, message: object) -> None:
        """The runtime writes `str(message)` to the function's log as it is, adding no newline."""
        sys.stdout.write(str(message))
        sys.stdout.flush()


def _decimal_as_number(value: object) -> object:
    """The Python runtime's encoder (awslambdaric's lambda_runtime_marshaller) writes a Decimal's own
    digits as a JSON number (NaN as NaN); decoding those digits gives what a caller receives:
    `10` an int, `1.50` or `1E+2` a float. Anything else JSON cannot encode raises TypeError."""
    if isinstance(value, decimal.Decimal):
        return math.nan if value.is_nan() else json.loads(str(value))
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def marshal_response(result: Any) -> dict[str, Any] | str:
    """The protocol line for a handler's result: `{"result": …}` as JSON text, or the runtime's
    Runtime.MarshalError (which callers see as a failed invocation, as they do in Lambda)."""
    try:
        return '{"result": ' + json.dumps(result, default=_decimal_as_number) + "}"
    except (TypeError, ValueError) as exc:
        return {"errorType": "Runtime.MarshalError", "errorMessage": f"Unable to marshal response: {exc}"}


def trace_id() -> str:
    """An X-Ray trace header as Lambda sets `_X_AMZN_TRACE_ID` per invocation (not sampled locally)."""
    root = f"1-{int(time.time()):08x}-{secrets.token_hex(12)}"
    return f"Root={root};Parent={secrets.token_hex(8)};Sampled=0"


class InitError(Exception):
    """The init phase failed; `error` is what every invocation of this environment answers."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error = {"errorType": error_type, "errorMessage": message}


def load_handler(handler: str) -> Any:
    """Import the handler as the Python runtime (awslambdaric) does, failing with its error types
    and messages: an ImportError is Runtime.ImportModuleError, a SyntaxError
    Runtime.UserCodeSyntaxError, a missing function Runtime.HandlerNotFound, any other exception
    raised at import its own type."""
    module_name, _, function_name = handler.rpartition(".")
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as exc:
        raise InitError("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}") from exc
    except SyntaxError as exc:
        raise InitError("Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {exc}") from exc
    except Exception as exc:
        raise InitError(type(exc).__name__, str(exc)) from exc
    if not hasattr(module, function_name):
        raise InitError("Runtime.HandlerNotFound", f"Handler '{function_name}' missing on module '{module_name}'")
    return getattr(module, function_name)


def open_log(path: str) -> int:
    """The function's log, 0600 from creation: handler output can carry tokens. (Stdlib only, as
    the worker imports nothing of the stack; `local_stack.private_files` does the same.) A log
    left wider by an older stack is narrowed; `/dev/null` and the like are left alone."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    mode = os.fstat(fd).st_mode
    if stat.S_ISREG(mode) and stat.S_IMODE(mode) & 0o077:
        os.fchmod(fd, 0o600)
    return fd


def die_with_the_gateway() -> None:
    """Frozen between invocations (SIGSTOP), a worker cannot see its stdin close when the gateway
    dies; the kernel kills it instead (PR_SET_PDEATHSIG with SIGKILL, which a stopped process gets)."""
    parent = os.getppid()
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG (Linux)
    except (AttributeError, OSError):
        return
    if os.getppid() != parent:  # the gateway died before the call: nobody will signal us
        os._exit(1)


def main() -> None:
    die_with_the_gateway()
    protocol_out = os.fdopen(os.dup(1), "w", buffering=1)
    log_fd = open_log(os.environ["LOCAL_LAMBDA_LOG_FILE"])
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    sys.stdout = os.fdopen(1, "w", buffering=1)
    sys.stderr = os.fdopen(2, "w", buffering=1)
    # The task root, the layers and the runtime's boto3, ahead of the standard library (see layers.py).
    sys.path[:0] = json.loads(sys.argv[1]) if len(sys.argv) > 1 else [os.environ["LAMBDA_TASK_ROOT"]]

    try:
        handler = load_handler(os.environ["_HANDLER"])
        init_error: dict[str, str] | None = None
    except InitError as exc:  # reported on the invocation; the pool then discards this environment
        traceback.print_exc()
        handler, init_error = None, exc.error
    protocol_out.write(json.dumps({"ready": init_error is None}) + "\n")

    for line in sys.stdin:
        request = json.loads(line)
        request_id = request.get("requestId") or str(uuid.uuid4())
        context = LambdaContext(request_id, int(request["deadlineMs"]))
        os.environ["_X_AMZN_TRACE_ID"] = trace_id()
        print(f"START RequestId: {request_id} Version: $LATEST")
        started = time.monotonic()
        if init_error is not None or handler is None:
            response: dict[str, Any] | str = dict(init_error or {})
        else:
            try:
                response = marshal_response(handler(request["event"], context))
            except Exception as exc:
                traceback.print_exc()
                response = {"errorType": type(exc).__name__, "errorMessage": str(exc)}
        elapsed_ms = (time.monotonic() - started) * 1000
        print(f"END RequestId: {request_id}\nREPORT RequestId: {request_id} Duration: {elapsed_ms:.2f} ms")
        protocol_out.write((response if isinstance(response, str) else json.dumps(response)) + "\n")


if __name__ == "__main__":
    main()
