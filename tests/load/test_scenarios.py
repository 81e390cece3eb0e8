"""Scenario files and the roster that spreads listeners over sessions.

Nothing here may import locust: it monkey-patches the whole test process."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from loadtests.coordination import Roster
from loadtests.scenario import MAX_SPAWN_RATE, SCENARIO_DIR, Scenario


def test_the_full_scenario_is_the_promise():
    full = Scenario.load("full")
    assert (full.sessions, full.listeners_per_session, full.connections) == (100, 500, 50_100)
    assert full.heartbeat_seconds == 30


@pytest.mark.parametrize("name", ["smoke", "capacity", "full", "soak"])
def test_every_scenario_respects_the_new_connection_quota(name):
    scenario = Scenario.load(name)
    assert 0 < scenario.spawn_rate <= MAX_SPAWN_RATE
    assert abs(sum(scenario.target_language_mix.values()) - 1) < 1e-9


def test_a_ramp_faster_than_api_gateway_admits_is_refused(tmp_path):
    raw = json.loads((SCENARIO_DIR / "smoke.json").read_text())
    raw["spawnRate"] = 600
    path = tmp_path / "fast.json"
    path.write_text(json.dumps(raw))
    with pytest.raises(ValueError, match="new-connection quota"):
        Scenario.load(str(path))


def test_the_roster_fills_each_session_exactly_and_then_says_wait():
    sent: list[tuple[str, dict]] = []
    environment = SimpleNamespace()
    roster = Roster(lambda msg, data: sent.append((msg.node_id, data)), listeners_per_session=3)
    for session in ("a", "b"):
        roster.on_session_ready(environment, SimpleNamespace(data={"sessionId": session}, node_id="w1"))
    roster.on_session_ready(environment, SimpleNamespace(data={"sessionId": "a"}, node_id="w2"))  # a repeat
    for ticket in range(7):
        roster.on_claim(environment, SimpleNamespace(data={"ticket": str(ticket)}, node_id="w1"))
    answers = [data["sessionId"] for _, data in sent]
    assert answers == ["a", "a", "a", "b", "b", "b", None]


def test_importing_the_load_suite_leaves_the_test_process_unpatched():
    import sys

    import promote.promotion  # noqa: F401

    import loadtests.coordination
    import loadtests.gates  # noqa: F401

    assert "locust" not in sys.modules
