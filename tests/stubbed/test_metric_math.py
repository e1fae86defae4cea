"""A ratio on AWS is metric math: moto answers expressions with nothing, so Stubber answers.

The request is checked against botocore's CloudWatch model by the Stubber and
against the shape AWS's "Using math expressions with CloudWatch metrics"
describes: the two metrics as MetricStat queries (Sum), and an Expression over
their ids, in one GetMetricData call.
"""

import datetime as dt
from typing import Any

from botocore.stub import ANY, Stubber

from chaosaws_serverless import aws
from chaosaws_serverless.cloudwatch.probes import get_api_error_ratio

US = "us-east-1"


def _result(query_id: str, values: list[float]) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC)
    return {
        "Id": query_id,
        "StatusCode": "Complete",
        "Timestamps": [now] * len(values),
        "Values": values,
    }


def test_the_ratio_is_cloudwatchs_metric_math_when_it_answers(
    configuration: dict[str, Any],
) -> None:
    cloudwatch = aws.client("cloudwatch", US, configuration)
    dims = [{"Name": "ApiName", "Value": "example-api"}, {"Name": "Stage", "Value": "prod"}]
    expected = {
        "MetricDataQueries": [
            {
                "Id": "n0",
                "MetricStat": {
                    "Metric": {
                        "Namespace": "AWS/ApiGateway",
                        "MetricName": "5XXError",
                        "Dimensions": dims,
                    },
                    "Period": 300,
                    "Stat": "Sum",
                },
                "ReturnData": True,
            },
            {
                "Id": "d0",
                "MetricStat": {
                    "Metric": {
                        "Namespace": "AWS/ApiGateway",
                        "MetricName": "Count",
                        "Dimensions": dims,
                    },
                    "Period": 300,
                    "Stat": "Sum",
                },
                "ReturnData": True,
            },
            {"Id": "ratio", "Expression": "(n0) / (d0)", "ReturnData": True},
        ],
        "StartTime": ANY,
        "EndTime": ANY,
    }
    with Stubber(cloudwatch) as stub:
        # AWS's own quotient (here deliberately not the sums' 5/100) is the answer.
        answer = {
            "MetricDataResults": [
                _result("n0", [5]),
                _result("d0", [100]),
                _result("ratio", [0.049]),
            ]
        }
        stub.add_response("get_metric_data", answer, expected)
        assert get_api_error_ratio("example-api", "prod", 300, configuration=configuration) == 0.049
        # A window split over two periods: the quotient of the sums.
        answer = {
            "MetricDataResults": [
                _result("n0", [2, 3]),
                _result("d0", [40, 60]),
                _result("ratio", [0.05, 0.05]),
            ]
        }
        stub.add_response("get_metric_data", answer, expected)
        assert get_api_error_ratio("example-api", "prod", 300, configuration=configuration) == 0.05
        stub.assert_no_pending_responses()
