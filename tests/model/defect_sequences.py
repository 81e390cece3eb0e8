"""The sequences of steps that break an invariant on today's code, one per defect of issue 12 that
tests/model/known_defects.py switches off. Each is a replay (tests/model/replay.py): shrunk by the
model where its search found it, minimal by hand otherwise (see docs/RELIABILITY.md).

Not collected by pytest (no `test_` prefix): they fail until their fix lands. When a fix lands,
turn its sequence into a regression test and remove its names from known_defects.py:

    from tests.model.defect_sequences import SEQUENCES
    from tests.model.replay import SessionModel

    def test_a_repeated_listener_refresh_does_not_add_a_seat(model_stack):
        SEQUENCES["refresh_replaces"](SessionModel())

`python -m tests.model.defect_sequences [name ...]` (with PYTHONPATH=services:.) starts a stack of
its own and replays them all (or the named ones), printing which invariant each breaks.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _create_on_listener(state: Any) -> None:  # 7: createSession on a listener connection
    state.begin()
    state.create_on_listener(session=0)
    state.teardown()


def _refresh_replaces(state: Any) -> None:  # 1: the same previousConnectionId refreshed twice
    state.begin()
    state.refresh_listener_forged(conn=0, form="message", kind="repeated")
    state.teardown()


def _enumeration_bound(state: Any) -> None:  # 3: 40 unknown ids probed on the speaker refresh path
    state.begin()
    state.probe_ids(count=40, path="refresh_speaker")
    state.teardown()


def _no_typo_lockout(state: Any) -> None:  # 2: 11 typos from the hall's address, then the right id
    state.begin()
    state.create_session()
    state.join_wrong_id(form="handshake", kind="unknown", count=11)
    state.join_session(form="handshake", session=0, language="es", spread="hall")
    state.teardown()


def _join_other_session_on_listener(state: Any) -> None:  # 6: INTERNAL_ERROR
    state.begin()
    state.join_other_session_on_listener(conn=0, session=0)
    state.teardown()


def _rejoin_other_language(state: Any) -> None:  # 7: told fr, the row stays es
    state.begin()
    state.rejoin_other_language(conn=0, language="fr")
    state.teardown()


def _http_crafted_next_token(state: Any) -> None:  # 6: 500 for a nextToken of the wrong types
    state.begin()
    state.http_crafted_next_token(kind="wrong_types")
    state.teardown()


def _session_expiry(state: Any) -> None:  # 4: kept alive by a refresh past sessionExpiresAt (18 s)
    state.begin()
    state.create_session()
    state.pass_time(seconds=10.0, keep_alive=True)
    state.refresh_speaker(session=0, form="handshake", user="owner", close_old=True)
    state.pass_time(seconds=10.0, keep_alive=True)
    state.run_job()
    state.teardown()


def _heartbeat_flood(state: Any) -> None:  # 5: RATE_LIMITED answers to heartbeats
    state.begin()
    state.heartbeat_flood(conn=0)
    state.teardown()


def _control_non_finite(state: Any) -> None:  # 7: NaN volume (found and shrunk by the model)
    state.begin()
    state.control_non_finite(conn=0, value="NaN")
    state.teardown()


SEQUENCES: dict[str, Callable[[Any], None]] = {
    "refresh_replaces": _refresh_replaces,
    "no_typo_lockout": _no_typo_lockout,
    "enumeration_bound": _enumeration_bound,
    "session_expiry": _session_expiry,
    "heartbeat_flood": _heartbeat_flood,
    "join_other_session_on_listener": _join_other_session_on_listener,
    "http_crafted_next_token": _http_crafted_next_token,
    "rejoin_other_language": _rejoin_other_language,
    "create_on_listener": _create_on_listener,
    "control_non_finite": _control_non_finite,
}


def main(names: list[str]) -> int:
    from tests.model import harness, machine
    from tests.model.replay import SessionModel

    state_dir = Path(tempfile.mkdtemp(prefix="model-sequences-"))
    machine.SessionModel.stack = harness.start_stack(state_dir)
    broken = 0
    try:
        for name in names or list(SEQUENCES):
            os.environ["MODEL_INCLUDE_KNOWN"] = name  # this defect's rule or invariant on
            started = time.monotonic()
            try:
                SEQUENCES[name](SessionModel())
                print(f"{name}: holds ({time.monotonic() - started:.1f} s)")
            except AssertionError as exc:
                broken += 1
                print(f"{name}: BROKEN ({time.monotonic() - started:.1f} s)\n{exc}")
    finally:
        harness.stop_stack(state_dir)
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
