"""The WebSocket API as the template declares it: routes, integrations, route responses, authorizer, stage."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from local_stack.awslambda.models import function_for_integration_uri
from local_stack.cloudformation.template import Resource, StackTemplate, TemplateError


@dataclass(frozen=True)
class Authorizer:
    authorizer_id: str
    name: str
    function_name: str
    identity_sources: tuple[str, ...]


@dataclass(frozen=True)
class Route:
    key: str
    function_name: str | None
    authorization_type: str = "NONE"
    authorizer: Authorizer | None = None
    # A return value reaches the client only if the route declares a route response.
    returns_response: bool = False


@dataclass(frozen=True)
class Stage:
    name: str
    throttling_rate_limit: float | None = None
    throttling_burst_limit: int | None = None


@dataclass(frozen=True)
class WebSocketApi:
    logical_id: str
    api_id: str
    name: str
    route_selection_expression: str
    routes: dict[str, Route] = field(default_factory=dict)
    stages: dict[str, Stage] = field(default_factory=dict)

    def route_for(self, route_key: str) -> Route | None:
        return self.routes.get(route_key)

    def select_route(self, body: str) -> Route | None:
        """Route selection by the API's expression (`$request.body.<path>`), else `$default`.

        A selected key naming a reserved route (`$connect`, ...) also falls back to `$default`.
        """
        expression = self.route_selection_expression
        key: Any = None
        if expression.startswith("$request.body."):
            try:
                value: Any = json.loads(body)
                for part in expression.removeprefix("$request.body.").split("."):
                    value = value.get(part) if isinstance(value, dict) else None
                key = value
            except (ValueError, RecursionError):
                key = None
        if isinstance(key, str) and key in self.routes and not key.startswith("$"):
            return self.routes[key]
        return self.route_for("$default")


def websocket_apis(template: StackTemplate) -> list[WebSocketApi]:
    return [
        _build_api(template, api)
        for api in template.of_type("AWS::ApiGatewayV2::Api")
        if api.properties.get("ProtocolType") == "WEBSOCKET"
    ]


def _children(template: StackTemplate, resource_type: str, api: Resource) -> list[Resource]:
    return template.referring_to(resource_type, "ApiId", api.logical_id)


def _build_api(template: StackTemplate, api: Resource) -> WebSocketApi:
    return WebSocketApi(
        logical_id=api.logical_id,
        api_id=template.physical_id(api.logical_id),
        name=str(template.resolve(api.properties.get("Name", api.logical_id))),
        route_selection_expression=str(api.properties.get("RouteSelectionExpression", "$request.body.action")),
        routes=_routes(template, api),
        stages=_stages(template, api),
    )


def _integrations(template: StackTemplate, api: Resource) -> dict[str, str]:
    """Integration logical id -> the function it proxies to."""
    return {
        r.logical_id: function_for_integration_uri(template, r.properties["IntegrationUri"])
        for r in _children(template, "AWS::ApiGatewayV2::Integration", api)
        if r.properties.get("IntegrationType") == "AWS_PROXY"
    }


def _authorizers(template: StackTemplate, api: Resource) -> dict[str, Authorizer]:
    return {
        r.logical_id: Authorizer(
            authorizer_id=template.physical_id(r.logical_id),
            name=str(template.resolve(r.properties.get("Name", r.logical_id))),
            function_name=function_for_integration_uri(template, r.properties["AuthorizerUri"]),
            identity_sources=tuple(r.properties.get("IdentitySource", [])),
        )
        for r in _children(template, "AWS::ApiGatewayV2::Authorizer", api)
        if r.properties.get("AuthorizerType") == "REQUEST"
    }


def _routes(template: StackTemplate, api: Resource) -> dict[str, Route]:
    integrations = _integrations(template, api)
    authorizers = _authorizers(template, api)
    route_responses = {
        template.resolve(r.properties["RouteId"]) for r in _children(template, "AWS::ApiGatewayV2::RouteResponse", api)
    }
    routes: dict[str, Route] = {}
    for r in _children(template, "AWS::ApiGatewayV2::Route", api):
        props = r.properties
        target = str(template.resolve(props.get("Target", "")))
        integration_logical = next((lid for lid in integrations if target.endswith(template.physical_id(lid))), None)
        key = str(props["RouteKey"])
        routes[key] = Route(
            key=key,
            function_name=integrations.get(integration_logical) if integration_logical else None,
            authorization_type=str(props.get("AuthorizationType", "NONE")),
            authorizer=_route_authorizer(props, authorizers),
            returns_response=bool(props.get("RouteResponseSelectionExpression"))
            and template.physical_id(r.logical_id) in route_responses,
        )
    return routes


def _route_authorizer(props: Mapping[str, Any], authorizers: dict[str, Authorizer]) -> Authorizer | None:
    authorizer_ref = props.get("AuthorizerId")
    if authorizer_ref is None:
        return None
    ref = authorizer_ref.get("Ref") if isinstance(authorizer_ref, dict) else None
    if ref not in authorizers:
        raise TemplateError(f"route {props['RouteKey']} refers to an unknown authorizer {authorizer_ref}")
    return authorizers[ref]


def _stages(template: StackTemplate, api: Resource) -> dict[str, Stage]:
    stages: dict[str, Stage] = {}
    for s in _children(template, "AWS::ApiGatewayV2::Stage", api):
        settings = s.properties.get("DefaultRouteSettings", {})
        name = str(template.resolve(s.properties["StageName"]))
        stages[name] = Stage(
            name=name,
            throttling_rate_limit=settings.get("ThrottlingRateLimit"),
            throttling_burst_limit=settings.get("ThrottlingBurstLimit"),
        )
    return stages
