"""One execution environment: imports the handler once (the cold start), then serves invocations.

The protocol runs over the process's original stdout (kept on a private descriptor) and stdin,
one JSON document per line. The handler's own prints and logs go to the function's log file,
as they go to CloudWatch in Lambda, so they can never corrupt the protocol.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
import uuid
from typing import Any


class LambdaContext:
    """The attributes of Lambda's context object that handlers and Powertools read."""

    def __init__(self, request_id: str, deadline_ms: int) -> None:
        self.aws_request_id = request_id
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.invoked_function_arn = os.environ.get("LOCAL_LAMBDA_FUNCTION_ARN", "")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


def _load_handler(handler: str) -> Any:
    module_name, _, function_name = handler.rpartition(".")
    return getattr(importlib.import_module(module_name), function_name)


def main() -> None:
    protocol_out = os.fdopen(os.dup(1), "w", buffering=1)
    log_path = os.environ["LOCAL_LAMBDA_LOG_FILE"]
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    sys.stdout = os.fdopen(1, "w", buffering=1)
    sys.stderr = os.fdopen(2, "w", buffering=1)
    sys.path.insert(0, os.environ["LAMBDA_TASK_ROOT"])

    try:
        handler = _load_handler(os.environ["_HANDLER"])
        init_error = None
    except Exception as exc:  # an import error is reported on every invocation, as Lambda does
        traceback.print_exc()
        handler, init_error = None, exc
    protocol_out.write(json.dumps({"ready": init_error is None}) + "\n")

    for line in sys.stdin:
        request = json.loads(line)
        request_id = request.get("requestId") or str(uuid.uuid4())
        context = LambdaContext(request_id, int(request["deadlineMs"]))
        print(f"START RequestId: {request_id} Version: $LATEST")
        started = time.monotonic()
        if init_error is not None or handler is None:
            response: dict[str, Any] = {
                "errorType": "Runtime.ImportModuleError",
                "errorMessage": f"Unable to import module: {init_error}",
            }
        else:
            try:
                response = {"result": handler(request["event"], context)}
            except Exception as exc:
                traceback.print_exc()
                response = {"errorType": type(exc).__name__, "errorMessage": str(exc)}
        elapsed_ms = (time.monotonic() - started) * 1000
        print(f"END RequestId: {request_id}\nREPORT RequestId: {request_id} Duration: {elapsed_ms:.2f} ms")
        try:
            protocol_out.write(json.dumps(response, default=str) + "\n")
        except (TypeError, ValueError) as exc:
            protocol_out.write(json.dumps({"errorType": "Runtime.MarshalError", "errorMessage": str(exc)}) + "\n")


if __name__ == "__main__":
    main()
