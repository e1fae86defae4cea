"""How healthy Route 53 considers a health check, from its API or from CloudWatch.

``source="api"``: GetHealthCheckStatus returns one observation per Route 53
checker. Route 53's rule: the endpoint is healthy when *more than 18 %* of the
checkers report it healthy; a disabled check is healthy (unhealthy when it is
also inverted); an inverted check flips the result. Calculated checks have no observations: use
``source="metric"`` for them.

``source="metric"``: the ``AWS/Route53`` ``HealthCheckStatus`` metric
(1 healthy, 0 unhealthy; dimension ``HealthCheckId``), which exists only in
us-east-1. The newest datapoint's Minimum in the last ``window_seconds``
decides; no datapoint is an error. On AWS the metric is published once a
minute, a little late: give a window of 180 s or more there. The local lab
publishes it from its own checkers every few seconds.
"""

from collections.abc import Sequence
from typing import Any, Optional

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets

from chaosaws_serverless import metric_names as names
from chaosaws_serverless.aws import client
from chaosaws_serverless.cloudwatch import metrics
from chaosaws_serverless.errors import NoData, aws_errors

__all__ = [
    "HEALTHY_CHECKER_SHARE",
    "SOURCES",
    "healthy_from_observations",
    "is_healthy",
    "validate_source",
]

HEALTHY_CHECKER_SHARE = 0.18
SOURCES = ("api", "metric")


def validate_source(source: Any) -> str:
    if source not in SOURCES:
        raise ActivityFailed(
            f"source must be 'api' (GetHealthCheckStatus) or 'metric' (the AWS/Route53 "
            f"HealthCheckStatus metric in us-east-1), got {source!r}"
        )
    return str(source)


def healthy_from_observations(
    observations: Sequence[dict], inverted: bool = False, disabled: bool = False
) -> bool:
    """Apply Route 53's rule to GetHealthCheckStatus observations (pure).

    A disabled check is healthy, unless it is also inverted: then it is unhealthy
    (HealthCheckConfig.Disabled in the Route 53 API reference: "If you want to
    stop routing traffic to a resource, change the value of Inverted").
    """
    if disabled:
        return not inverted
    if not observations:
        raise ActivityFailed("Route 53 returned no health checker observations")
    healthy = sum(
        1
        for o in observations
        if str(o.get("StatusReport", {}).get("Status", "")).startswith("Success")
    )
    result = healthy / len(observations) > HEALTHY_CHECKER_SHARE
    return not result if inverted else result


def describe_health_check(
    health_check_id: str, configuration: Configuration, secrets: Secrets
) -> dict[str, Any]:
    """Return the health check (GetHealthCheck), ``ActivityFailed`` when it does not exist."""
    route53 = client("route53", names.ROUTE53_METRICS_REGION, configuration, secrets)
    with aws_errors("route53:GetHealthCheck", f"health check {health_check_id!r}"):
        return dict(route53.get_health_check(HealthCheckId=health_check_id)["HealthCheck"])


def is_healthy(
    health_check_id: str,
    source: str,
    window_seconds: float,
    configuration: Configuration,
    secrets: Secrets,
    described: Optional[dict[str, Any]] = None,
) -> bool:
    """Return whether Route 53 considers the health check healthy, read from ``source``."""
    if not isinstance(health_check_id, str) or not health_check_id.strip():
        raise ActivityFailed(f"health_check_id must be a non-empty string, got {health_check_id!r}")
    validate_source(source)
    if source == "metric":
        return _healthy_from_metric(health_check_id, window_seconds, configuration, secrets)
    check = described or describe_health_check(health_check_id, configuration, secrets)
    config = check.get("HealthCheckConfig", {})
    if config.get("Disabled"):
        return not config.get("Inverted")
    if config.get("Type") == "CALCULATED":
        raise ActivityFailed(
            f"health check {health_check_id!r} is CALCULATED: Route 53 has no checker "
            "observations for it; use source='metric'"
        )
    route53 = client("route53", names.ROUTE53_METRICS_REGION, configuration, secrets)
    with aws_errors("route53:GetHealthCheckStatus", f"health check {health_check_id!r}"):
        observations = route53.get_health_check_status(HealthCheckId=health_check_id).get(
            "HealthCheckObservations", []
        )
    if not observations:
        raise ActivityFailed(
            f"Route 53 returned no checker observations for health check {health_check_id!r}; "
            "a new check needs a minute, or use source='metric'"
        )
    return healthy_from_observations(observations, inverted=bool(config.get("Inverted")))


def _healthy_from_metric(
    health_check_id: str, window_seconds: float, configuration: Configuration, secrets: Secrets
) -> bool:
    window = metrics.window_for(
        window_seconds, metrics.period_for(names.ROUTE53_NAMESPACE, configuration)
    )
    cloudwatch = client("cloudwatch", names.ROUTE53_METRICS_REGION, configuration, secrets)
    series = metrics.Series.of(
        names.ROUTE53_NAMESPACE, names.HEALTH_CHECK_STATUS, {"HealthCheckId": health_check_id}
    )
    newest = metrics.newest_values(cloudwatch, [series], window, "Minimum")[series]
    if newest is None:
        raise NoData(
            f"no data: {names.ROUTE53_NAMESPACE} {names.HEALTH_CHECK_STATUS} of health check "
            f"{health_check_id!r} has no datapoint in {names.ROUTE53_METRICS_REGION} in the last "
            f"{window_seconds} s; check the id, widen window_seconds (AWS publishes it once a "
            "minute), or use source='api'"
        )
    return newest[1] >= 1.0
