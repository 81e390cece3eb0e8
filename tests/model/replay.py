"""Replaying a sequence of steps the model printed.

On a broken invariant hypothesis prints the shrunk example as a program:

    state = SessionModel()
    state.begin()
    state.invariants_hold()
    state.create_session(form='handshake', source='en')
    state.invariants_hold()
    ...
    state.teardown()

(hypothesis prints the `state.invariants_hold()` lines only for some examples). Paste those lines,
as they are, into a test that imports SessionModel from here and takes the `model_stack` fixture
(tests/model/conftest.py): this SessionModel checks the invariants after every step whether the
printout shows it or not, so the same invariant fails with the same message:

    from tests.model.replay import SessionModel

    def test_listener_refresh_cannot_chain(model_stack):
        state = SessionModel()
        ...

`@reproduce_failure(...)`, printed after the steps, replays the same example through hypothesis
instead (same settings; the example database is off, so nothing else replays by itself).
"""

from __future__ import annotations

from typing import Any

from tests.model import machine


class SessionModel:
    """The model's state machine, with the invariant check after every step."""

    def __init__(self) -> None:
        self._machine = machine.SessionModel()

    def __getattr__(self, name: str) -> Any:
        step = getattr(self._machine, name)
        if name in ("teardown", "invariants_hold") or not callable(step):
            return step

        def run(*args: Any, **kwargs: Any) -> Any:
            try:
                result = step(*args, **kwargs)
                self._machine.invariants_hold()
            except BaseException:
                self._machine.teardown()
                raise
            return result

        return run
