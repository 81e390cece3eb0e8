"""What a local function can import is what Lambda gives it: its code, its layers and the runtime's
boto3, never the project's venv (issue 13, "What a function can import")."""

from __future__ import annotations

import asyncio
import json
import platform
import textwrap
import tomllib
from pathlib import Path
from typing import Any

import pytest

from local_stack.awslambda.layers import (
    HOST_LAYER_BUILDS,
    RUNTIME_SDK_DIR,
    LayerError,
    import_path,
    loadable_layer,
)
from local_stack.awslambda.models import FunctionSpec, functions_from_template
from local_stack.awslambda.pool import FunctionPool
from local_stack.cloudformation.template import StackTemplate

ROOT = Path(__file__).resolve().parents[3]
PROBE = textwrap.dedent(
    """
    import importlib
    import sys

    def handler(event, context):
        module = importlib.import_module(event["module"])
        return {"file": getattr(module, "__file__", None), "version": getattr(module, "__version__", None)}
    """
)


def runtime_sdk_pin() -> str:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = dict(r.split("==") for r in project["optional-dependencies"]["lambda-runtime-sdk"])
    return pins["boto3"]


def spec(code: Path, handler: str = "probe.handler", layers: tuple[Path, ...] = ()) -> FunctionSpec:
    arn = "arn:aws:lambda:us-east-1:000000000000:function:probe"
    return FunctionSpec("Probe", "probe", arn, handler, "python3.11", code, 128, 10, {}, layers=layers)


def invoke(pool: FunctionPool, *events: dict[str, Any]) -> list[Any]:
    async def main() -> list[Any]:
        try:
            return [await pool.invoke(event) for event in events]
        finally:
            pool.shutdown()
            await asyncio.sleep(0.2)

    return asyncio.run(main())


@pytest.fixture
def code(tmp_path: Path) -> Path:
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "probe.py").write_text(PROBE)
    return tmp_path / "code"


@pytest.fixture(scope="module")
def deployed_layer() -> Path:
    """The synthesized template's layer asset: what the stage deploys (arm64)."""
    template = StackTemplate.load(ROOT / "cdk.out", "SessionManagement-local", "us-east-1")
    layers = {layer for function in functions_from_template(template).values() for layer in function.layers}
    assert len(layers) == 1
    return layers.pop()


def test_a_package_of_the_venv_the_layer_lacks_fails_to_import_as_in_lambda(code, tmp_path, deployed_layer):
    """Powertools' parser needs pydantic: the venv has it, the layer does not, so in Lambda the
    function dies with Runtime.ImportModuleError. It does here too, every invocation."""
    (code / "parsing.py").write_text("from aws_lambda_powertools.utilities.parser import parse\nhandler = None\n")
    pool = FunctionPool(spec(code, "parsing.handler", (deployed_layer,)), {}, tmp_path, 1)
    for result in invoke(pool, {}, {}):
        assert result.error_type == "Runtime.ImportModuleError"
        assert result.error_message == "Unable to import module 'parsing': No module named 'pydantic'"


@pytest.mark.parametrize("module", ["moto", "requests", "aiohttp", "jsonschema", "hypothesis", "local_stack"])
def test_nothing_of_the_venv_or_the_project_is_importable(code, tmp_path, module):
    result = invoke(FunctionPool(spec(code), {}, tmp_path, 1), {"module": module})[0]
    assert result.error_type == "ModuleNotFoundError" and module in result.error_message


def test_boto3_is_the_runtimes_pinned_version_not_the_venvs(code, tmp_path):
    boto3, botocore = invoke(FunctionPool(spec(code), {}, tmp_path, 1), {"module": "boto3"}, {"module": "botocore"})
    assert boto3.payload["version"] == botocore.payload["version"] == runtime_sdk_pin()
    assert Path(boto3.payload["file"]).is_relative_to(RUNTIME_SDK_DIR)


def test_the_layers_packages_come_from_the_layer_built_for_this_machine(code, tmp_path, deployed_layer):
    pool = FunctionPool(spec(code, layers=(deployed_layer,)), {}, tmp_path, 1)
    jwt, powertools = invoke(pool, {"module": "jwt"}, {"module": "aws_lambda_powertools"})
    loaded_from = loadable_layer(deployed_layer, HOST_LAYER_BUILDS)
    assert Path(jwt.payload["file"]).is_relative_to(loaded_from / "python")
    assert Path(powertools.payload["file"]).is_relative_to(loaded_from / "python")
    # The deployed layer is arm64: on any other machine its stand-in is loaded, never the venv.
    assert (loaded_from == deployed_layer) == (platform.machine() in ("aarch64", "arm64"))


def test_the_import_path_is_task_root_then_layers_then_the_runtime(code, deployed_layer):
    entries = import_path(code, (deployed_layer,)).entries
    assert entries[0] == code and entries[-1] == RUNTIME_SDK_DIR
    assert all(entry.is_relative_to(loadable_layer(deployed_layer, HOST_LAYER_BUILDS)) for entry in entries[1:-1])


def _fake_layer(root: Path, requirements: str, wheel_tag: str) -> Path:
    dist_info = root / "python" / "pkg-1.0.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "WHEEL").write_text(f"Wheel-Version: 1.0\nTag: {wheel_tag}\n")
    (root / "requirements.txt").write_text(requirements)
    return root


def test_a_foreign_architecture_layer_needs_a_build_of_the_same_requirements(tmp_path):
    arm = _fake_layer(tmp_path / "arm", "pkg==1.0\n", "cp311-cp311-manylinux_2_17_aarch64")
    same = _fake_layer(tmp_path / "same", "pkg==1.0\n", "cp311-cp311-manylinux_2_17_x86_64")
    other = _fake_layer(tmp_path / "other", "pkg==2.0\n", "cp311-cp311-manylinux_2_17_x86_64")
    assert loadable_layer(arm, [other, same], machine="x86_64") == same
    assert loadable_layer(arm, [same], machine="aarch64") == arm
    with pytest.raises(LayerError, match="make layer"):
        loadable_layer(arm, [other], machine="x86_64")
    pure = _fake_layer(tmp_path / "pure", "pkg==1.0\n", "py3-none-any")
    assert loadable_layer(pure, [], machine="x86_64") == pure


def test_a_layer_from_outside_the_template_is_refused(tmp_path):
    template = {
        "Resources": {
            "Fn": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "FunctionName": "fn",
                    "Handler": "app.handler",
                    "Role": "arn:aws:iam::000000000000:role/r",
                    "Layers": ["arn:aws:lambda:us-east-1:123456789012:layer:shared:3"],
                    "Code": {"S3Bucket": "b", "S3Key": "k"},
                },
                "Metadata": {"aws:asset:path": str(tmp_path)},
            }
        }
    }
    (tmp_path / "Outside.template.json").write_text(json.dumps(template))
    with pytest.raises(Exception, match="cannot be loaded locally"):
        functions_from_template(StackTemplate.load(tmp_path, "Outside", "us-east-1"))


def test_a_failed_init_is_retried_by_the_next_invocation(code, tmp_path):
    """Lambda does not keep an environment whose init failed: the next invocation initializes again."""
    flag = tmp_path / "fail-once"
    flag.write_text("")
    (code / "flaky.py").write_text(
        textwrap.dedent(
            f"""
            import os
            if os.path.exists({str(flag)!r}):
                os.remove({str(flag)!r})
                raise RuntimeError("first init fails")

            def handler(event, context):
                return "initialized"
            """
        )
    )
    first, second = invoke(FunctionPool(spec(code, "flaky.handler"), {}, tmp_path, 1), {}, {})
    assert (first.error_type, first.error_message) == ("RuntimeError", "first init fails")
    assert second.payload == "initialized"


@pytest.mark.parametrize(
    ("source", "handler", "error_type", "message"),
    [
        ("def other(event, context): ...\n", "mod.handler", "Runtime.HandlerNotFound", "Handler 'handler' missing"),
        ("def handler(:\n", "mod.handler", "Runtime.UserCodeSyntaxError", "Syntax error in module 'mod'"),
        ("import pydantic\n", "mod.handler", "Runtime.ImportModuleError", "Unable to import module 'mod'"),
    ],
    ids=["missing-handler", "syntax-error", "import-error"],
)
def test_init_failures_carry_the_runtimes_error_types(code, tmp_path, source, handler, error_type, message):
    (code / "mod.py").write_text(source)
    result = invoke(FunctionPool(spec(code, handler), {}, tmp_path, 1), {})[0]
    assert result.error_type == error_type and result.error_message.startswith(message)
