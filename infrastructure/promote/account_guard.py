"""A deploy goes only to the account its stage config names, checked before CloudFormation is called.

    python -m promote.account_guard --stage prod      (exit 1, with both accounts named, on a mismatch)

Credentials for the wrong account (a stale AWS_PROFILE) would otherwise create a second copy of
the stage in another account, or fail halfway with a confusing CloudFormation error. STS
GetCallerIdentity needs no permissions, so it always answers who the credentials belong to.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from session_infrastructure import config as stage_config


class WrongAccount(Exception):
    """The credentials cannot deploy this stage; the message says what to change."""


def caller_account(sts: Any) -> str:
    return str(sts.get_caller_identity()["Account"])


def require_account(stage: str, expected: str, sts: Any) -> str:
    """The caller's account, if it is `expected`; else WrongAccount naming both."""
    actual = caller_account(sts)
    if actual != expected:
        raise WrongAccount(
            f"refusing to deploy {stage}: its config pins account {expected}, but the current AWS credentials "
            f"belong to account {actual}; use credentials for {expected} (AWS_PROFILE) or correct account in "
            f"{stage}.json"
        )
    return actual


def require_stage_account(stage: str, sts: Any = None, config_dir: Path = stage_config.CONFIG_DIR) -> str:
    """Reads the stage's config (its `account`) and checks the caller against it."""
    try:
        config = stage_config.load(stage, config_dir)
    except stage_config.ConfigError as error:
        raise WrongAccount(str(error)) from None
    if not config.account:
        raise WrongAccount(
            f"refusing to deploy {stage}: {stage}.json has no account; add the stage's 12-digit account id "
            "(aws sts get-caller-identity --query Account --output text)"
        )
    if sts is None:
        import boto3

        sts = boto3.client("sts", region_name=config.region)
    return require_account(stage, config.account, sts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Refuse a deploy whose credentials belong to another account")
    parser.add_argument("--stage", required=True)
    args = parser.parse_args(argv)
    try:
        account = require_stage_account(args.stage)
    except WrongAccount as refused:
        print(f"DEPLOY REFUSED: {refused}", file=sys.stderr)
        return 1
    print(f"credentials belong to {account}, the account of {args.stage}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
