"""Promotion: a breached gate blocks the deploy step, a passing run reaches it (a recorded command)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from promote import promotion
from promote.promotion import Promotion, PromotionBlocked

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def right_account(stage: str) -> str:
    """The credentials belong to the stage's account (the real check is tests/infrastructure/test_account_guard.py)."""
    return "123456789012"


def report(root: Path, passed: bool) -> Path:
    directory = root / "staging-20261126T000000Z"
    directory.mkdir(parents=True)
    gate = {"name": "p95 join", "threshold": 1000, "measured": 400 if passed else 1400, "passed": passed}
    (directory / "gates.json").write_text(json.dumps({"passed": passed, "gates": [gate]}))
    return directory


class Recorder:
    def __init__(self, status: int = 0) -> None:
        self.commands: list[list[str]] = []
        self.status = status

    def __call__(self, command) -> int:
        self.commands.append(list(command))
        return self.status


def run(tmp_path: Path, passed: bool, dry_run: bool = False, deploy_status: int = 0):
    recorder = Recorder(deploy_status)
    loads: list[Promotion] = []

    def load(promotion: Promotion, root: Path) -> Path:
        loads.append(promotion)
        return report(tmp_path / "reports", passed)

    outcome = promotion.promote(
        Promotion("staging", "prod", dry_run=dry_run),
        check_source=lambda source, commit: {"source": source, "commit": commit},
        check_stage_account=right_account,
        load=load,
        execute=recorder,
        commit=COMMIT,
        evidence_dir=tmp_path / "promotions",
    )
    return outcome, recorder, loads


def test_a_breached_gate_blocks_the_deploy(tmp_path):
    with pytest.raises(PromotionBlocked, match="p95 join"):
        run(tmp_path, passed=False)
    assert not (tmp_path / "promotions").exists()


def test_a_passing_run_reaches_the_deploy_and_records_evidence(tmp_path):
    evidence, recorder, loads = run(tmp_path, passed=True)
    [command] = recorder.commands
    assert command[1:3] == ["deploy", "SessionManagement-prod"]
    assert "env=prod" in command and f"commit={COMMIT}" in command and "--require-approval" in command
    assert loads[0].scenario == "full"
    [written] = (tmp_path / "promotions").glob("prod-*.json")
    recorded = json.loads(written.read_text())
    assert recorded["commit"] == COMMIT and recorded["deployExitCode"] == 0 and recorded["report"] == evidence["report"]


def test_dry_run_does_everything_but_the_deploy(tmp_path):
    evidence, recorder, _ = run(tmp_path, passed=True, dry_run=True)
    assert recorder.commands == [] and evidence["dryRun"] is True
    assert list((tmp_path / "promotions").glob("prod-*.json"))


def test_a_failed_deploy_is_reported(tmp_path):
    with pytest.raises(PromotionBlocked, match="exited with 3"):
        run(tmp_path, passed=True, deploy_status=3)


def test_a_source_on_another_commit_stops_before_any_load(tmp_path):
    def stale(source: str, commit: str) -> dict:
        raise PromotionBlocked(f"SessionManagement-{source} runs commit feedbeef, not {commit}")

    def never(*_):
        raise AssertionError("no load run for a stale source")

    with pytest.raises(PromotionBlocked, match="feedbeef"):
        promotion.promote(
            Promotion("staging", "prod"),
            check_source=stale,
            check_stage_account=right_account,
            load=never,
            execute=Recorder(),
            commit=COMMIT,
        )


def test_a_run_without_gates_blocks(tmp_path):
    empty = tmp_path / "staging-x"
    empty.mkdir()
    with pytest.raises(PromotionBlocked, match=r"no gates\.json"):
        promotion.promote(
            Promotion("staging", "prod"),
            check_source=lambda s, c: {},
            check_stage_account=right_account,
            load=lambda p, r: empty,
            execute=Recorder(),
            commit=COMMIT,
        )


def test_the_cli_exits_non_zero_when_blocked(tmp_path, monkeypatch, capsys):
    recorder = Recorder()
    monkeypatch.setattr(promotion, "check_source_matches", lambda s, c: {"source": s})
    monkeypatch.setattr(promotion, "check_account", right_account)
    monkeypatch.setattr(promotion, "run_load", lambda p, r: report(tmp_path / "reports", passed=False))
    monkeypatch.setattr(promotion, "execute_command", recorder)
    monkeypatch.setattr(promotion, "PROMOTIONS_DIR", tmp_path / "promotions")
    assert promotion.main(["--from", "staging", "--to", "prod"]) == 1
    assert "PROMOTION BLOCKED" in capsys.readouterr().err and recorder.commands == []


def test_the_source_check_of_local_needs_no_aws():
    assert promotion.check_source_matches("local", COMMIT)["commit"] == COMMIT


def test_credentials_of_another_account_stop_before_the_source_is_read(tmp_path):
    checked: list[str] = []

    def wrong_account(stage: str) -> str:
        checked.append(stage)
        raise PromotionBlocked(f"refusing to deploy {stage}: its config pins account 111111111111, not 222222222222")

    def never(*_):
        raise AssertionError("no CloudFormation call, no load run, no deploy with the wrong account")

    with pytest.raises(PromotionBlocked, match=r"111111111111.*222222222222"):
        promotion.promote(
            Promotion("staging", "prod"),
            check_source=never,
            check_stage_account=wrong_account,
            load=never,
            execute=never,
            commit=COMMIT,
            evidence_dir=tmp_path / "promotions",
        )
    assert checked == ["prod"] and not (tmp_path / "promotions").exists()
