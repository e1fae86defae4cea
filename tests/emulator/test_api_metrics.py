"""Steady state from the API's own telemetry: API Gateway's metrics and any two metrics, on moto.

moto stands in for API Gateway here: the datapoints are written with the
names and dimensions AWS's API Gateway developer guide gives ("Amazon API
Gateway dimensions and metrics" for REST APIs: ApiName + Stage, 5XXError /
4XXError / Count; "Working with metrics for HTTP APIs": ApiId + Stage, 5xx /
4xx / Count), and each expected ratio is the arithmetic of the written values.
moto answers metric math with nothing, so these runs take the sums' path.
"""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from chaoslib.exceptions import ActivityFailed

from chaosaws_serverless.cloudwatch import probes
from chaosaws_serverless.errors import NoData

US, EU = "us-east-1", "eu-west-1"
NAMESPACE = "AWS/ApiGateway"


def publish(
    aws: Callable[..., Any], region: str, dims: dict[str, str], values: dict[str, float]
) -> None:
    """Write what API Gateway would have sent for the last minutes: one datapoint per metric."""
    moment = datetime.now(UTC) - timedelta(seconds=40)
    aws("cloudwatch", region).put_metric_data(
        Namespace=NAMESPACE,
        MetricData=[
            {
                "MetricName": name,
                "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()],
                "Timestamp": moment,
                "Value": value,
                "Unit": "Count",
            }
            for name, value in values.items()
        ],
    )


REST = {"ApiName": "example-api", "Stage": "prod"}


def test_rest_api_error_ratio_per_region_and_over_regions(
    aws: Callable[..., Any], configuration: dict[str, Any]
) -> None:
    publish(aws, US, REST, {"5XXError": 10, "4XXError": 7, "Count": 100})
    publish(aws, EU, REST, {"5XXError": 3, "4XXError": 0, "Count": 300})
    ratio = probes.get_api_error_ratio(
        "example-api", "prod", 120, region=US, configuration=configuration
    )
    assert ratio == pytest.approx(10 / 100)
    four = probes.get_api_error_ratio(
        "example-api", "prod", 120, errors="4xx", region=US, configuration=configuration
    )
    assert four == pytest.approx(7 / 100)
    both = probes.get_api_error_ratio(
        "example-api", "prod", 120, regions=[US, EU], configuration=configuration
    )
    assert both == pytest.approx((10 + 3) / (100 + 300))


def test_http_api_metrics_have_their_own_names_and_dimension(
    aws: Callable[..., Any], configuration: dict[str, Any]
) -> None:
    publish(aws, US, {"ApiId": "a1b2c3d4e5", "Stage": "$default"}, {"5xx": 4, "Count": 50})
    ratio = probes.get_api_error_ratio(
        "a1b2c3d4e5", "$default", 120, api_type="http", configuration=configuration
    )
    assert ratio == pytest.approx(4 / 50)
    # The same API read as a REST API looks for ApiName and 5XXError: nothing there.
    with pytest.raises(NoData, match="no data"):
        probes.get_api_error_ratio("a1b2c3d4e5", "$default", 120, configuration=configuration)


def test_a_region_without_data_counts_no_request_unless_no_region_has_any(
    aws: Callable[..., Any], configuration: dict[str, Any]
) -> None:
    publish(aws, EU, REST, {"5XXError": 1, "Count": 20})
    ratio = probes.get_api_error_ratio(
        "example-api", "prod", 120, regions=[US, EU], configuration=configuration
    )
    assert ratio == pytest.approx(1 / 20)
    with pytest.raises(NoData):
        probes.get_api_error_ratio(
            "other-api", "prod", 120, regions=[US, EU], configuration=configuration
        )


def test_no_request_is_undefined_not_zero(
    aws: Callable[..., Any], configuration: dict[str, Any]
) -> None:
    publish(aws, US, REST, {"5XXError": 0, "Count": 0})
    with pytest.raises(ActivityFailed, match="undefined"):
        probes.get_api_error_ratio("example-api", "prod", 120, configuration=configuration)


def test_a_ratio_over_any_two_metrics(
    aws: Callable[..., Any], configuration: dict[str, Any]
) -> None:
    dims = [{"Name": "FunctionName", "Value": "api-hello"}]
    moment = datetime.now(UTC) - timedelta(seconds=30)
    aws("cloudwatch", US).put_metric_data(
        Namespace="AWS/Lambda",
        MetricData=[
            {"MetricName": "Errors", "Dimensions": dims, "Timestamp": moment, "Value": 6},
            {"MetricName": "Invocations", "Dimensions": dims, "Timestamp": moment, "Value": 240},
        ],
    )
    spec = {"namespace": "AWS/Lambda", "dimensions": {"FunctionName": "api-hello"}}
    ratio = probes.get_metric_ratio(
        {**spec, "metric_name": "Errors"},
        {**spec, "metric_name": "Invocations"},
        120,
        configuration=configuration,
    )
    assert ratio == pytest.approx(6 / 240)
    with pytest.raises(ActivityFailed, match="unknown keys"):
        probes.get_metric_ratio({**spec, "metric": "x"}, spec, 120, configuration=configuration)


def test_one_key_switches_the_customers_error_ratio_to_the_api_metrics(
    aws: Callable[..., Any], configuration: dict[str, Any]
) -> None:
    publish(aws, US, REST, {"5XXError": 2, "Count": 100})
    publish(aws, EU, REST, {"5XXError": 0, "Count": 100})
    arguments = {
        "window_seconds": 120,
        "url": "https://example.mydomain.com/api/hello",
        "client_region": US,
        "api": "example-api",
        "stage": "prod",
    }
    ratio = probes.get_customer_error_ratio("api-metrics", **arguments, configuration=configuration)
    assert ratio == pytest.approx(2 / 200)  # over aws_regions: both regions
    with pytest.raises(NoData, match="load generator"):  # its counts: none were written
        probes.get_customer_error_ratio("load-generator", **arguments, configuration=configuration)
    with pytest.raises(ActivityFailed, match="error_ratio_source must be one of"):
        probes.get_customer_error_ratio("apimetrics", **arguments, configuration=configuration)
