"""What a function can import: its code, its layers and the runtime's own boto3, nothing else.

In Lambda a Python function's `sys.path` is its task root, then each layer's `python/` (in the
template's order; `/opt/python/lib/python3.11/site-packages` and `/opt/python`), then the
runtime's directories, which hold boto3/botocore of the version the runtime ships. The workers
run the project's interpreter with `-I -S`, so none of the venv's packages (pydantic, requests,
moto…) are importable, and this module builds the same path from the synthesized assets.

A layer built for another architecture than this machine's (the deployed arm64 layer on an
x86_64 laptop) cannot be loaded; its stand-in is the same pinned requirements built for this
machine (`make layer` writes both), matched by the identical `requirements.txt` beside `python/`.
Without a matching stand-in the stack refuses to start rather than fall back to the venv.
"""

from __future__ import annotations

import platform
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
# `make layer` builds these (see the Makefile); settings may point elsewhere.
RUNTIME_SDK_DIR = REPO_ROOT / "build" / "lambda-runtime-sdk" / "python"
HOST_LAYER_BUILDS = (REPO_ROOT / "build" / "lambda-layer-host",)
PYTHON_VERSION = "python3.11"

_MACHINE_ALIASES = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}


class LayerError(RuntimeError):
    """A function's imports cannot be made what Lambda would give it."""


@dataclass(frozen=True)
class ImportPath:
    """The directories a function's worker puts ahead of the standard library, in order."""

    entries: tuple[Path, ...]

    def as_strings(self) -> list[str]:
        return [str(entry) for entry in self.entries]


def host_machine() -> str:
    machine = platform.machine().lower()
    return _MACHINE_ALIASES.get(machine, machine)


def _wheel_platforms(layer_root: Path) -> set[str]:
    """The platform parts of the binary wheels installed in a layer (`any` for pure Python)."""
    platforms: set[str] = set()
    for wheel in (layer_root / "python").glob("*.dist-info/WHEEL"):
        for line in wheel.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("Tag:"):
                platforms.add(line.split("-")[-1].strip())
    return platforms


def built_for(layer_root: Path, machine: str) -> bool:
    """Whether every binary wheel in the layer is for `machine` (a pure-Python layer always is)."""
    foreign = {tag for tag in _wheel_platforms(layer_root) if tag != "any" and machine not in tag}
    return not foreign


def _requirements(layer_root: Path) -> str | None:
    path = layer_root / "requirements.txt"
    return path.read_text(encoding="utf-8").strip() if path.is_file() else None


def loadable_layer(layer_root: Path, host_builds: Iterable[Path], machine: str | None = None) -> Path:
    """The layer itself when this machine can load it, else its stand-in built for this machine."""
    machine = machine or host_machine()
    if built_for(layer_root, machine):
        return layer_root
    wanted = _requirements(layer_root)
    for candidate in host_builds:
        if wanted is not None and _requirements(candidate) == wanted and built_for(candidate, machine):
            return candidate
    raise LayerError(
        f"the layer at {layer_root} holds binaries for another architecture than this machine's ({machine}) "
        "and no build of the same requirements for this machine was found: run `make layer`"
    )


def _layer_entries(layer_root: Path) -> list[Path]:
    python = layer_root / "python"
    return [python / "lib" / PYTHON_VERSION / "site-packages", python]


def import_path(
    code_path: Path,
    layers: Sequence[Path],
    runtime_sdk_dir: Path = RUNTIME_SDK_DIR,
    host_builds: Iterable[Path] = HOST_LAYER_BUILDS,
) -> ImportPath:
    """Task root, each layer (as this machine can load it), then the runtime's boto3."""
    if not (runtime_sdk_dir / "boto3").is_dir():
        raise LayerError(f"the Lambda runtime's boto3 is not at {runtime_sdk_dir}: run `make layer`")
    builds = tuple(host_builds)
    entries: list[Path] = [code_path]
    for layer in layers:
        entries.extend(_layer_entries(loadable_layer(layer, builds)))
    entries.append(runtime_sdk_dir)
    return ImportPath(tuple(entries))
