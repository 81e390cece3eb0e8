"""A load run's progress lines: written by the conductor, echoed by the parent while it waits."""

from __future__ import annotations

from types import SimpleNamespace

from loadtests import progress


class Entry:
    def __init__(self, name: str, requests: int, p95: float) -> None:
        self.name, self.num_requests, self._p95 = name, requests, p95

    def get_response_time_percentile(self, percent: float) -> float:
        assert percent == 0.95
        return self._p95


def test_a_progress_line_has_phase_connections_p95_failures_and_what_remains():
    stats = SimpleNamespace(
        entries={("create", "WS"): Entry("create", 3, 812.4), ("heartbeat", "WS"): Entry("heartbeat", 90, 12.0)},
        total=SimpleNamespace(num_failures=2),
    )
    line = progress.progress_line("ramp", 4210, 10020, stats, 35.2, 845.0)
    assert (
        line
        == "[   35s] ramp    connections 4,210/10,020  p95 create 812 ms heartbeat 12 ms  failures 2  remaining <= 845s"
    )


def test_the_parent_prints_each_new_line_once(tmp_path):
    path = progress.progress_file(tmp_path, "service")
    printed: list[str] = []
    echo = progress.ProgressEcho(path, "locust:", printed.append)
    echo.echo()  # nothing yet
    path.write_text("[    5s] ramp a\n")
    echo.echo()
    with path.open("a") as out:
        out.write("[   10s] steady b\n[   15s] partial")  # a line still being written waits
    echo.echo()
    assert printed == ["locust: [    5s] ramp a", "locust: [   10s] steady b"]


def test_waiting_echoes_until_the_process_ends(tmp_path):
    path = progress.progress_file(tmp_path, "floor")
    path.write_text("[    5s] ramp x\n")
    polls = iter([None, None, 0])
    process = SimpleNamespace(poll=lambda: next(polls))
    printed: list[str] = []
    status = progress.wait_echoing(process, progress.ProgressEcho(path, "floor:", printed.append), 10, poll=0)
    assert status == 0 and printed == ["floor: [    5s] ramp x"]
