"""Dashboard and alarm actions on the moto server: round trips and rollback partners."""

import json
from typing import Any, Callable

import pytest
from chaoslib.exceptions import ActivityFailed

from chaosaws_serverless.cloudwatch import actions
from chaosaws_serverless.cloudwatch.dashboard import experiment_dashboard_body

URL = "https://example.mydomain.com/api/hello"
US, EU = "us-east-1", "eu-west-1"
CHECKS = {US: "check-us", EU: "check-eu"}


def test_dashboard_body_round_trips_through_get_dashboard(
    configuration: dict[str, Any], aws: Callable[..., Any]
) -> None:
    written = actions.put_experiment_dashboard(
        "region-failure", URL, CHECKS, configuration=configuration
    )
    assert written["widgets"] == 4  # health, answered-by-region, status codes x 2 customer regions
    assert written["dashboard_arn"].endswith(":dashboard/region-failure")
    stored = json.loads(
        aws("cloudwatch").get_dashboard(DashboardName="region-failure")["DashboardBody"]
    )
    assert stored == experiment_dashboard_body(URL, CHECKS, [US, EU], [US, EU], US)

    health, answered, us_codes, eu_codes = stored["widgets"]
    assert health["properties"]["region"] == "us-east-1"
    assert health["properties"]["metrics"][0][:4] == [
        "AWS/Route53",
        "HealthCheckStatus",
        "HealthCheckId",
        "check-eu",
    ]
    labels = [line[-1]["label"] for line in answered["properties"]["metrics"]]
    assert "us-east-1 customers answered by eu-west-1" in labels
    assert answered["properties"]["metrics"][0][:6] == [
        "ChaosServerless",
        "region_us-east-1",
        "Url",
        URL,
        "ClientRegion",
        US,
    ]
    assert [line[1] for line in us_codes["properties"]["metrics"]] == [
        "status_2xx",
        "status_4xx",
        "status_5xx",
        "status_timeout",
        "status_connect_error",
        "status_invalid_response",
    ]
    assert eu_codes["properties"]["title"] == "eu-west-1 customers: status codes"

    assert actions.delete_experiment_dashboard("region-failure", configuration=configuration)
    assert not actions.delete_experiment_dashboard("region-failure", configuration=configuration)


def test_dashboard_without_client_regions_uses_the_url_only_series(
    configuration: dict[str, Any], aws: Callable[..., Any]
) -> None:
    actions.put_experiment_dashboard(
        "d", URL, CHECKS, regions=[US], client_regions=[], configuration=configuration
    )
    body = json.loads(aws("cloudwatch").get_dashboard(DashboardName="d")["DashboardBody"])
    assert body["widgets"][1]["properties"]["metrics"] == [
        [
            "ChaosServerless",
            "region_us-east-1",
            "Url",
            URL,
            {"label": "customers answered by us-east-1"},
        ]
    ]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"dashboard_name": "has space"}, "dashboard_name must be 1..255 letters"),
        ({"health_check_ids": {}}, "health_check_ids must map each region"),
        ({"health_check_ids": {"Virginia": "x"}}, "'Virginia' is not an AWS region name"),
        ({"regions": ["us-east-1", "mars-1"]}, "'mars-1' is not an AWS region name"),
        ({"period_seconds": 45}, "period_seconds must be 1, 5, 10, 30"),
    ],
)
def test_dashboard_bad_input(configuration: dict[str, Any], kwargs: dict, message: str) -> None:
    arguments = {"dashboard_name": "d", "url": URL, "health_check_ids": CHECKS, **kwargs}
    with pytest.raises(ActivityFailed, match=message):
        actions.put_experiment_dashboard(**arguments, configuration=configuration)


def test_error_alarm_on_raw_counts_and_its_state_transitions(
    configuration: dict[str, Any], aws: Callable[..., Any]
) -> None:
    created = actions.put_error_ratio_alarm(
        "us-errors", URL, 0.05, 600, client_region=US, configuration=configuration
    )
    assert created["threshold"] == 30.0
    cloudwatch = aws("cloudwatch")
    (alarm,) = cloudwatch.describe_alarms(AlarmNames=["us-errors"])["MetricAlarms"]
    assert alarm["MetricName"] == "status_5xx"
    assert alarm["Statistic"] == "Sum"
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert alarm["TreatMissingData"] == "notBreaching"
    assert {(d["Name"], d["Value"]) for d in alarm["Dimensions"]} == {
        ("Url", URL),
        ("ClientRegion", US),
    }

    # moto never evaluates alarms: drive the transitions the way AWS would.
    for state in ("OK", "ALARM", "OK"):
        cloudwatch.set_alarm_state(AlarmName="us-errors", StateValue=state, StateReason="test")
        (alarm,) = cloudwatch.describe_alarms(AlarmNames=["us-errors"])["MetricAlarms"]
        assert alarm["StateValue"] == state

    assert actions.delete_alarm("us-errors", configuration=configuration)
    assert not actions.delete_alarm("us-errors", configuration=configuration)
    assert cloudwatch.describe_alarms(AlarmNames=["us-errors"])["MetricAlarms"] == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_ratio": 1.5}, r"max_ratio must be a ratio in \[0, 1\), got 1.5"),
        ({"expected_requests_per_period": 0}, "expected_requests_per_period must be a positive"),
        ({"period_seconds": 45}, "period_seconds of an alarm must be 10, 30 or a multiple of 60"),
        ({"metric_name": "status_2xx"}, "metric_name must be one of the error counts"),
        ({"client_region": "moon"}, "'moon' is not an AWS region name"),
    ],
)
def test_alarm_bad_input(configuration: dict[str, Any], kwargs: dict, message: str) -> None:
    arguments = {
        "alarm_name": "a",
        "url": URL,
        "max_ratio": 0.05,
        "expected_requests_per_period": 100,
        **kwargs,
    }
    with pytest.raises(ActivityFailed, match=message):
        actions.put_error_ratio_alarm(**arguments, configuration=configuration)
