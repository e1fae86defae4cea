"""The open-loop engine against a local aiohttp API: exact counts and classification."""

import threading
import time
from typing import Any

import pytest

from chaosaws_serverless.loadgen.config import LoadConfig
from chaosaws_serverless.loadgen.engine import LoadGenerator, run_load_sync
from chaosaws_serverless.loadgen.publish import CallbackPublisher, CloudWatchPublisher
from chaosaws_serverless.loadgen.stats import IntervalStats
from chaosaws_serverless.loadgen.workers import run_load_workers
from tests.support.loadgen_server import (
    LocalApi,
    fixture_local_api,  # noqa: F401  # registers the `local_api` fixture
)


def run(url: str, rate: float = 40, duration: float = 0.5, **kwargs: Any) -> dict[str, Any]:
    options = {k: kwargs.pop(k) for k in list(kwargs) if k in LoadConfig.__dataclass_fields__}
    # Exact counts below: a busy test machine must not make the generator shed.
    options.setdefault("max_send_lag_seconds", 2.0)
    config = LoadConfig(url=url, rate_per_second=rate, duration_seconds=duration, **options)
    return run_load_sync(config, handle_signals=False, **kwargs)


@pytest.mark.parametrize(
    ("path", "key"),
    [
        ("/us", "status_2xx"),
        ("/status/404", "status_4xx"),
        ("/status/503", "status_5xx"),
        ("/status/302", "status_other"),
    ],
)
@pytest.mark.parametrize("http_client", ["httptools", "aiohttp"])
def test_every_answer_is_counted_in_its_class(
    local_api: LocalApi, path: str, key: str, http_client: str
) -> None:
    summary = run(local_api.base_url + path, rate=40, duration=0.5, http_client=http_client)
    assert summary["http_client"] == http_client
    assert summary["planned"] == summary["sent"] == summary["completed"] == 20
    assert summary[key] == 20
    assert summary["dropped"] == 0
    classes = [k for k in summary if k.startswith("status_")]
    assert sum(summary[k] for k in classes) == 20


def test_answering_region_is_parsed_from_the_body(local_api: LocalApi) -> None:
    assert run(local_api.base_url + "/eu")["regions"] == {"eu-west-1": 20}
    summary = run(local_api.base_url + "/noregion")
    assert summary["regions"] == {} and summary["region_unparsed"] == 20


def test_region_pattern_is_configurable(local_api: LocalApi) -> None:
    summary = run(local_api.base_url + "/us", region_pattern=r"region (\S+)-east")
    assert summary["regions"] == {"us": 20}


def test_slow_answers_are_timeouts_with_latency_from_the_intended_time(local_api: LocalApi) -> None:
    summary = run(local_api.base_url + "/slow", rate=20, duration=0.5, timeout_seconds=0.3)
    assert summary["status_timeout"] == 10
    assert 300 <= summary["latency_ms"]["p50"] < 1000


def test_unreachable_host_counts_connect_errors(local_api: LocalApi) -> None:
    summary = run("http://127.0.0.1:9/", rate=20, duration=0.5)
    assert summary["status_connect_error"] == 10
    assert summary["completed"] == 10


@pytest.mark.parametrize("http_client", ["httptools", "aiohttp"])
def test_garbage_answers_are_invalid_responses_not_crashes(
    local_api: LocalApi, http_client: str
) -> None:
    summary = run(local_api.garbage_url, rate=20, duration=0.5, http_client=http_client)
    assert summary["completed"] == summary["status_invalid_response"] == 10


def test_resolve_hook_sends_a_name_to_a_local_port(local_api: LocalApi) -> None:
    port = int(local_api.base_url.rsplit(":", 1)[1])
    asked: list[str] = []

    def resolve(host: str) -> tuple[str, int]:
        asked.append(host)
        return ("127.0.0.1", port)

    summary = run("http://example.mydomain.com/us", resolve=resolve)
    assert summary["status_2xx"] == 20
    assert asked and set(asked) == {"example.mydomain.com"}


def test_in_flight_cap_drops_instead_of_queueing(local_api: LocalApi) -> None:
    summary = run(
        local_api.base_url + "/slow", rate=40, duration=0.5, timeout_seconds=0.5, max_in_flight=5
    )
    assert summary["sent"] == 5
    assert summary["dropped"] == 15
    assert summary["sent"] + summary["dropped"] == summary["planned"]


def test_one_publish_per_interval_whatever_the_rate(local_api: LocalApi) -> None:
    calls = []
    for rate in (10, 200):
        intervals: list[IntervalStats] = []
        summary = run(
            local_api.base_url + "/us",
            rate=rate,
            duration=1.0,
            interval_seconds=0.25,
            publisher=CallbackPublisher(intervals.append),
        )
        assert sum(i.completed for i in intervals) == summary["completed"] == rate
        # One per elapsed interval plus the closing one: set by the clock, not the rate.
        ticks = int(summary["elapsed_seconds"] / 0.25)
        assert len(intervals) == summary["intervals"] in (ticks, ticks + 1)
        calls.append(len(intervals))
    assert abs(calls[0] - calls[1]) <= 1  # 20x the requests, the same number of publishes


def test_load_generator_runs_in_a_thread_and_stops_cleanly(local_api: LocalApi) -> None:
    seen: list[int] = []
    config = LoadConfig(
        url=local_api.base_url + "/us",
        rate_per_second=50,
        duration_seconds=30,
        interval_seconds=0.2,
    )
    generator = LoadGenerator(config, on_interval=lambda i: seen.append(i.completed)).start()
    time.sleep(0.5)
    assert generator.running
    started = time.monotonic()
    generator.stop()
    summary = generator.join(timeout=10)
    assert summary is not None and time.monotonic() - started < 3
    assert summary["stopped_early"] is True
    assert summary["sent"] == summary["completed"] == summary["status_2xx"] > 0
    assert sum(seen) == summary["completed"]
    assert threading.active_count() < 50


class ThrottledCloudWatch:
    """A CloudWatch client that always fails (what adaptive retries gave up on)."""

    def __init__(self) -> None:
        self.calls = 0

    def put_metric_data(self, **kwargs: Any) -> None:
        self.calls += 1
        raise RuntimeError("Throttling: Rate exceeded")


def test_a_failing_publish_is_retried_and_never_stops_the_load(local_api: LocalApi) -> None:
    cw = ThrottledCloudWatch()
    publisher = CloudWatchPublisher(
        cw, "ChaosServerless", "u", "us-east-1", attempts=3, sleep=lambda s: None
    )
    summary = run(local_api.base_url + "/us", rate=20, duration=0.5, publisher=publisher)
    assert summary["status_2xx"] == 10
    assert cw.calls == 3  # one interval, three attempts
    assert summary["failed_calls"] == 1 and "Throttling" in summary["last_error"]


def test_customers_resolve_again_and_follow_a_changed_answer(local_api: LocalApi) -> None:
    # Recycled connections + no DNS cache: a failover (new answer) reaches the customers.
    port = int(local_api.base_url.rsplit(":", 1)[1])
    answers: list[str] = []

    def resolve(host: str) -> tuple[str, int]:
        answers.append(host)
        return ("127.0.0.1", port if len(answers) < 3 else 9)  # the third answer is dead

    summary = run(
        "http://example.mydomain.com/us",
        rate=40,
        duration=1.5,
        resolve=resolve,
        dns_cache_seconds=0,
        connection_max_age_seconds=0.4,
        timeout_seconds=0.5,
    )
    assert len(answers) >= 3
    assert summary["status_2xx"] > 0 and summary["status_connect_error"] > 0
    assert summary["status_2xx"] + summary["status_connect_error"] == summary["sent"] == 60


def test_a_generator_that_cannot_keep_the_rate_sheds_and_says_saturated(
    local_api: LocalApi,
) -> None:
    # The progress callback blocks the loop 0.6 s: whatever the machine, the requests due
    # then are more than 0.1 s late when it wakes. They must be shed and counted, and the
    # run reported saturated, not measured as the API's latency.
    def stall(snapshot: dict[str, Any]) -> None:
        time.sleep(0.6)

    summary = run(
        local_api.base_url + "/us",
        rate=200,
        duration=1.5,
        max_send_lag_seconds=0.1,
        on_progress=stall,
        progress_seconds=0.3,
    )
    assert summary["saturated"] is True and summary["saturated_intervals"] >= 1
    assert summary["shed"] >= 100  # ≥ (0.6 - 0.1) s x 200 req/s
    assert summary["shed"] <= summary["dropped"]
    assert summary["sent"] + summary["dropped"] == summary["planned"] == 300
    assert summary["generator_lag_ms"]["loop_lag_max"] >= 500
    assert summary["held_rate_per_second"] < 200


def test_workers_share_one_plan_with_one_publish_per_interval(local_api: LocalApi) -> None:
    published: list[IntervalStats] = []
    config = LoadConfig(
        url=local_api.base_url + "/eu",
        rate_per_second=40,
        duration_seconds=1.0,
        interval_seconds=0.5,
        max_send_lag_seconds=2.0,
    )
    summary = run_load_workers(
        config, 2, publisher=CallbackPublisher(published.append), handle_signals=False
    )
    assert summary["workers"] == 2
    assert summary["planned"] == summary["sent"] == summary["status_2xx"] == 40
    assert summary["regions"] == {"eu-west-1": 40}
    # One merged publish per interval, carrying both workers' counts.
    assert len(published) == summary["intervals"]
    assert sum(i.counts["2xx"] for i in published) == 40
    assert sum(i.histogram.get_total_count() for i in published) == 40
