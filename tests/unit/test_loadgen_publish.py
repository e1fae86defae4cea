"""Publishing is per interval and stays within the PutMetricData and EMF limits."""

import io
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from chaosaws_serverless import metric_names
from chaosaws_serverless.loadgen.config import LoadConfig, LoadConfigError
from chaosaws_serverless.loadgen.publish import (
    MAX_DATUMS_PER_CALL,
    MAX_VALUES_PER_DATUM,
    CloudWatchPublisher,
    EmfPublisher,
    batches,
    latency_values,
    metric_data,
)
from chaosaws_serverless.loadgen.stats import IntervalStats, classify_status

URL = "https://example.mydomain.com/api/hello"


class RecordingCloudWatch:
    def __init__(self) -> None:
        self.calls: list[list[dict]] = []

    def put_metric_data(self, Namespace: str, MetricData: list[dict]) -> None:
        assert len(MetricData) <= MAX_DATUMS_PER_CALL
        self.calls.append(MetricData)


def interval(requests: int, regions: int = 2, spread_ms: int = 1) -> IntervalStats:
    stats = IntervalStats(start_epoch=1_700_000_000.0)
    for i in range(requests):
        stats.record("2xx" if i % 10 else "5xx", (1 + i % spread_ms) / 1000, f"xx-r{i % regions}-1")
    return stats


def test_status_classes() -> None:
    assert [classify_status(s) for s in (200, 204, 302, 404, 503, 101)] == [
        "2xx", "2xx", "other", "4xx", "5xx", "other",
    ]  # fmt: skip


def test_counts_zeros_and_dimensions() -> None:
    data = metric_data(interval(100), URL, "us-east-1", 1)
    by_name = {d["MetricName"]: d for d in data if "Value" in d}
    assert by_name[metric_names.STATUS_2XX]["Value"] == 90
    assert by_name[metric_names.STATUS_5XX]["Value"] == 10
    assert by_name[metric_names.STATUS_TIMEOUT]["Value"] == 0
    assert by_name["region_xx-r0-1"]["Value"] == 50
    assert all(d["StorageResolution"] == 1 for d in data)
    assert by_name[metric_names.STATUS_2XX]["Dimensions"] == [
        {"Name": "Url", "Value": URL},
        {"Name": "ClientRegion", "Value": "us-east-1"},
    ]


def test_a_region_that_stops_answering_is_published_as_zero() -> None:
    cw = RecordingCloudWatch()
    publisher = CloudWatchPublisher(cw, "ChaosServerless", URL, "us-east-1")
    publisher.publish(interval(10, regions=1))
    publisher.publish(IntervalStats())
    last = {d["MetricName"]: d.get("Value") for d in cw.calls[-1]}
    assert last["region_xx-r0-1"] == 0


@settings(max_examples=25, deadline=None)
@given(requests=st.integers(1, 3000), regions=st.integers(1, 1200), spread=st.integers(1, 2000))
def test_batches_stay_within_the_api_limits(requests: int, regions: int, spread: int) -> None:
    data = metric_data(interval(requests, regions, spread), URL, "us-east-1", 60)
    calls = list(batches(data))
    assert sum(len(c) for c in calls) == len(data)
    assert all(len(c) <= MAX_DATUMS_PER_CALL for c in calls)
    for datum in data:
        assert len(datum.get("Values", [])) <= MAX_VALUES_PER_DATUM
    latency = [d for d in data if d["MetricName"] == metric_names.LATENCY_MS]
    assert sum(sum(d["Counts"]) for d in latency) == requests


def test_calls_per_interval_do_not_depend_on_the_rate() -> None:
    calls = []
    for requests in (10, 10_000):
        cw = RecordingCloudWatch()
        CloudWatchPublisher(cw, "ChaosServerless", URL, "us-east-1").publish(interval(requests))
        calls.append(len(cw.calls))
    assert calls == [1, 1]


def test_emf_lines_declare_the_metrics_and_dimensions() -> None:
    out = io.StringIO()
    EmfPublisher("ChaosServerless", URL, "eu-west-1", 1, stream=out).publish(interval(20))
    record = json.loads(out.getvalue())
    directive = record["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "ChaosServerless"
    assert directive["Dimensions"] == [["ClientRegion", "Url"]]
    names = {m["Name"] for m in directive["Metrics"]}
    assert metric_names.STATUS_2XX in names and record[metric_names.STATUS_2XX] == 18
    assert record["Url"] == URL and record["_aws"]["Timestamp"] == 1_700_000_000_000


def test_config_errors_show_the_value_and_the_fix() -> None:
    cases = {
        "rate_per_second": ({"rate_per_second": 0}, "got 0"),
        "url": ({"url": "localhost:80"}, "got 'localhost:80'"),
        "region_pattern": ({"region_pattern": "no group"}, "group named 'region'"),
        "storage_resolution": ({"storage_resolution": 5}, "got 5"),
    }
    base = {"url": URL, "rate_per_second": 1, "duration_seconds": 1}
    for name, (change, expected) in cases.items():
        try:
            LoadConfig(**{**base, **change})
        except LoadConfigError as error:
            assert expected in str(error), name
        else:
            raise AssertionError(f"{name} accepted")


def test_slow_request_counts_per_threshold_are_published_with_zeros() -> None:
    latencies_ms = [5, 50, 99, 150, 201, 450, 999, 1500, 2500, 6000, 12000, 12000]
    stats = IntervalStats(start_epoch=1_700_000_000.0)
    for latency in latencies_ms:
        stats.record("2xx", latency / 1000, "us-east-1")
    data = metric_data(stats, URL, "us-east-1", 1)
    published = {d["MetricName"]: d["Value"] for d in data if "Value" in d}
    for threshold in metric_names.LATENCY_THRESHOLDS_MS:
        expected = sum(1 for latency in latencies_ms if latency > threshold)
        assert published[metric_names.slower_than_metric(threshold)] == expected, threshold
    quiet = metric_data(IntervalStats(start_epoch=1_700_000_000.0), URL, "us-east-1", 1)
    slow = [d for d in quiet if d["MetricName"].startswith("latency_over_")]
    assert len(slow) == len(metric_names.LATENCY_THRESHOLDS_MS)
    assert {d["Value"] for d in slow} == {0.0}  # zeros: "nobody was slow", not "no data"


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(min_value=0.0005, max_value=60.0), min_size=0, max_size=300))
def test_latency_values_are_what_hdrh_recorded_iterator_reports(seconds: list[float]) -> None:
    stats = IntervalStats(start_epoch=1_700_000_000.0)
    for value in seconds:
        stats.record("2xx", value, None)
    # The judge is hdrh's own iterator over recorded values, rounded as published.
    expected: dict[float, int] = {}
    for item in stats.histogram.get_recorded_iterator():
        value_ms = float(f"{item.value_iterated_to / 1000:.2g}")
        expected[value_ms] = expected.get(value_ms, 0) + item.count_at_value_iterated_to
    assert latency_values(stats) == sorted(expected.items())
