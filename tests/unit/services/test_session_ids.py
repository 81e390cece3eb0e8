from __future__ import annotations

import itertools

from session_management import session_ids
from session_management.session_ids import ADJECTIVES, NOUNS, generate_session_id, is_blocked, is_session_id


def test_word_lists_are_large_simple_and_unique():
    for words in (ADJECTIVES, NOUNS):
        assert len(words) >= 100
        assert len(set(words)) == len(words)
        assert all(word.isalpha() and word.islower() and len(word) <= 10 for word in words)


def test_generated_ids_match_the_pattern_and_suffix_range():
    for _ in range(2000):
        session_id = generate_session_id()
        assert is_session_id(session_id)
        assert 100 <= int(session_id.rsplit("-", 1)[1]) <= 999


def test_blocklist_applies_to_every_combination():
    blocked = {(a, n) for a, n in itertools.product(ADJECTIVES, NOUNS) if is_blocked(a, n)}
    assert ("eager", "beaver") in blocked
    # A generator forced onto a blocked pair draws again instead of issuing it.
    draws = iter(
        [ADJECTIVES.index("eager"), NOUNS.index("beaver"), ADJECTIVES.index("golden"), NOUNS.index("eagle"), 327]
    )
    assert generate_session_id(lambda _: next(draws)) == "golden-eagle-427"


def test_fragments_are_blocked_across_the_join():
    assert is_blocked("calm", "tide") is False
    assert session_ids.is_blocked("big", "sexton") is True


def test_pattern_rejects_lookalikes():
    for bad in ("golden-eagle-42", "golden-eagle-0427", "Golden-eagle-427", "golden_eagle_427", "golden-eagle-099", ""):
        assert not is_session_id(bad)
