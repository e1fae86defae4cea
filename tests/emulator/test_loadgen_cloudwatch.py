"""generate_load publishes per-interval counts that arrive in moto's CloudWatch."""

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from chaoslib.exceptions import ActivityFailed

from chaosaws_serverless import metric_names
from chaosaws_serverless.loadgen.actions import generate_load
from tests.support.loadgen_server import (
    LocalApi,
    fixture_local_api,  # noqa: F401  # registers the `local_api` fixture
)

EU = "eu-west-1"


def metric_sum(cw: Any, name: str, url: str, client_region: str) -> float:
    now = datetime.now(UTC)
    answer = cw.get_metric_statistics(
        Namespace=metric_names.DEFAULT_NAMESPACE,
        MetricName=name,
        Dimensions=[
            {"Name": metric_names.DIMENSION_URL, "Value": url},
            {"Name": metric_names.DIMENSION_CLIENT_REGION, "Value": client_region},
        ],
        StartTime=now - timedelta(minutes=5),
        EndTime=now + timedelta(minutes=1),
        Period=60,
        Statistics=["Sum"],
    )
    return sum(point["Sum"] for point in answer["Datapoints"])


def test_counts_arrive_in_cloudwatch_with_names_dimensions_and_sums(
    local_api: LocalApi, configuration: dict[str, Any], aws: Callable[..., Any]
) -> None:
    url = local_api.base_url + "/eu"
    hits_before = local_api.hits.get("/eu", 0)  # the server is shared by the session's tests
    summary = generate_load(
        url,
        40,
        1,
        client_region="us-east-1",
        interval_seconds=0.5,
        region=EU,
        configuration=configuration,
    )
    # A generator behind on a busy machine sheds (counts, never sends) what it cannot send
    # on time; the judge of what was answered is the server's own count of requests.
    answered = summary["status_2xx"]
    assert summary["failed_calls"] == 0 and answered + summary["dropped"] == 40, summary
    assert answered == local_api.hits["/eu"] - hits_before >= 30, summary
    # One call per interval (2 full + the closing one), not per request.
    assert summary["put_metric_data_calls"] == summary["intervals"] <= 3
    time.sleep(1.1)  # moto does not return datapoints of the current second
    cw = aws("cloudwatch", EU)
    assert metric_sum(cw, metric_names.STATUS_2XX, url, "us-east-1") == answered
    assert metric_sum(cw, metric_names.region_metric(EU), url, "us-east-1") == answered
    for name in (metric_names.STATUS_5XX, metric_names.STATUS_TIMEOUT):
        assert metric_sum(cw, name, url, "us-east-1") == 0  # zeros, not missing data
    listed = cw.list_metrics(Namespace=metric_names.DEFAULT_NAMESPACE)["Metrics"]
    names = {m["MetricName"] for m in listed}
    assert {*metric_names.STATUS_METRICS, "region_eu-west-1", "latency_ms"} <= names
    assert aws("cloudwatch", "us-east-1").list_metrics()["Metrics"] == []  # only in `region`


def test_client_region_defaults_to_the_publishing_region(
    local_api: LocalApi, configuration: dict[str, Any], aws: Callable[..., Any]
) -> None:
    url = local_api.base_url + "/status/503"
    hits_before = local_api.hits.get("/status/503", 0)
    summary = generate_load(url, 20, 0.5, configuration=configuration)
    answered = summary["status_5xx"]
    assert summary["client_region"] == "us-east-1" and answered + summary["dropped"] == 10
    assert answered == local_api.hits["/status/503"] - hits_before >= 5, summary
    time.sleep(1.1)
    assert metric_sum(aws("cloudwatch"), metric_names.STATUS_5XX, url, "us-east-1") == answered


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"url": "ftp://x/"}, "http:// or https://"),
        ({"rate_per_second": 0}, "rate_per_second must be a number > 0"),
        ({"duration_seconds": -1}, "duration_seconds must be a number > 0"),
        ({"publish": "kafka"}, "publish must be one of cloudwatch, emf, none"),
        ({"client_region": "mars"}, "client_region must be an AWS region"),
    ],
)
def test_bad_input_is_refused_before_any_request(
    configuration: dict[str, Any], kwargs: dict[str, Any], message: str
) -> None:
    args = {"url": "http://127.0.0.1:9/", "rate_per_second": 1, "duration_seconds": 1, **kwargs}
    with pytest.raises(ActivityFailed, match=message):
        generate_load(**args, configuration=configuration)
