"""Keys and logs under `.local/` are 0600 from the moment they exist.

Each creation runs with the umask at 0 and every chmod refused: a file created wider and then
narrowed would either come out wider or trip the refusal, so a 0600 result proves the file was
created 0600 (only a chmod can change a file's mode after `open` creates it)."""

from __future__ import annotations

import asyncio
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local_stack.awslambda import worker
from local_stack.awslambda.pool import FunctionPool
from local_stack.cognito.signing_keys import PoolSigningKeys
from local_stack.private_files import append_private_bytes, append_private_text, private_dir, write_private
from local_stack.tls import ensure_certificates
from tests.unit.local_stack.test_pool import spec


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def current_umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


@pytest.fixture
def no_umask() -> Iterator[None]:
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.fixture
def no_chmod(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every chmod the code under test attempts, each refused."""
    attempts: list[str] = []

    def refusing(name: str) -> Any:
        def refuse(*args: Any, **kwargs: Any) -> None:
            attempts.append(name)
            raise AssertionError(f"{name} called: the file existed with another mode first")

        return refuse

    monkeypatch.setattr(os, "chmod", refusing("os.chmod"))
    monkeypatch.setattr(os, "fchmod", refusing("os.fchmod"))
    monkeypatch.setattr(Path, "chmod", refusing("Path.chmod"))
    return attempts


def test_write_private_creates_0600_whatever_the_umask_and_leaves_no_temporary(tmp_path, no_umask, no_chmod):
    target = tmp_path / "secret.json"
    write_private(target, b"one")
    write_private(target, b"two")  # replaced whole, still 0600
    assert mode(target) == 0o600 and target.read_bytes() == b"two"
    assert [p.name for p in tmp_path.iterdir()] == ["secret.json"]
    assert no_chmod == []


def test_write_private_replaces_a_file_left_world_readable(tmp_path, no_umask):
    target = tmp_path / "secret.json"
    target.write_text("old")
    assert mode(target) == 0o666
    write_private(target, b"new")
    assert mode(target) == 0o600 and target.read_text() == "new"


def test_logs_are_created_0600_whatever_the_umask(tmp_path, no_umask, no_chmod):
    with append_private_bytes(tmp_path / "child.log") as binary, append_private_text(tmp_path / "events.log") as text:
        binary.write(b"x")
        text.write("y")
    assert mode(tmp_path / "child.log") == 0o600 and mode(tmp_path / "events.log") == 0o600
    os.close(worker.open_log(str(tmp_path / "lambda-fn.log")))
    assert mode(tmp_path / "lambda-fn.log") == 0o600
    assert no_chmod == []


def test_a_log_left_wider_by_an_older_stack_is_narrowed_and_a_non_file_left_alone(tmp_path):
    for name in ("old.log", "old-lambda.log"):
        (tmp_path / name).write_text("old\n")
        (tmp_path / name).chmod(0o644)
    with append_private_text(tmp_path / "old.log") as log:
        log.write("new\n")
    os.close(worker.open_log(str(tmp_path / "old-lambda.log")))
    assert mode(tmp_path / "old.log") == 0o600 and mode(tmp_path / "old-lambda.log") == 0o600
    assert (tmp_path / "old.log").read_text() == "old\nnew\n"
    # A pipe stands for /dev/null (a log path may name one): never chmod'ed. The reader lets the
    # write-only opens return at once.
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe, 0o644)
    reader = os.open(pipe, os.O_RDONLY | os.O_NONBLOCK)
    try:
        os.close(worker.open_log(str(pipe)))
        with append_private_bytes(pipe):
            pass
    finally:
        os.close(reader)
    assert mode(pipe) == stat.S_IMODE(0o644 & ~current_umask())


def test_the_tls_private_key_is_created_0600(tmp_path, no_umask, no_chmod):
    files = ensure_certificates(tmp_path / "tls")
    assert mode(files.server_key) == 0o600
    assert b"PRIVATE KEY" in files.server_key.read_bytes()
    assert ensure_certificates(tmp_path / "tls") == files  # reused, not rewritten
    assert no_chmod == []


def test_cognito_signing_keys_are_created_0600_and_stay_so_through_rotation(tmp_path, no_umask, no_chmod):
    keys = PoolSigningKeys()
    keys.keys_file = tmp_path / "cognito-signing-keys.json"
    keys.current("pool")
    assert mode(keys.keys_file) == 0o600
    keys.rotate()
    assert mode(keys.keys_file) == 0o600
    assert len(json.loads(keys.keys_file.read_text())["pool"]) == 2
    assert [p.name for p in tmp_path.iterdir()] == ["cognito-signing-keys.json"]
    assert no_chmod == []


def test_a_lambda_workers_log_is_0600_under_a_zero_umask(tmp_path, no_umask):
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "app.py").write_text("def handler(event, context):\n    print('to the log')\n    return 1\n")
    pool = FunctionPool(spec(tmp_path / "code"), {}, tmp_path, max_concurrency=1)

    async def main() -> None:
        try:
            result = await pool.invoke({})
            assert not result.failed and result.payload == 1
            # The print precedes the result on the worker's line-buffered log, so it is there now.
            log = tmp_path / "lambda-fn.log"
            assert mode(log) == 0o600 and "to the log" in log.read_text()
        finally:
            pool.shutdown()
            await asyncio.sleep(0.2)  # as test_pool.py: let the killed worker's pipes close in this loop

    asyncio.run(main())


def test_state_directories_are_created_0700_whatever_the_umask(tmp_path, no_umask, no_chmod):
    made = private_dir(tmp_path / ".local" / "logs")
    assert stat.S_IMODE(made.stat().st_mode) == 0o700
    assert stat.S_IMODE(made.parent.stat().st_mode) == 0o700  # the ancestor it made, too


def test_a_state_directory_left_0755_by_an_older_stack_is_narrowed(tmp_path):
    old = tmp_path / "logs"
    old.mkdir(mode=0o755)
    old.chmod(0o755)
    private_dir(old)
    assert stat.S_IMODE(old.stat().st_mode) == 0o700
