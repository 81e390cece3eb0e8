"""The HTTP session API behind API Gateway's JWT authorizer (payload format 2.0).

API Gateway has verified the Cognito token before this runs; the caller is its `sub` claim.
`/sessions/{id}` answers 404 alike for an unknown session and for someone else's, so it gives no
existence answers and needs no share of the per-address existence bound (see abuse_limits).
Errors use the same contract as the WebSocket routes (contracts/schemas/error.schema.json).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError

from session_management import messages, sessions_api
from session_management.dependencies import build_during_init, dependencies
from session_management.errors import ErrorCode, ServiceError
from session_management.metrics import metrics, record_error
from session_management.observability import log_unexpected, logger

app = APIGatewayHttpResolver()
JSON = "application/json"
HttpResponse = Response[Any]


def _json(status: int, body: dict[str, Any] | None) -> HttpResponse:
    return Response(status_code=status, content_type=JSON, body=body)


def _user_id() -> str:
    claims = app.current_event.request_context.authorizer.jwt_claim or {}
    user_id = claims.get("sub")
    if not isinstance(user_id, str) or not user_id:
        # Only reachable if the route lost its authorizer: refuse rather than serve anonymous callers.
        raise ServiceError(ErrorCode.UNAUTHORIZED, "A Cognito ID token is required")
    return user_id


def _websocket_endpoint() -> str:
    """Where broadcasts go until the speaker connects (then it is the speaker's own endpoint)."""
    return dependencies().settings.websocket_management_endpoint


@app.post("/sessions")
def create_session() -> HttpResponse:
    deps = dependencies()
    body = sessions_api.create(
        app.current_event.body, _user_id(), _websocket_endpoint(), deps.repositories, deps.settings
    )
    return _json(201, body)


@app.get("/sessions")
def list_sessions() -> HttpResponse:
    query = app.current_event.query_string_parameters or {}
    deps = dependencies()
    listing = sessions_api.list_own(
        _user_id(), query.get("limit"), query.get("nextToken"), deps.repositories, deps.settings
    )
    return _json(200, listing)


@app.get("/sessions/<session_id>")
def get_session(session_id: str) -> HttpResponse:
    deps = dependencies()
    return _json(200, sessions_api.get(session_id, _user_id(), deps.repositories, deps.settings))


@app.patch("/sessions/<session_id>")
def update_session(session_id: str) -> HttpResponse:
    deps = dependencies()
    body = sessions_api.update(
        session_id, app.current_event.body, _user_id(), deps.repositories, deps.settings, deps.listeners
    )
    return _json(200, body)


@app.delete("/sessions/<session_id>")
def delete_session(session_id: str) -> HttpResponse:
    deps = dependencies()
    sessions_api.delete(session_id, _user_id(), deps.repositories, deps.listeners)
    return Response(status_code=204)


@app.exception_handler(ServiceError)  # type: ignore[untyped-decorator]
def refused(error: ServiceError) -> HttpResponse:
    logger.info("refused", extra={"code": error.code.value, "route": app.current_event.route_key})
    record_error(error.code.value)
    response = _json(error.code.http_status, messages.from_service_error(error))
    if error.retry_after:
        response.headers["Retry-After"] = str(error.retry_after)
    return response


@app.not_found
def not_found(_: NotFoundError) -> HttpResponse:
    return _json(404, messages.error(ErrorCode.INVALID_PARAMETER, "No such resource", parameter="path"))


@app.exception_handler(Exception)  # type: ignore[untyped-decorator]
def unexpected(exc: Exception) -> HttpResponse:
    log_unexpected(exc)
    return _json(500, messages.error(ErrorCode.INTERNAL_ERROR, "Internal error; retry later"))


build_during_init(repositories=True, connections_api=True)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
