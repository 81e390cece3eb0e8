"""Files under `.local/` that others on the machine must not read: private keys, signing keys,
and logs (handler output and events can carry tokens).

Each is created 0600 from its first byte. Writing and then chmod'ing leaves a moment where the
file exists with the umask's mode (often 0644) and a reader can open it; a descriptor opened
then stays readable after the chmod.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path
from typing import BinaryIO, TextIO

PRIVATE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700


def private_opener(path: str | os.PathLike[str], flags: int) -> int:
    """An `opener=` for `open()`: a file it creates is 0600 whatever the umask; a file that
    already exists as a regular file with group or other bits (left by an older stack) is
    narrowed to 0600; anything else (`/dev/null`) is left as it is."""
    fd = os.open(path, flags, PRIVATE_MODE)
    mode = os.fstat(fd).st_mode
    if stat.S_ISREG(mode) and stat.S_IMODE(mode) & 0o077:
        os.fchmod(fd, PRIVATE_MODE)
    return fd


def private_dir(path: Path) -> Path:
    """`path` as a directory only its owner can list or enter (0700 whatever the umask; an older,
    wider one is narrowed). `.local/` and everything under it are made with this."""
    missing = [d for d in (path, *path.parents) if not d.exists()]
    for directory in reversed(missing):  # each one it creates, ancestors too, is 0700
        directory.mkdir(mode=PRIVATE_DIR_MODE, exist_ok=True)
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        path.chmod(PRIVATE_DIR_MODE)
    return path


def append_private_text(path: Path) -> TextIO:
    """A log opened for appending text, 0600 (the caller closes it)."""
    return open(path, "a", encoding="utf-8", opener=private_opener)


def append_private_bytes(path: Path) -> BinaryIO:
    """A log opened for appending bytes (a child process's stdout), 0600 (the caller closes it)."""
    return open(path, "ab", opener=private_opener)


def write_private(path: Path, data: bytes) -> None:
    """Replace `path` with `data` such that no reader ever sees it wider than 0600 or half
    written: the bytes go to a fresh sibling created 0600 (O_EXCL, so never an existing file),
    which is then renamed over `path`."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_MODE)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
