"""Interval statistics: the batched latency histogram is hdrh's own, value for value."""

from hdrh.histogram import HdrHistogram
from hypothesis import given
from hypothesis import strategies as st

from chaosaws_serverless.loadgen.stats import IntervalStats, RunTotals

latencies_s = st.lists(
    st.one_of(st.floats(0, 0.05), st.floats(0, 7200), st.just(0.0)), max_size=300
)


@given(latencies_s)
def test_flushed_histogram_equals_one_record_value_per_request(latencies: list[float]) -> None:
    interval = IntervalStats()
    for latency in latencies:
        interval.record("2xx", latency)
    # The judge: hdrh fed one value at a time, clamped to its 1 µs .. 1 h range.
    expected = HdrHistogram(1, 3_600_000_000, 3)
    for latency in latencies:
        expected.record_value(min(3_600_000_000, max(1, int(latency * 1e6))))
    assert interval.histogram.get_total_count() == expected.get_total_count() == len(latencies)
    assert interval.histogram.encode() == expected.encode()


@given(latencies_s, latencies_s)
def test_every_reader_sees_pending_latencies(first: list[float], second: list[float]) -> None:
    a, b = IntervalStats(), IntervalStats()
    for latency in first:
        a.record("2xx", latency)
    for latency in second:
        b.record("5xx", latency)
    wire = IntervalStats.from_wire(b.to_wire())
    assert wire.histogram.get_total_count() == len(second)
    a.merge(IntervalStats.from_wire(IntervalStats().to_wire()))
    totals = RunTotals()
    totals.add(a)
    assert totals.histogram.get_total_count() == len(first)
    if first:
        assert a.latency_ms()["max"] is not None
