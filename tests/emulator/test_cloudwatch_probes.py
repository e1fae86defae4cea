"""CloudWatch probes read back what a publisher wrote (moto server), ratios from raw sums."""

from typing import Any, Callable

import pytest
from chaoslib.exceptions import ActivityFailed

from chaosaws_serverless import metric_names as names
from chaosaws_serverless.cloudwatch import probes
from tests.support.lambdas import EU, US
from tests.support.metrics import URL, publish, traffic


def test_error_ratio_counts_5xx_and_no_answers_over_all_outcomes(
    configuration: dict[str, Any], aws: Callable[..., Any]
) -> None:
    traffic(aws)
    us = probes.get_error_ratio(URL, 60, client_region=US, configuration=configuration)
    assert us == pytest.approx(8 / 100)
    eu = probes.get_error_ratio(URL, 60, client_region=EU, configuration=configuration)
    assert eu == 0.0  # datapoints of zero errors: a real 0, not "no data"
    everyone = probes.get_error_ratio(URL, 60, configuration=configuration)
    assert everyone == pytest.approx(8 / 200)


def test_requests_by_region_and_share(
    configuration: dict[str, Any], aws: Callable[..., Any]
) -> None:
    traffic(aws)
    assert probes.get_requests_by_region(URL, 60, configuration=configuration) == {
        EU: 142,
        US: 56,
    }
    assert probes.get_requests_by_region(
        URL, 60, client_region=US, configuration=configuration
    ) == {
        EU: 42,
        US: 56,
    }
    share = probes.get_region_share(URL, EU, 60, client_region=US, configuration=configuration)
    assert share == pytest.approx(42 / 98)


def test_aggregate_series_is_not_counted_twice(
    configuration: dict[str, Any], aws: Callable[..., Any]
) -> None:
    publish(aws, {"status_2xx": 10, "status_5xx": 10}, US)
    publish(aws, {"status_2xx": 10, "status_5xx": 10}, None)  # the aggregate of the same traffic
    assert probes.get_error_ratio(URL, 60, configuration=configuration) == pytest.approx(0.5)
    total = probes.get_metric_sum(
        names.DEFAULT_NAMESPACE, "status_5xx", {"Url": URL}, 60, configuration=configuration
    )
    assert total == 10.0


def test_metric_sum_reads_one_series_and_zero_is_not_missing(
    configuration: dict[str, Any], aws: Callable[..., Any]
) -> None:
    publish(aws, {"status_5xx": 0}, US, seconds_ago=3)
    publish(aws, {"status_5xx": 0}, US, seconds_ago=20)
    dims = {"Url": URL, "ClientRegion": US}
    assert (
        probes.get_metric_sum(
            "ChaosServerless", "status_5xx", dims, 60, configuration=configuration
        )
        == 0.0
    )


def test_no_data_is_an_error_not_zero(configuration: dict[str, Any]) -> None:
    with pytest.raises(ActivityFailed, match="no data"):
        probes.get_error_ratio(URL, 60, configuration=configuration)
    with pytest.raises(ActivityFailed, match="no data"):
        probes.get_metric_sum("Empty/Namespace", "status_5xx", {}, 60, configuration=configuration)
    with pytest.raises(ActivityFailed, match="no data"):
        probes.get_requests_by_region(URL, 60, configuration=configuration)


def test_data_older_than_the_window_is_not_read(
    configuration: dict[str, Any], aws: Callable[..., Any]
) -> None:
    publish(aws, {"status_2xx": 10}, US, seconds_ago=120)
    with pytest.raises(ActivityFailed, match="no data"):
        probes.get_error_ratio(URL, 60, client_region=US, configuration=configuration)


def test_only_zero_requests_make_the_ratio_undefined(
    configuration: dict[str, Any], aws: Callable[..., Any]
) -> None:
    publish(aws, {name: 0 for name in names.STATUS_METRICS}, US)
    with pytest.raises(ActivityFailed, match="no requests"):
        probes.get_error_ratio(URL, 60, client_region=US, configuration=configuration)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"window_seconds": 5}, "window_seconds 5 is shorter than the metric period of 10 s"),
        ({"window_seconds": "a minute"}, "window_seconds must be a number"),
        ({"window_seconds": "4"}, "window_seconds 4 is shorter"),
        ({"window_seconds": 60, "client_region": "Europe"}, "'Europe' is not an AWS region"),
        ({"window_seconds": 60, "url": ""}, "url must be a non-empty string"),
    ],
)
def test_bad_input_is_one_clear_error(
    configuration: dict[str, Any], kwargs: dict[str, Any], message: str
) -> None:
    arguments = {"url": URL, **kwargs}
    with pytest.raises(ActivityFailed, match=message):
        probes.get_error_ratio(**arguments, configuration=configuration)


def test_configured_period_is_validated(configuration: dict[str, Any]) -> None:
    configuration["metric_period_seconds"] = 7
    with pytest.raises(ActivityFailed, match="'metric_period_seconds' must be 1, 5, 10, 30"):
        probes.get_error_ratio(URL, 60, configuration=configuration)


def test_alarm_state_follows_set_alarm_state(
    configuration: dict[str, Any], aws: Callable[..., Any]
) -> None:
    cloudwatch = aws("cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName="errors",
        Namespace="ChaosServerless",
        MetricName="status_5xx",
        Statistic="Sum",
        Period=10,
        EvaluationPeriods=1,
        Threshold=5,
        ComparisonOperator="GreaterThanThreshold",
    )
    cloudwatch.set_alarm_state(AlarmName="errors", StateValue="ALARM", StateReason="test")
    assert probes.get_alarm_state("errors", configuration=configuration) == "ALARM"
    cloudwatch.set_alarm_state(AlarmName="errors", StateValue="OK", StateReason="test")
    assert probes.get_alarm_state("errors", configuration=configuration) == "OK"
    with pytest.raises(ActivityFailed, match=r"alarm\(s\) \['nope'\] not found in us-east-1"):
        probes.get_alarm_state("nope", configuration=configuration)
