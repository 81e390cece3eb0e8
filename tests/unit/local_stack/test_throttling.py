"""Token buckets: API Gateway's new-connection rate and the stage's message rate and burst."""

from __future__ import annotations

import pytest

from local_stack.apigateway.throttling import TokenBucket


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def takes(bucket: TokenBucket, attempts: int) -> int:
    return sum(bucket.allow() for _ in range(attempts))


def test_a_full_bucket_allows_its_burst_then_refuses(clock):
    bucket = TokenBucket(rate=10, burst=5, clock=clock)
    assert takes(bucket, 8) == 5


def test_without_a_burst_the_capacity_is_the_rate(clock):
    bucket = TokenBucket(rate=3, clock=clock)
    assert takes(bucket, 10) == 3


def test_tokens_refill_at_the_rate(clock):
    bucket = TokenBucket(rate=10, burst=5, clock=clock)
    takes(bucket, 5)
    clock.now += 0.25  # 2.5 tokens
    assert takes(bucket, 5) == 2
    clock.now += 0.1  # the half token left plus one: one more
    assert takes(bucket, 5) == 1


def test_refill_never_exceeds_the_burst(clock):
    bucket = TokenBucket(rate=100, burst=4, clock=clock)
    takes(bucket, 4)
    clock.now += 60
    assert takes(bucket, 10) == 4


def test_a_bucket_smaller_than_one_token_never_admits(clock):
    # What a process's share of a stage burst becomes when processes outnumber the burst
    # (burst 2 over four processes): it never fills to a whole token.
    bucket = TokenBucket(rate=1 / 4, burst=2 / 4, clock=clock)
    assert not bucket.allow()
    clock.now += 3600
    assert not bucket.allow()


def test_a_refused_request_takes_no_token(clock):
    bucket = TokenBucket(rate=1, burst=1, clock=clock)
    assert bucket.allow()
    assert not bucket.allow()
    clock.now += 1
    assert bucket.allow()
