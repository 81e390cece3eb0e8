from __future__ import annotations

from botocore.exceptions import EndpointConnectionError

from session_management import resource_names as names
from session_management.repositories.rate_limits import RateLimitRepository


def test_fixed_window_allows_up_to_the_limit_then_reports_retry_after(dynamodb):
    limits = RateLimitRepository(dynamodb, names.rate_limits_table("test"))
    now = 1_000_000.0  # 40 s into a one-minute window
    assert [limits.hit("ip:1", 2, 60, now).allowed for _ in range(3)] == [True, True, False]
    assert limits.hit("ip:1", 2, 60, now).retry_after == 20
    assert limits.hit("ip:1", 2, 60, now + 60).allowed  # the next window starts afresh


class Unreachable:
    def update_item(self, **_):
        raise EndpointConnectionError(endpoint_url="http://nowhere")


def test_limits_fail_open_when_the_table_is_unavailable():
    assert RateLimitRepository(Unreachable(), names.rate_limits_table("test")).hit("ip:1", 1, 60).allowed
