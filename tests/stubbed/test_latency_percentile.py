"""get_latency_percentile on AWS: moto refuses percentiles, so botocore's Stubber answers."""

import datetime as dt
from typing import Any

import pytest
from botocore.stub import Stubber
from chaoslib.exceptions import ActivityFailed

from chaosaws_serverless import aws
from chaosaws_serverless.cloudwatch import tolerances
from chaosaws_serverless.cloudwatch.probes import get_latency_percentile

US = "us-east-1"


def test_percentile_asks_cloudwatch_for_the_statistic_over_the_whole_window(
    configuration: dict[str, Any],
) -> None:
    """What AWS answers (moto cannot); Stubber validates the request against botocore's model."""
    cloudwatch = aws.client("cloudwatch", US, configuration)
    url = "https://example.mydomain.com/api/hello"
    with Stubber(cloudwatch) as stub:
        stub.add_response(
            "get_metric_data",
            {
                "MetricDataResults": [
                    {
                        "Id": "m0",
                        "Label": "latency_ms",
                        "StatusCode": "Complete",
                        "Timestamps": [],
                        "Values": [],
                    }
                ]
            },
        )
        with pytest.raises(ActivityFailed, match="no data"):
            get_latency_percentile(url, 99, 300, US, configuration=configuration)
        stub.add_response(
            "get_metric_data",
            {
                "MetricDataResults": [
                    {
                        "Id": "m0",
                        "StatusCode": "Complete",
                        "Timestamps": [dt.datetime.now(dt.UTC)],
                        "Values": [1234.5],
                    }
                ]
            },
        )
        captured: dict[str, Any] = {}
        cloudwatch.meta.events.register(
            "provide-client-params.cloudwatch.GetMetricData",
            lambda params, **_: captured.update(params),
        )
        assert get_latency_percentile(url, 99.9, 300, US, configuration=configuration) == 1234.5
    stat = captured["MetricDataQueries"][0]["MetricStat"]
    assert stat["Stat"] == "p99.9" and stat["Period"] == 300
    assert stat["Metric"]["MetricName"] == "latency_ms"
    assert tolerances.latency_at_most(1234.5, 1000) is False
    assert tolerances.latency_at_most(800.0, "1000") is True
    with pytest.raises(ActivityFailed, match="max_ms"):
        tolerances.latency_at_most(800.0, 0)
