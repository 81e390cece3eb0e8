"""The gate evaluator's boundaries: exactly at a threshold, a missing metric, zero requests."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from loadtests import gates

HEADER = ["Type", "Name", "Request Count", "Failure Count", "Median Response Time", "50%", "95%", "99%"]
THRESHOLDS = {
    "p95Ms": {"create": 2000, "join": 1000, "heartbeat": 100},
    "maxFailureRatio": 0.001,
    "requireAllConnections": True,
    "requireVerifier": True,
}


def write_run(
    report: Path,
    rows: dict[str, tuple[int, int, float | str]],
    reached: int | None = 10,
    verifier: dict | None = None,
) -> Path:
    """rows: name -> (requests, failures, p95)."""
    report.mkdir(parents=True, exist_ok=True)
    with (report / gates.STATS_FILE).open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        total_requests = sum(r[0] for r in rows.values())
        total_failures = sum(r[1] for r in rows.values())
        for name, (requests, failures, p95) in rows.items():
            writer.writerow(["WS", name, requests, failures, p95, p95, p95, p95])
        writer.writerow(["", "Aggregated", total_requests, total_failures, 0, 0, 0, 0])
    if reached is not None:
        (report / "run-service.json").write_text(json.dumps({"connectionsReached": reached, "expectedConnections": 10}))
    verifier = verifier if verifier is not None else {"live": {"passed": True}, "drained": {"passed": True}}
    (report / "verifier.json").write_text(json.dumps(verifier))
    return report


def by_name(results: list[gates.Gate]) -> dict[str, gates.Gate]:
    return {g.name: g for g in results}


GOOD = {"create": (10, 0, 2000.0), "join": (1000, 0, 1000.0), "heartbeat": (5000, 0, 100.0)}


def test_exactly_at_every_threshold_passes(tmp_path):
    report = write_run(tmp_path / "r", GOOD)
    results = gates.evaluate(report, THRESHOLDS, 10)
    assert all(g.passed for g in results), [g for g in results if not g.passed]


@pytest.mark.parametrize("step", ["create", "join", "heartbeat"])
def test_one_millisecond_over_fails_that_gate_only(tmp_path, step):
    rows = dict(GOOD)
    requests, failures, p95 = rows[step]
    rows[step] = (requests, failures, p95 + 1)
    results = by_name(gates.evaluate(write_run(tmp_path / "r", rows), THRESHOLDS, 10))
    assert not results[f"p95 {step}"].passed
    assert [name for name, g in results.items() if not g.passed] == [f"p95 {step}"]


def test_a_missing_metric_fails_with_no_samples(tmp_path):
    rows = {k: v for k, v in GOOD.items() if k != "join"}
    result = by_name(gates.evaluate(write_run(tmp_path / "r", rows), THRESHOLDS, 10))["p95 join"]
    assert (result.passed, result.measured, result.detail) == (False, None, "no samples")


def test_a_step_with_zero_requests_fails(tmp_path):
    rows = {**GOOD, "heartbeat": (0, 0, "N/A")}
    result = by_name(gates.evaluate(write_run(tmp_path / "r", rows), THRESHOLDS, 10))["p95 heartbeat"]
    assert not result.passed and result.detail == "no samples"


def test_zero_requests_overall_fails_the_failure_ratio(tmp_path):
    result = by_name(gates.evaluate(write_run(tmp_path / "r", {}), THRESHOLDS, 10))["failure ratio"]
    assert not result.passed and result.detail == "zero requests"


def test_failure_ratio_at_and_over_the_limit(tmp_path):
    at = {**GOOD, "heartbeat": (4990, 6, 50.0)}  # 6 failures in 6,000 requests: exactly 0.1 %
    assert by_name(gates.evaluate(write_run(tmp_path / "a", at), THRESHOLDS, 10))["failure ratio"].passed
    over = {**GOOD, "heartbeat": (4990, 7, 50.0)}
    assert not by_name(gates.evaluate(write_run(tmp_path / "b", over), THRESHOLDS, 10))["failure ratio"].passed


def test_connections_short_of_the_scenario_fail(tmp_path):
    assert not by_name(gates.evaluate(write_run(tmp_path / "a", GOOD, reached=9), THRESHOLDS, 10))[
        "connections reached"
    ].passed
    missing = by_name(gates.evaluate(write_run(tmp_path / "b", GOOD, reached=None), THRESHOLDS, 10))
    assert missing["connections reached"].detail == "no run summary"


def test_a_verifier_that_failed_or_never_ran_fails(tmp_path):
    failed = {"live": {"passed": False, "orphanRows": 3}, "drained": {"passed": True}}
    results = by_name(gates.evaluate(write_run(tmp_path / "a", GOOD, verifier=failed), THRESHOLDS, 10))
    assert not results["verifier (live)"].passed and "orphanRows" in results["verifier (live)"].detail
    results = by_name(gates.evaluate(write_run(tmp_path / "b", GOOD, verifier={}), THRESHOLDS, 10))
    assert not results["verifier (drained)"].passed and results["verifier (drained)"].detail == "not run"


def test_a_missing_stats_file_fails_every_measured_gate(tmp_path):
    (tmp_path / "empty").mkdir()
    results = gates.evaluate(tmp_path / "empty", THRESHOLDS, 10)
    assert not any(g.passed for g in results)


def test_the_cli_exits_non_zero_on_a_breach_and_writes_gates_json(tmp_path, capsys):
    good = write_run(tmp_path / "good", GOOD)
    assert gates.main([str(good), "--stage", "staging", "--expected-connections", "10"]) == 0
    bad = write_run(tmp_path / "bad", {**GOOD, "join": (1000, 0, 1100.0)})
    assert gates.main([str(bad), "--stage", "staging", "--expected-connections", "10"]) == 1
    document = json.loads((bad / "gates.json").read_text())
    assert document["passed"] is False
    assert {g["name"]: g["passed"] for g in document["gates"]}["p95 join"] is False
    assert "FAIL" in capsys.readouterr().out


def test_every_stage_has_thresholds_with_the_promised_targets():
    for stage in ("local", "staging", "prod"):
        thresholds = gates.load_thresholds(stage)
        assert thresholds["p95Ms"] == {"create": 2000, "join": 1000, "heartbeat": 100}
        assert thresholds["maxFailureRatio"] == 0.001
