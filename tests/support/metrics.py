"""The load generator's per-interval counts, written to CloudWatch in moto by hand."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from chaosaws_serverless import metric_names as names
from tests.support.lambdas import EU, US

URL = "https://example.mydomain.com/api/hello"


def publish(
    aws: Callable[..., Any],
    counts: dict[str, float],
    client_region: str | None,
    seconds_ago: int = 5,
    url: str = URL,
) -> None:
    """Write counts like the load generator (the current second is never read back)."""
    dims = [{"Name": names.DIMENSION_URL, "Value": url}]
    if client_region:
        dims.append({"Name": names.DIMENSION_CLIENT_REGION, "Value": client_region})
    at = datetime.now(UTC) - timedelta(seconds=seconds_ago)
    aws("cloudwatch").put_metric_data(
        Namespace=names.DEFAULT_NAMESPACE,
        MetricData=[
            {
                "MetricName": name,
                "Dimensions": dims,
                "Value": value,
                "Timestamp": at,
                "StorageResolution": 1,
                "Unit": "Count",
            }
            for name, value in counts.items()
        ],
    )


def traffic(aws: Callable[..., Any]) -> None:
    # US customers: 90 ok, 6 x 5xx, 2 timeouts, 2 x 4xx; answered by us-east-1 then eu-west-1.
    publish(aws, {"status_2xx": 50, "status_5xx": 6, "region_us-east-1": 56}, US, seconds_ago=12)
    publish(
        aws,
        {
            "status_2xx": 40,
            "status_4xx": 2,
            "status_timeout": 2,
            "status_connect_error": 0,
            "region_eu-west-1": 42,
        },
        US,
        seconds_ago=4,
    )
    # EU customers: all fine, answered by eu-west-1.
    publish(aws, {"status_2xx": 100, "status_5xx": 0, "region_eu-west-1": 100}, EU, seconds_ago=4)
