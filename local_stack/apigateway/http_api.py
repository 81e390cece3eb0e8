"""HTTP APIs as the template declares them: routes, their Lambda integrations and JWT authorizers."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from local_stack.awslambda.models import function_for_integration_uri
from local_stack.cloudformation.template import Resource, StackTemplate


@dataclass(frozen=True)
class JwtAuthorizer:
    name: str
    issuer: str
    audience: tuple[str, ...]
    identity_source: str = "$request.header.Authorization"


@dataclass(frozen=True)
class HttpRoute:
    method: str  # "ANY" matches every method
    path: str
    function_name: str | None
    authorizer: JwtAuthorizer | None = None
    _pattern: re.Pattern[str] = field(default=re.compile(""), compare=False)

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if self.method not in ("ANY", method):
            return None
        found = self._pattern.fullmatch(path)
        return found.groupdict() if found else None


@dataclass(frozen=True)
class HttpApi:
    api_id: str
    name: str
    routes: tuple[HttpRoute, ...]

    def route_for(self, method: str, path: str) -> tuple[HttpRoute, dict[str, str]] | None:
        """API Gateway prefers the most specific route: literal segments before parameters."""
        candidates = []
        for route in self.routes:
            params = route.match(method, path)
            if params is not None:
                candidates.append((route.path.count("{"), route.method == "ANY", route, params))
        if not candidates:
            return None
        _, _, route, params = min(candidates, key=lambda c: (c[0], c[1]))
        return route, params


def _path_pattern(path: str) -> re.Pattern[str]:
    """`/sessions/{sessionId}` -> one segment per parameter; `{proxy+}` takes the rest."""
    parts = []
    for segment in path.strip("/").split("/"):
        if segment.startswith("{") and segment.endswith("+}"):
            parts.append(f"(?P<{segment[1:-2]}>.+)")
        elif segment.startswith("{") and segment.endswith("}"):
            parts.append(f"(?P<{segment[1:-1]}>[^/]+)")
        else:
            parts.append(re.escape(segment))
    return re.compile("/" + "/".join(parts))


def _children(template: StackTemplate, resource_type: str, api: Resource) -> list[Resource]:
    return template.referring_to(resource_type, "ApiId", api.logical_id)


def http_apis(template: StackTemplate) -> list[HttpApi]:
    return [
        HttpApi(
            api_id=template.physical_id(api.logical_id),
            name=str(template.resolve(api.properties.get("Name", api.logical_id))),
            routes=_routes(template, api),
        )
        for api in template.of_type("AWS::ApiGatewayV2::Api")
        if api.properties.get("ProtocolType") == "HTTP"
    ]


def _integrations(template: StackTemplate, api: Resource) -> dict[str, str]:
    """Integration id -> the function it proxies to."""
    return {
        template.physical_id(r.logical_id): function_for_integration_uri(template, r.properties["IntegrationUri"])
        for r in _children(template, "AWS::ApiGatewayV2::Integration", api)
        if r.properties.get("IntegrationType") == "AWS_PROXY"
    }


def _authorizers(template: StackTemplate, api: Resource) -> dict[str, JwtAuthorizer]:
    authorizers = {}
    for r in _children(template, "AWS::ApiGatewayV2::Authorizer", api):
        if r.properties.get("AuthorizerType") != "JWT":
            continue
        jwt = r.properties["JwtConfiguration"]
        authorizers[template.physical_id(r.logical_id)] = JwtAuthorizer(
            name=str(template.resolve(r.properties.get("Name", r.logical_id))),
            issuer=str(template.resolve(jwt["Issuer"])),
            audience=tuple(str(a) for a in template.resolve(jwt.get("Audience", []))),
            identity_source=str(r.properties.get("IdentitySource", ["$request.header.Authorization"])[0]),
        )
    return authorizers


def _routes(template: StackTemplate, api: Resource) -> tuple[HttpRoute, ...]:
    integrations = _integrations(template, api)
    authorizers = _authorizers(template, api)
    routes = []
    for r in _children(template, "AWS::ApiGatewayV2::Route", api):
        props = r.properties
        method, _, path = str(props["RouteKey"]).partition(" ")
        target = str(template.resolve(props.get("Target", "")))
        function = next((fn for integration, fn in integrations.items() if target.endswith(integration)), None)
        authorizer = None
        if props.get("AuthorizationType") == "JWT":
            authorizer = authorizers.get(str(template.resolve(props.get("AuthorizerId"))))
        routes.append(
            HttpRoute(
                method=method,
                path=path or "/",
                function_name=function,
                authorizer=authorizer,
                _pattern=_path_pattern(path or "/"),
            )
        )
    return tuple(routes)
