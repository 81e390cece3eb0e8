"""The fan-out tells a throttled connection apart from a gone one, and retries the throttled."""

from __future__ import annotations

from collections import Counter

from botocore.exceptions import ClientError

from session_management import fanout


def throttled() -> ClientError:
    return ClientError({"Error": {"Code": "LimitExceededException", "Message": "Rate exceeded"}}, "PostToConnection")


class ScriptedApi:
    """`answers[connection]`: what each post to it does in turn ("ok", "gone", "throttled")."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers
        self.posts: Counter[str] = Counter()

    def post(self, endpoint: str, connection_id: str, data: bytes) -> bool:
        answer = self.answers[connection_id][min(self.posts[connection_id], len(self.answers[connection_id]) - 1)]
        self.posts[connection_id] += 1
        if answer == "throttled":
            raise throttled()
        return answer == "ok"


def test_a_throttled_post_is_retried_and_never_counted_gone():
    api = ScriptedApi(
        {"reader": ["ok"], "gone": ["gone"], "behind": ["throttled", "ok"], "stalled": ["throttled", "throttled"]}
    )
    result = fanout.broadcast(api, "https://e/prod", list(api.answers), {"type": "x"}, retry_pause_seconds=0)  # type: ignore[arg-type]
    assert sorted(result.delivered) == ["behind", "reader"]
    assert result.gone == ["gone"]  # only a 410 removes a listener
    assert result.failed == ["stalled"]  # still throttled after the retry: kept, and counted as a failure
    assert api.posts == Counter({"reader": 1, "gone": 1, "behind": 2, "stalled": 2})


def test_other_errors_are_failures_without_a_retry():
    class Broken(ScriptedApi):
        def post(self, endpoint: str, connection_id: str, data: bytes) -> bool:
            self.posts[connection_id] += 1
            raise ConnectionError("reset")

    api = Broken({"a": ["ok"]})
    result = fanout.broadcast(api, "https://e/prod", ["a"], {"type": "x"}, retry_pause_seconds=0)  # type: ignore[arg-type]
    assert result.failed == ["a"] and api.posts["a"] == 1
