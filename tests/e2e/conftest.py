"""One local stack for the whole end-to-end session (tests/support/local_stage_fixtures.py)."""

from tests.support.local_stage_fixtures import dynamodb, speaker_token, stack, tables  # noqa: F401
