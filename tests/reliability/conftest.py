"""Reliability and security suites share one local stack (the e2e suite's fixture, its own instance)."""

from tests.e2e.conftest import dynamodb, speaker_token, stack, tables  # noqa: F401
