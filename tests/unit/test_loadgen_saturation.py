"""Saturation detection and worker merging: pure functions, no timing assertions."""

from pathlib import Path
from typing import Any

import pytest

from chaosaws_serverless import metric_names
from chaosaws_serverless.loadgen.config import LoadConfig
from chaosaws_serverless.loadgen.governor import BUSY_SATURATED, BUSY_SLACK, govern
from chaosaws_serverless.loadgen.publish import counts_of, metric_data
from chaosaws_serverless.loadgen.stats import IntervalStats, RunTotals
from chaosaws_serverless.loadgen.workers import IntervalMerger, merge_progress, worker_config


def interval(sent: int = 0, dropped: int = 0, shed: int = 0, **kwargs: Any) -> IntervalStats:
    stats = IntervalStats(start_epoch=1000.0, end_epoch=1010.0)
    stats.sent, stats.dropped, stats.shed = sent, dropped, shed
    for name, value in kwargs.items():
        setattr(stats, name, value)
    return stats


def test_an_interval_that_shed_more_than_one_percent_is_saturated() -> None:
    # 1 % of 1000 due: 10 shed is at the bound, 11 is past it.
    assert not interval(sent=990, dropped=10, shed=10).judge_saturation()
    assert interval(sent=989, dropped=11, shed=11).judge_saturation()


def test_requests_dropped_at_the_configured_in_flight_cap_do_not_make_it_saturated() -> None:
    # A slow API fills max_in_flight: that is the API's doing, counted as dropped, not shed.
    assert not interval(sent=500, dropped=500, shed=0).judge_saturation()


def test_saturation_is_in_the_summary_and_in_the_published_metrics() -> None:
    totals = RunTotals()
    ok, bad = interval(sent=100), interval(sent=50, dropped=50, shed=50)
    for stats in (ok, bad):
        stats.judge_saturation()
        totals.add(stats)
    summary = totals.summary(2.0, 200)
    assert summary["saturated"] is True and summary["saturated_intervals"] == 1
    assert summary["shed"] == 50
    assert counts_of(bad, [])[metric_names.GENERATOR_SATURATED] == 1
    assert counts_of(ok, [])[metric_names.GENERATOR_SATURATED] == 0
    datums = {d["MetricName"]: d for d in metric_data(bad, "http://x/", "us-east-1", 1)}
    assert datums[metric_names.GENERATOR_SATURATED]["Value"] == 1.0
    assert datums[metric_names.GENERATOR_SHED]["Value"] == 50.0
    # The existing metrics are unchanged.
    assert {metric_names.STATUS_2XX, metric_names.STATUS_5XX} <= set(datums)


def test_a_run_never_saturated_says_so() -> None:
    totals = RunTotals()
    stats = interval(sent=100)
    stats.judge_saturation()
    totals.add(stats)
    assert totals.summary(1.0, 100)["saturated"] is False


@pytest.mark.parametrize(
    ("flow_cap", "in_flight", "busy", "late", "expected"),
    [
        (1000, 500, BUSY_SATURATED, False, 400),  # behind: below what is in flight
        (1000, 500, 0.5, True, 400),  # the loop is late: same
        (300, 500, 1.0, False, 300),  # never raised while behind
        (1000, 2, 1.0, False, 8),  # a floor, so it can always measure
        (400, 10, BUSY_SLACK - 0.01, False, 800),  # slack: doubled
        (800, 10, 0.1, False, 1000),  # ... up to the configured cap
        (400, 10, (BUSY_SLACK + BUSY_SATURATED) / 2, False, 400),  # between: unchanged
    ],
)
def test_govern_cuts_in_flight_when_behind_and_restores_it_with_slack(
    flow_cap: int, in_flight: int, busy: float, late: bool, expected: int
) -> None:
    assert govern(flow_cap, in_flight, 1000, busy, late) == expected


def test_worker_intervals_merge_exactly() -> None:
    a, b = interval(sent=10, dropped=1, shed=1), interval(sent=20, dropped=2)
    a.record("2xx", 0.001, "us-east-1")
    a.record("5xx", 0.002)
    b.record("2xx", 0.003, "eu-west-1")
    b.record("timeout", 5.0)
    b.loop_lag_max_s, b.saturated = 0.3, True
    merged = IntervalStats.from_wire(a.to_wire())
    merged.merge(IntervalStats.from_wire(b.to_wire()))
    assert (merged.sent, merged.dropped, merged.shed) == (30, 3, 1)
    assert merged.counts["2xx"] == 2 and merged.counts["5xx"] == 1
    assert merged.counts["timeout"] == 1
    assert merged.regions == {"us-east-1": 1, "eu-west-1": 1}
    assert merged.histogram.get_total_count() == 4
    assert merged.histogram.get_max_value() >= 4_990_000  # the 5 s timeout, in µs
    assert merged.saturated and merged.loop_lag_max_s == 0.3


def test_the_merger_emits_each_interval_once_in_order_when_every_worker_sent_it() -> None:
    emitted: list[IntervalStats] = []
    merger = IntervalMerger(2, emitted.append)
    merger.add(0, 0, interval(sent=1))
    merger.add(0, 1, interval(sent=2))
    assert emitted == []  # worker 1 has not sent interval 0 yet
    merger.add(1, 0, interval(sent=10))
    assert [i.sent for i in emitted] == [11]
    merger.add(1, 1, interval(sent=20))
    assert [i.sent for i in emitted] == [11, 22]
    # Worker 0 ends one interval earlier than worker 1: its last one still comes out.
    merger.add(1, 2, interval(sent=30))
    merger.finish(1)
    assert len(emitted) == 2
    merger.finish(0)
    assert [i.sent for i in emitted] == [11, 22, 30]
    with pytest.raises(ValueError, match="after it was emitted"):
        merger.add(0, 0, interval())


def test_the_merger_flushes_what_is_left_in_order() -> None:
    emitted: list[IntervalStats] = []
    merger = IntervalMerger(3, emitted.append)
    merger.add(2, 1, interval(sent=5))
    merger.add(0, 0, interval(sent=1))
    merger.flush()
    assert [i.sent for i in emitted] == [1, 5]


def test_a_duplicate_interval_is_refused() -> None:
    merger = IntervalMerger(2, lambda _: None)
    merger.add(0, 0, interval())
    with pytest.raises(ValueError, match="twice"):
        merger.add(0, 0, interval())


def test_progress_of_workers_adds_up_and_any_saturation_shows() -> None:
    def snap(sent: int, saturated: bool, p99: float | None) -> dict[str, Any]:
        return {
            "elapsed_seconds": 2.0,
            "sent": sent,
            "dropped": 1,
            "shed": 1,
            "completed": sent,
            "in_flight": 3,
            "counts": {"2xx": sent},
            "latency_ms": {"p99": p99},
            "saturated": saturated,
            "held_rate_per_second": sent / 2,
        }

    merged = merge_progress([snap(100, False, 2.0), snap(50, True, 9.0)])
    assert merged["sent"] == 150 and merged["counts"]["2xx"] == 150
    assert merged["saturated"] is True and merged["held_rate_per_second"] == 75.0
    assert merged["latency_ms"]["p99"] == 9.0


def test_each_worker_gets_its_share_of_the_rate_and_caps() -> None:
    config = LoadConfig(url="http://x/", rate_per_second=1000, duration_seconds=10)
    share = worker_config(config, 4)
    assert share.rate_per_second == 250
    assert share.in_flight_cap * 4 >= config.in_flight_cap
    assert share.connection_cap * 4 >= config.connection_cap


def test_thread_pressure_sees_a_busy_generator_thread_and_ignores_others() -> None:
    import sys
    import threading

    from chaosaws_serverless.loadgen.governor import ThreadPressure

    if not sys.platform.startswith("linux"):
        pytest.skip("schedstat is Linux's")
    stop = threading.Event()

    def spin() -> None:  # a busy thread that is not the generator's (a server's, say)
        while not stop.is_set():
            pass

    other = threading.Thread(target=spin, daemon=True)
    other.start()
    try:
        pressure = ThreadPressure()
        # The calling (loop) thread busy: it counts. Measured by CPU work done, not by a
        # wall-clock threshold, so a loaded machine only makes it busier.
        total = 0
        for i in range(2_000_000):
            total += i
        busy, running = pressure.sample()
    finally:
        stop.set()
        other.join()
    assert 0.0 < running <= busy <= 1.0
    # The loop (calling) thread is the one measured, never the spinning server thread.
    assert pressure._file == Path(f"/proc/self/task/{threading.get_native_id()}/schedstat")
