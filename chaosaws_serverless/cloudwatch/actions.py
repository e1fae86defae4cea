"""Actions on CloudWatch: the experiment dashboard and an alarm usable as a stop condition.

Rollback partners: ``delete_experiment_dashboard`` and ``delete_alarm`` (both
succeed when the object is already gone, so rollbacks can always run).
"""

import json
import math
import re
from typing import Any, Dict, List, Optional

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets
from logzero import logger

from chaosaws_serverless import metric_names as names
from chaosaws_serverless.aws import client, configured_regions, resolve_region
from chaosaws_serverless.cloudwatch.dashboard import experiment_dashboard_body
from chaosaws_serverless.errors import aws_errors, code_of

__all__ = [
    "delete_alarm",
    "delete_experiment_dashboard",
    "put_error_ratio_alarm",
    "put_experiment_dashboard",
]

_DASHBOARD_NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
_ALARM_NAME_MAX = 255


def put_experiment_dashboard(
    dashboard_name: str,
    url: str,
    health_check_ids: Dict[str, str],
    regions: Optional[List[str]] = None,
    client_regions: Optional[List[str]] = None,
    namespace: str = names.DEFAULT_NAMESPACE,
    period_seconds: int = 10,
    region: Optional[str] = None,
    *,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> Dict[str, Any]:
    """Create or replace the experiment's CloudWatch dashboard.

    Widgets: Route 53 health per region (``HealthCheckStatus`` of each check in
    ``health_check_ids``, a mapping region → health check id, read in
    us-east-1), requests answered per region (``region_<region>`` for every
    region in ``regions``, list, default the configuration's ``aws_regions``)
    and one status-code widget per customer region (``client_regions``, list,
    default ``regions``; ``[]`` for a load generator publishing without
    ``ClientRegion``). Counts are plotted as Sums per ``period_seconds``
    (1, 5, 10, 30 or a multiple of 60). The dashboard lives in ``region``
    (string, optional; default ``aws_region``), where the load generator
    publishes. Rollback: ``delete_experiment_dashboard``.

    Returns ``{"dashboard_name", "dashboard_arn", "region", "widgets"}``.

    ```json
    {"type": "action", "name": "dashboard",
     "provider": {"type": "python", "module": "chaosaws_serverless.cloudwatch.actions",
                  "func": "put_experiment_dashboard",
                  "arguments": {"dashboard_name": "region-failure",
                                "url": "https://example.mydomain.com/api/hello",
                                "health_check_ids": {"us-east-1": "abcd-1",
                                                     "eu-west-1": "abcd-2"}}}}
    ```
    """
    _require_dashboard_name(dashboard_name)
    if not isinstance(url, str) or not url.strip():
        raise ActivityFailed(f"url must be the API URL the customers call, got {url!r}")
    if not isinstance(health_check_ids, dict) or not health_check_ids:
        raise ActivityFailed(
            "health_check_ids must map each region to its Route 53 health check id, e.g. "
            f'{{"us-east-1": "abcd-1"}}, got {health_check_ids!r}'
        )
    checks = {resolve_region(r, None): str(i) for r, i in health_check_ids.items()}
    answering = [resolve_region(r, None) for r in (regions or configured_regions(configuration))]
    if client_regions is None:
        customers: List[Optional[str]] = list(answering)
    else:
        customers = [resolve_region(r, None) for r in client_regions] or [None]
    if period_seconds not in (1, 5, 10, 30) and (
        not isinstance(period_seconds, int) or period_seconds <= 0 or period_seconds % 60
    ):
        raise ActivityFailed(
            f"period_seconds must be 1, 5, 10, 30 or a multiple of 60, got {period_seconds!r}"
        )
    region_name = resolve_region(region, configuration)
    body = experiment_dashboard_body(
        url, checks, answering, customers, region_name, namespace, period_seconds
    )
    cloudwatch = client("cloudwatch", region_name, configuration, secrets)
    with aws_errors("cloudwatch:PutDashboard", f"dashboard {dashboard_name!r} in {region_name}"):
        answer = cloudwatch.put_dashboard(
            DashboardName=dashboard_name, DashboardBody=json.dumps(body)
        )
        arn = cloudwatch.get_dashboard(DashboardName=dashboard_name).get("DashboardArn", "")
    for message in answer.get("DashboardValidationMessages", []):
        logger.warning(f"dashboard {dashboard_name!r}: {message.get('Message')}")
    logger.info(
        f"dashboard {dashboard_name!r} written in {region_name} ({len(body['widgets'])} widgets)"
    )
    return {
        "dashboard_name": dashboard_name,
        "dashboard_arn": arn,
        "region": region_name,
        "widgets": len(body["widgets"]),
    }


def delete_experiment_dashboard(
    dashboard_name: str,
    region: Optional[str] = None,
    *,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> bool:
    """Delete the experiment dashboard (rollback of ``put_experiment_dashboard``).

    Returns True when it was deleted, False when it did not exist.

    ```json
    {"type": "action", "name": "remove-dashboard",
     "provider": {"type": "python", "module": "chaosaws_serverless.cloudwatch.actions",
                  "func": "delete_experiment_dashboard",
                  "arguments": {"dashboard_name": "region-failure"}}}
    ```
    """
    _require_dashboard_name(dashboard_name)
    region_name = resolve_region(region, configuration)
    cloudwatch = client("cloudwatch", region_name, configuration, secrets)
    try:
        with aws_errors(
            "cloudwatch:DeleteDashboards", f"dashboard {dashboard_name!r} in {region_name}"
        ):
            cloudwatch.delete_dashboards(DashboardNames=[dashboard_name])
    except ActivityFailed as error:
        if code_of(error) in ("ResourceNotFound", "DashboardNotFoundError"):
            logger.info(f"dashboard {dashboard_name!r} in {region_name} was already gone")
            return False
        raise
    return True


def put_error_ratio_alarm(
    alarm_name: str,
    url: str,
    max_ratio: float,
    expected_requests_per_period: int,
    client_region: Optional[str] = None,
    period_seconds: int = 60,
    evaluation_periods: int = 1,
    metric_name: str = names.STATUS_5XX,
    namespace: str = names.DEFAULT_NAMESPACE,
    region: Optional[str] = None,
    *,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> Dict[str, Any]:
    """Create or replace an alarm that fires when customers' errors exceed a share of the traffic.

    The alarm watches the raw count ``metric_name`` (default ``status_5xx``;
    ``status_timeout`` or ``status_connect_error`` for the requests without
    answer, one alarm each) of the customers in ``client_region`` calling
    ``url``: it goes to ALARM when the Sum over ``period_seconds`` exceeds
    ``max_ratio`` x ``expected_requests_per_period`` for ``evaluation_periods``
    periods. Why a count and not a ratio: a ratio needs metric math, which
    not every CloudWatch-compatible endpoint evaluates, while the experiment
    knows the load generator's rate, so the count threshold is exact. Missing
    data is not breaching. ``client_region=None`` watches the series published
    without a ``ClientRegion`` dimension. Usable by the
    ``chaosaws_serverless.controls.stop_condition`` control and as an FIS stop
    condition. Rollback: ``delete_alarm``.

    Returns ``{"alarm_name", "alarm_arn", "metric_name", "threshold", "period_seconds", "region"}``.

    ```json
    {"type": "action", "name": "us-error-alarm",
     "provider": {"type": "python", "module": "chaosaws_serverless.cloudwatch.actions",
                  "func": "put_error_ratio_alarm",
                  "arguments": {"alarm_name": "us-customers-errors",
                                "url": "https://example.mydomain.com/api/hello",
                                "max_ratio": 0.5, "expected_requests_per_period": 600,
                                "client_region": "us-east-1"}}}
    ```
    """
    if not isinstance(alarm_name, str) or not 0 < len(alarm_name) <= _ALARM_NAME_MAX:
        raise ActivityFailed(f"alarm_name must be 1..255 characters, got {alarm_name!r}")
    if not isinstance(url, str) or not url.strip():
        raise ActivityFailed(f"url must be the API URL the customers call, got {url!r}")
    if (
        isinstance(max_ratio, bool)
        or not isinstance(max_ratio, int | float)
        or not 0 <= max_ratio < 1
    ):
        raise ActivityFailed(f"max_ratio must be a ratio in [0, 1), got {max_ratio!r}")
    if (
        isinstance(expected_requests_per_period, bool)
        or not isinstance(expected_requests_per_period, int)
        or expected_requests_per_period <= 0
    ):
        raise ActivityFailed(
            "expected_requests_per_period must be a positive whole number (load generator rate "
            f"x period_seconds), got {expected_requests_per_period!r}"
        )
    if period_seconds not in (10, 30) and (
        not isinstance(period_seconds, int) or period_seconds <= 0 or period_seconds % 60
    ):
        raise ActivityFailed(
            f"period_seconds of an alarm must be 10, 30 or a multiple of 60, got {period_seconds!r}"
        )
    if not isinstance(evaluation_periods, int) or evaluation_periods < 1:
        raise ActivityFailed(f"evaluation_periods must be at least 1, got {evaluation_periods!r}")
    if metric_name not in names.ERROR_METRICS:
        raise ActivityFailed(
            f"metric_name must be one of the error counts {list(names.ERROR_METRICS)}, "
            f"got {metric_name!r}"
        )
    dims = [{"Name": names.DIMENSION_URL, "Value": url}]
    if client_region is not None:
        dims.append(
            {"Name": names.DIMENSION_CLIENT_REGION, "Value": resolve_region(client_region, None)}
        )
    # Strictly more than this many errors breaches; floor keeps "at most max_ratio" allowed.
    threshold = float(math.floor(max_ratio * expected_requests_per_period))
    region_name = resolve_region(region, configuration)
    cloudwatch = client("cloudwatch", region_name, configuration, secrets)
    resource = f"alarm {alarm_name!r} in {region_name}"
    with aws_errors("cloudwatch:PutMetricAlarm", resource):
        cloudwatch.put_metric_alarm(
            AlarmName=alarm_name,
            AlarmDescription=(
                f"{metric_name} of customers{' in ' + client_region if client_region else ''} "
                f"calling {url} above {max_ratio:.1%} of {expected_requests_per_period} "
                f"requests per {period_seconds} s (chaosaws-serverless stop condition)"
            ),
            Namespace=namespace,
            MetricName=metric_name,
            Dimensions=dims,
            Statistic="Sum",
            Period=period_seconds,
            EvaluationPeriods=evaluation_periods,
            Threshold=threshold,
            ComparisonOperator="GreaterThanThreshold",
            TreatMissingData="notBreaching",
            Unit="Count",
        )
    with aws_errors("cloudwatch:DescribeAlarms", resource):
        found = cloudwatch.describe_alarms(AlarmNames=[alarm_name]).get("MetricAlarms", [])
    return {
        "alarm_name": alarm_name,
        "alarm_arn": found[0].get("AlarmArn", "") if found else "",
        "metric_name": metric_name,
        "threshold": threshold,
        "period_seconds": period_seconds,
        "region": region_name,
    }


def delete_alarm(
    alarm_name: str,
    region: Optional[str] = None,
    *,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> bool:
    """Delete a CloudWatch alarm (rollback of ``put_error_ratio_alarm``).

    Returns True when it existed, False when it was already gone.

    ```json
    {"type": "action", "name": "remove-us-error-alarm",
     "provider": {"type": "python", "module": "chaosaws_serverless.cloudwatch.actions",
                  "func": "delete_alarm", "arguments": {"alarm_name": "us-customers-errors"}}}
    ```
    """
    if not isinstance(alarm_name, str) or not alarm_name:
        raise ActivityFailed(f"alarm_name must be a non-empty string, got {alarm_name!r}")
    region_name = resolve_region(region, configuration)
    cloudwatch = client("cloudwatch", region_name, configuration, secrets)
    resource = f"alarm {alarm_name!r} in {region_name}"
    with aws_errors("cloudwatch:DescribeAlarms", resource):
        existed = bool(cloudwatch.describe_alarms(AlarmNames=[alarm_name]).get("MetricAlarms"))
    if existed:
        with aws_errors("cloudwatch:DeleteAlarms", resource):
            cloudwatch.delete_alarms(AlarmNames=[alarm_name])
    else:
        logger.info(f"{resource} was already gone")
    return existed


def _require_dashboard_name(name: Any) -> None:
    if not isinstance(name, str) or not _DASHBOARD_NAME.match(name):
        raise ActivityFailed(
            f"dashboard_name must be 1..255 letters, digits, '-' or '_', got {name!r}"
        )
