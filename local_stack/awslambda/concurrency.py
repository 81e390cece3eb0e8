"""A function's reserved concurrency as one cap for the whole stack.

In Lambda, `ReservedConcurrentExecutions: N` caps the function's concurrent executions across
every caller. Locally each gateway process has its own pool of environments, so an in-process
semaphore would let two processes run 2N. The cap is held instead as N slot files in the stack's
state directory: an invocation takes a slot with a non-blocking `flock` on one of them, and the
kernel releases it if the process dies, so a crash can never leak a slot.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from local_stack.private_files import private_dir


class ReservedSlots:
    """N slots shared by every process that opens the same directory."""

    def __init__(self, directory: Path, function_name: str, slots: int) -> None:
        self.slots = slots
        self._dir = directory / function_name
        private_dir(self._dir)
        # flock locks belong to an open file description: one description per slot per process,
        # and `_held` says which this process already holds (flock would grant them again).
        self._fds: dict[int, int] = {}
        self._held: set[int] = set()

    def _fd(self, slot: int) -> int:
        if slot not in self._fds:
            self._fds[slot] = os.open(self._dir / f"slot-{slot}", os.O_RDWR | os.O_CREAT, 0o600)
        return self._fds[slot]

    def try_acquire(self) -> int | None:
        """A slot, or None when all N are taken somewhere in the stack (the invocation throttles)."""
        for slot in range(self.slots):
            if slot in self._held:
                continue
            try:
                fcntl.flock(self._fd(slot), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue
            self._held.add(slot)
            return slot
        return None

    def release(self, slot: int) -> None:
        if slot in self._held:
            self._held.discard(slot)
            fcntl.flock(self._fds[slot], fcntl.LOCK_UN)

    def close(self) -> None:
        for fd in self._fds.values():
            with contextlib.suppress(OSError):
                os.close(fd)
        self._fds.clear()
        self._held.clear()
