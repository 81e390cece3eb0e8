"""Functions as the template defines them: handler, code, environment, memory, timeout."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from local_stack.cloudformation.template import StackTemplate, TemplateError


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    name: str
    arn: str
    handler: str
    runtime: str
    code_path: Path
    memory_mb: int
    timeout_seconds: int
    environment: Mapping[str, str] = field(default_factory=dict)
    reserved_concurrency: int | None = None
    role_logical_id: str | None = None
    architectures: tuple[str, ...] = ("x86_64",)
    description: str = ""
    log_group: str = ""  # LoggingConfig.LogGroup; empty means Lambda's default /aws/lambda/<name>
    layers: tuple[Path, ...] = ()  # each layer's asset folder (the one holding `python/`), in order


def _asset_path(template: StackTemplate, logical_id: str) -> Path:
    metadata = template.resources[logical_id].metadata
    asset = metadata.get("aws:asset:path")
    if not asset:
        raise TemplateError(
            f"{logical_id} has no aws:asset:path metadata; synthesize with the CDK CLI "
            "(cdk.json enables aws:cdk:enable-asset-metadata)"
        )
    return (template.assembly_dir / str(asset)).resolve()


def _layer_paths(template: StackTemplate, layers: object) -> tuple[Path, ...]:
    """The asset folders of a function's layers. A layer from outside the template (a literal ARN)
    has no local copy, so it is refused rather than silently left out."""
    paths = []
    for layer in layers if isinstance(layers, list) else []:
        if not (isinstance(layer, dict) and "Ref" in layer):
            raise TemplateError(f"layer {layer!r} is not a layer of this template: it cannot be loaded locally")
        paths.append(_asset_path(template, str(layer["Ref"])))
    return tuple(paths)


def functions_from_template(template: StackTemplate) -> dict[str, FunctionSpec]:
    """Every AWS::Lambda::Function, keyed by its physical name."""
    specs: dict[str, FunctionSpec] = {}
    for resource in template.of_type("AWS::Lambda::Function"):
        props = resource.properties
        name = template.physical_id(resource.logical_id)
        variables = template.resolve(props.get("Environment", {}).get("Variables", {}))
        reserved = props.get("ReservedConcurrentExecutions")
        role = props.get("Role")
        log_group = template.resolve(props.get("LoggingConfig", {}).get("LogGroup", ""))
        role_logical_id = role["Fn::GetAtt"][0] if isinstance(role, dict) and "Fn::GetAtt" in role else None
        specs[name] = FunctionSpec(
            logical_id=resource.logical_id,
            name=name,
            arn=template.attribute(resource.logical_id, "Arn"),
            handler=props["Handler"],
            runtime=props.get("Runtime", "python3.11"),
            code_path=_asset_path(template, resource.logical_id),
            memory_mb=int(props.get("MemorySize", 128)),
            timeout_seconds=int(props.get("Timeout", 3)),
            environment={k: str(v) for k, v in variables.items() if v is not None},
            reserved_concurrency=int(reserved) if reserved is not None else None,
            role_logical_id=role_logical_id,
            architectures=tuple(props.get("Architectures", ["x86_64"])),
            description=str(template.resolve(props.get("Description", ""))),
            log_group=str(log_group or ""),
            layers=_layer_paths(template, props.get("Layers", [])),
        )
    return specs


def function_for_integration_uri(template: StackTemplate, uri: object) -> str:
    """The function name an AWS_PROXY integration URI points at (…/functions/<arn>/invocations)."""
    resolved = str(template.resolve(uri))
    marker = ":function:"
    if marker not in resolved:
        raise TemplateError(f"integration URI {resolved!r} does not name a Lambda function")
    return resolved.split(marker, 1)[1].split("/", 1)[0]
