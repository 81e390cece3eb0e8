"""API Gateway for the template's WebSocket and HTTP APIs.

`websocket_api.py` / `http_api.py` read what the template declares; `models.py` holds connection
state; `gateway.py` behaves as API Gateway; `responses.py` is the WebSocket API on the wire;
`http_gateway.py` serves the HTTP API.
"""
