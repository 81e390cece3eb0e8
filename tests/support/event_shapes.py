"""Every event the local gateway sent to a function, checked against Powertools for AWS Lambda's
parser models: an independent description of what API Gateway sends."""

from __future__ import annotations

import json
from pathlib import Path

from aws_lambda_powertools.utilities.parser.models import (
    APIGatewayProxyEventV2Model,
    APIGatewayWebSocketConnectEventModel,
    APIGatewayWebSocketDisconnectEventModel,
    APIGatewayWebSocketMessageEventModel,
)

MODELS = {
    "CONNECT": APIGatewayWebSocketConnectEventModel,
    "MESSAGE": APIGatewayWebSocketMessageEventModel,
    "DISCONNECT": APIGatewayWebSocketDisconnectEventModel,
}


def validate_recorded_events(path: Path) -> int:
    """Validate each recorded event; returns how many were checked. Raises on the first mismatch."""
    checked = 0
    if not path.exists():
        return 0
    for line in path.read_text().splitlines():
        event = json.loads(line)
        # HTTP API events (payload format 2.0) carry a version; WebSocket events an eventType.
        model = (
            APIGatewayProxyEventV2Model
            if event.get("version") == "2.0"
            else MODELS[event["requestContext"]["eventType"]]
        )
        model.model_validate(event)
        checked += 1
    return checked
