"""The one gate evaluator: Locust's stats CSV and the verifier's result against a stage's thresholds.

A gate passes when the measured value is at or inside its threshold (p95 <= threshold; the alarms
fire on p95 > threshold, so both read the promise the same way). A gate with nothing to measure
(no samples, zero requests, a missing file) fails: absence of evidence is not a pass.

    python -m loadtests.gates reports/load/<stage>-<timestamp> --stage staging
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

GATES_DIR = Path(__file__).resolve().parent / "gates"
STATS_FILE = "locust_stats.csv"
FLOOR_STATS_FILE = "floor_stats.csv"
GATED_STEPS = ("create", "join", "heartbeat")


@dataclass(frozen=True)
class Gate:
    name: str
    threshold: float | None
    measured: float | None
    unit: str
    passed: bool
    detail: str = ""


def load_thresholds(stage: str) -> dict[str, Any]:
    path = GATES_DIR / f"{stage}.json"
    if not path.exists():
        raise SystemExit(f"no gate thresholds for stage {stage!r}: expected {path}")
    result: dict[str, Any] = json.loads(path.read_text())
    return result


def read_stats(path: Path) -> dict[str, dict[str, Any]]:
    """Rows of Locust's `<prefix>_stats.csv` by name, with numbers parsed (`N/A` becomes None)."""
    if not path.exists():
        return {}
    rows: dict[str, dict[str, Any]] = {}
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            parsed: dict[str, Any] = {}
            for key, value in row.items():
                try:
                    parsed[key] = float(value)
                except (TypeError, ValueError):
                    parsed[key] = None if value in ("N/A", "", None) else value
            rows[str(row["Name"])] = parsed
    return rows


def percentile(rows: dict[str, dict[str, Any]], step: str, column: str = "95%") -> float | None:
    row = rows.get(step)
    if not row or not row.get("Request Count"):
        return None
    value = row.get(column)
    return float(value) if isinstance(value, float) else None


def _threshold_gate(name: str, threshold: float, measured: float | None, unit: str) -> Gate:
    if measured is None:
        return Gate(name, threshold, None, unit, False, "no samples")
    return Gate(name, threshold, measured, unit, measured <= threshold)


def evaluate(report_dir: Path, thresholds: dict[str, Any], expected_connections: int | None) -> list[Gate]:
    rows = read_stats(report_dir / STATS_FILE)
    gates = [
        _threshold_gate(f"p95 {step}", float(thresholds["p95Ms"][step]), percentile(rows, step), "ms")
        for step in GATED_STEPS
        if step in thresholds["p95Ms"]
    ]
    aggregated = rows.get("Aggregated")
    requests = float(aggregated["Request Count"]) if aggregated and aggregated.get("Request Count") else 0.0
    failures = float(aggregated["Failure Count"] or 0) if aggregated else 0.0
    ratio = failures / requests if requests else None
    gates.append(
        _threshold_gate("failure ratio", float(thresholds["maxFailureRatio"]), ratio, "ratio")
        if requests
        else Gate("failure ratio", float(thresholds["maxFailureRatio"]), None, "ratio", False, "zero requests")
    )
    run = _read_json(report_dir / "run-service.json")
    if thresholds.get("requireAllConnections", True):
        reached = run.get("connectionsReached") if run else None
        expected = expected_connections if expected_connections is not None else (run or {}).get("expectedConnections")
        if reached is None or expected is None:
            gates.append(Gate("connections reached", expected, reached, "connections", False, "no run summary"))
        else:
            gates.append(
                Gate("connections reached", float(expected), float(reached), "connections", reached >= expected)
            )
    if thresholds.get("requireVerifier", True):
        verification = _read_json(report_dir / "verifier.json")
        live, drained = (verification or {}).get("live"), (verification or {}).get("drained")
        for phase, result in (("live", live), ("drained", drained)):
            passed = bool(result and result.get("passed"))
            detail = "" if result else "not run"
            if result and not passed:
                detail = json.dumps({k: v for k, v in result.items() if k not in ("passed", "phase")})[:300]
            gates.append(Gate(f"verifier ({phase})", None, None, "", passed, detail))
    return gates


def aims(report_dir: Path, thresholds: dict[str, Any]) -> list[Gate]:
    """The team's own aims on the local machine: reported, never blocking."""
    rows = read_stats(report_dir / STATS_FILE)
    result = [
        _threshold_gate(f"aim p95 {step}", float(limit), percentile(rows, step), "ms")
        for step, limit in thresholds.get("aimsP95Ms", {}).items()
    ]
    ratio_limit = thresholds.get("aimHeartbeatFloorRatio")
    floor = percentile(read_stats(report_dir / FLOOR_STATS_FILE), "heartbeat")
    ours = percentile(rows, "heartbeat")
    if ratio_limit is not None and floor is not None and ours is not None:
        result.append(_threshold_gate("aim heartbeat p95 / floor p95", float(ratio_limit), ours / max(floor, 1.0), "x"))
    return result


def step_table(report_dir: Path) -> list[dict[str, Any]]:
    """p50/p95/p99 of every measured step and phase, for the report and docs/PERFORMANCE.md."""
    table = []
    for source, stats_file in (("service", STATS_FILE), ("floor", FLOOR_STATS_FILE)):
        rows = read_stats(report_dir / stats_file)
        for name, row in rows.items():
            if name == "Aggregated" or not row.get("Request Count"):
                continue
            table.append(
                {
                    "source": source,
                    "step": name,
                    "requests": int(row["Request Count"]),
                    "failures": int(row["Failure Count"] or 0),
                    "p50": row.get("50%"),
                    "p95": row.get("95%"),
                    "p99": row.get("99%"),
                }
            )
    return table


def _read_json(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    result: dict[str, Any] = json.loads(path.read_text())
    return result


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "ratio":
        return f"{value:.4%}"
    if unit == "x":
        return f"{value:.2f}x"
    return f"{value:,.0f} {unit}".strip()


def render(gates: list[Gate], aim_results: list[Gate], steps: list[dict[str, Any]]) -> str:
    lines = [f"{'gate':<32} {'threshold':>14} {'measured':>14}  result"]
    for gate in gates:
        verdict = "PASS" if gate.passed else "FAIL"
        detail = f"  ({gate.detail})" if gate.detail and not gate.passed else ""
        values = f"{_fmt(gate.threshold, gate.unit):>14} {_fmt(gate.measured, gate.unit):>14}"
        lines.append(f"{gate.name:<32} {values}  {verdict}{detail}")
    for aim in aim_results:
        verdict = "met" if aim.passed else "missed"
        lines.append(
            f"{aim.name:<32} {_fmt(aim.threshold, aim.unit):>14} {_fmt(aim.measured, aim.unit):>14}  {verdict}"
        )
    lines.append("")
    lines.append(f"{'source':<8} {'step':<22} {'requests':>9} {'fail':>6} {'p50':>7} {'p95':>7} {'p99':>7}  (ms)")
    for row in steps:
        lines.append(
            f"{row['source']:<8} {row['step']:<22} {row['requests']:>9} {row['failures']:>6} "
            f"{_fmt(row['p50'], ''):>7} {_fmt(row['p95'], ''):>7} {_fmt(row['p99'], ''):>7}"
        )
    return "\n".join(lines)


def write_gates_file(
    report_dir: Path, stage: str, gates: list[Gate], aim_results: list[Gate], metadata: dict[str, Any]
) -> dict[str, Any]:
    document = {
        "stage": stage,
        **metadata,
        "passed": all(g.passed for g in gates),
        "gates": [asdict(g) for g in gates],
        "aims": [asdict(a) for a in aim_results],
        "steps": step_table(report_dir),
        "notes": [
            "create and join are measured during the ramp (they only happen then);",
            "heartbeat and fanout gates use steady-state samples (named without the ' (ramp)' suffix);",
            "Locust rounds response times above 100 ms to two significant digits in its percentiles.",
        ],
    }
    (report_dir / "gates.json").write_text(json.dumps(document, indent=2))
    return document


def judge(
    report_dir: Path, stage: str, expected_connections: int | None, metadata: dict[str, Any]
) -> tuple[dict[str, Any], str]:
    """Evaluate a run's gates and aims against the stage's thresholds, write gates.json, and
    return it with the table to print."""
    thresholds = load_thresholds(stage)
    gates = evaluate(report_dir, thresholds, expected_connections)
    aim_results = aims(report_dir, thresholds)
    document = write_gates_file(report_dir, stage, gates, aim_results, metadata)
    return document, render(gates, aim_results, document["steps"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Evaluate a load run's gates")
    parser.add_argument("report_dir", type=Path)
    parser.add_argument("--stage", required=True)
    parser.add_argument("--expected-connections", type=int)
    args = parser.parse_args(argv)
    previous = _read_json(args.report_dir / "gates.json") or {}
    metadata = {k: v for k, v in previous.items() if k not in ("stage", "passed", "gates", "aims", "steps", "notes")}
    document, table = judge(args.report_dir, args.stage, args.expected_connections, metadata)
    print(table)
    return 0 if document["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
