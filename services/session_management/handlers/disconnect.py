"""`$disconnect`: best effort in AWS (it may never come), so cleanup here must be idempotent and
the periodic reconcile job covers the connections it misses."""

from __future__ import annotations

from typing import Any

from session_management import lifecycle
from session_management.dependencies import build_during_init, dependencies
from session_management.errors import ServiceError
from session_management.observability import hash_id, log_unexpected, logger

build_during_init(repositories=True, connections_api=True)


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request_context = event["requestContext"]
    connection_id = request_context["connectionId"]
    try:
        deps = dependencies()
        outcome = lifecycle.disconnect(connection_id, deps.repositories, deps.settings, deps.listeners)
    except ServiceError as error:
        logger.warning("disconnect cleanup deferred", extra={"code": error.code.value})
        return {"statusCode": 200}
    except Exception as exc:
        log_unexpected(exc)
        return {"statusCode": 200}
    logger.info(
        "disconnected",
        extra={
            "connection": hash_id(connection_id),
            "outcome": outcome,
            "closeCode": request_context.get("disconnectStatusCode"),
        },
    )
    return {"statusCode": 200}
