"""The WebSocket API as the template declares it: routes, integrations, route responses, authorizer, stage."""

from __future__ import annotations

from dataclasses import dataclass, field

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


def _refers_to(template: StackTemplate, value: object, logical_id: str) -> bool:
    return bool(template.resolve(value) == template.physical_id(logical_id))


def _children(template: StackTemplate, resource_type: str, api_logical_id: str) -> list[Resource]:
    return [
        r for r in template.of_type(resource_type) if _refers_to(template, r.properties.get("ApiId"), api_logical_id)
    ]


def websocket_apis(template: StackTemplate) -> list[WebSocketApi]:
    apis = []
    for api in template.of_type("AWS::ApiGatewayV2::Api"):
        if api.properties.get("ProtocolType") != "WEBSOCKET":
            continue
        apis.append(_build_api(template, api))
    return apis


def _build_api(template: StackTemplate, api: Resource) -> WebSocketApi:
    api_id = template.physical_id(api.logical_id)
    integrations = {
        r.logical_id: function_for_integration_uri(template, r.properties["IntegrationUri"])
        for r in _children(template, "AWS::ApiGatewayV2::Integration", api.logical_id)
        if r.properties.get("IntegrationType") == "AWS_PROXY"
    }
    authorizers = {
        r.logical_id: Authorizer(
            authorizer_id=template.physical_id(r.logical_id),
            name=str(template.resolve(r.properties.get("Name", r.logical_id))),
            function_name=function_for_integration_uri(template, r.properties["AuthorizerUri"]),
            identity_sources=tuple(r.properties.get("IdentitySource", [])),
        )
        for r in _children(template, "AWS::ApiGatewayV2::Authorizer", api.logical_id)
        if r.properties.get("AuthorizerType") == "REQUEST"
    }
    route_responses = {
        template.resolve(r.properties["RouteId"])
        for r in _children(template, "AWS::ApiGatewayV2::RouteResponse", api.logical_id)
    }
    routes: dict[str, Route] = {}
    for r in _children(template, "AWS::ApiGatewayV2::Route", api.logical_id):
        props = r.properties
        target = str(template.resolve(props.get("Target", "")))
        integration_logical = next((lid for lid in integrations if target.endswith(template.physical_id(lid))), None)
        authorizer_ref = props.get("AuthorizerId")
        authorizer = None
        if authorizer_ref is not None:
            ref = authorizer_ref.get("Ref") if isinstance(authorizer_ref, dict) else None
            if ref not in authorizers:
                raise TemplateError(f"route {props['RouteKey']} refers to an unknown authorizer {authorizer_ref}")
            authorizer = authorizers[ref]
        key = str(props["RouteKey"])
        routes[key] = Route(
            key=key,
            function_name=integrations.get(integration_logical) if integration_logical else None,
            authorization_type=str(props.get("AuthorizationType", "NONE")),
            authorizer=authorizer,
            returns_response=bool(props.get("RouteResponseSelectionExpression"))
            and template.physical_id(r.logical_id) in route_responses,
        )
    stages: dict[str, Stage] = {}
    for s in _children(template, "AWS::ApiGatewayV2::Stage", api.logical_id):
        settings = s.properties.get("DefaultRouteSettings", {})
        name = str(template.resolve(s.properties["StageName"]))
        stages[name] = Stage(
            name=name,
            throttling_rate_limit=settings.get("ThrottlingRateLimit"),
            throttling_burst_limit=settings.get("ThrottlingBurstLimit"),
        )
    return WebSocketApi(
        logical_id=api.logical_id,
        api_id=api_id,
        name=str(template.resolve(api.properties.get("Name", api.logical_id))),
        route_selection_expression=str(api.properties.get("RouteSelectionExpression", "$request.body.action")),
        routes=routes,
        stages=stages,
    )
