"""A deploy is refused before CloudFormation when the credentials belong to another account (STS stubbed)."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber
from promote.account_guard import WrongAccount, require_stage_account

STAGE_ACCOUNT = "123456789012"
OTHER_ACCOUNT = "210987654321"
GUIDE_CONFIG = Path(__file__).resolve().parent / "fixtures" / "guide" / "dev.json"


def stubbed_sts(account: str):
    """STS answering GetCallerIdentity, once, for credentials of `account`; fails on any other call."""
    sts = boto3.client("sts", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
    stubber = Stubber(sts)
    stubber.add_response(
        "get_caller_identity",
        {"UserId": "AIDAEXAMPLE", "Account": account, "Arn": f"arn:aws:iam::{account}:user/deployer"},
        {},
    )
    stubber.activate()
    return sts, stubber


class NoSts:
    """STS that must not be asked: the config alone refuses."""

    def get_caller_identity(self) -> dict:
        raise AssertionError("GetCallerIdentity called for a config that cannot deploy")


def test_credentials_of_the_stages_account_pass():
    sts, stubber = stubbed_sts(STAGE_ACCOUNT)
    assert require_stage_account("dev", sts, GUIDE_CONFIG.parent) == STAGE_ACCOUNT
    stubber.assert_no_pending_responses()


def test_credentials_of_another_account_are_refused_naming_both():
    sts, stubber = stubbed_sts(OTHER_ACCOUNT)
    with pytest.raises(WrongAccount) as refused:
        require_stage_account("dev", sts, GUIDE_CONFIG.parent)
    assert STAGE_ACCOUNT in str(refused.value) and OTHER_ACCOUNT in str(refused.value)
    assert "refusing to deploy dev" in str(refused.value)
    stubber.assert_no_pending_responses()


def test_a_stage_without_an_account_is_refused_before_asking_sts(tmp_path):
    raw = json.loads(GUIDE_CONFIG.read_text())
    del raw["account"]
    (tmp_path / "dev.json").write_text(json.dumps(raw))
    with pytest.raises(WrongAccount, match="has no account"):
        require_stage_account("dev", NoSts(), tmp_path)


def test_a_stage_without_a_config_is_refused(tmp_path):
    with pytest.raises(WrongAccount, match="not found"):
        require_stage_account("prod", NoSts(), tmp_path)
