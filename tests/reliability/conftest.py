"""Reliability and security suites share one local stack of their own (tests/support/local_stage_fixtures.py)."""

from tests.support.local_stage_fixtures import dynamodb, speaker_token, stack, tables  # noqa: F401
