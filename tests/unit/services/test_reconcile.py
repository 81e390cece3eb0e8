"""The periodic job's liveness sampling: bounded GETs per run, every connection still checked."""

from __future__ import annotations

from session_management.reconcile import liveness_due


def test_one_bucket_checks_every_connection_every_run():
    assert all(liveness_due(f"conn-{i}=", minute, 1) for i in range(100) for minute in range(3))


def test_each_connection_is_checked_exactly_once_per_cycle_of_buckets():
    ids = [f"Bx{i:06d}AMCJ-Q=" for i in range(50_000)]
    buckets = 10
    per_minute = [sum(liveness_due(c, minute, buckets) for c in ids) for minute in range(buckets)]
    assert sum(per_minute) == len(ids)  # each id in exactly one of the ten runs
    assert max(per_minute) < 5_500  # and the runs share the work evenly (5,000 each on average)
    assert [liveness_due(ids[0], m, buckets) for m in range(buckets)].count(True) == 1
