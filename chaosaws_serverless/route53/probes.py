"""Probes on Route 53: health-check status, latency routing, failover pre-flight checks.

Every probe that reads a health check's status takes ``source``: ``"api"``
(GetHealthCheckStatus with Route 53's 18 % rule) or ``"metric"`` (the
``AWS/Route53`` ``HealthCheckStatus`` metric in us-east-1, newest datapoint of
the last ``window_seconds``); see ``chaosaws_serverless.route53.health``.
Route 53 is a global service: these probes take no region.
"""

import time
from typing import Any, Dict, List, Optional, Tuple

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets
from logzero import logger

from chaosaws_serverless import metric_names as names
from chaosaws_serverless.aws import client, resolve_region
from chaosaws_serverless.cloudwatch.metrics import as_seconds
from chaosaws_serverless.errors import aws_errors, code_of
from chaosaws_serverless.route53 import failover, health, records, routing

__all__ = [
    "find_failover_misconfigurations",
    "get_health_check_status",
    "get_latency_route",
    "health_check_is_healthy",
    "wait_for_failover",
]

_PROGRESS_EVERY_SECONDS = 30.0


# Findings already logged by this process (the journal keeps every call's output).
_LOGGED_FINDINGS: set[str] = set()


def get_health_check_status(
    health_check_id: str,
    source: str = "api",
    window_seconds: float = 60,
    *,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> str:
    """Return ``"Healthy"`` or ``"Unhealthy"``: how Route 53 judges a health check.

    ``source`` (string): ``"api"`` applies Route 53's rule to the checkers'
    observations (healthy when more than 18 % report healthy; a disabled check
    is healthy, an inverted one flips); ``"metric"`` reads the newest
    ``AWS/Route53`` ``HealthCheckStatus`` datapoint in us-east-1 of the last
    ``window_seconds`` (use 180 or more on AWS, which publishes once a minute).
    Raises ``ActivityFailed`` for an unknown health check or when the metric has
    no data (never "Healthy" by default).

    ```json
    {"type": "probe", "name": "eu-health-check", "tolerance": "Healthy",
     "provider": {"type": "python", "module": "chaosaws_serverless.route53.probes",
                  "func": "get_health_check_status",
                  "arguments": {"health_check_id": "abcd-1234", "source": "metric"}}}
    ```
    """
    healthy = health.is_healthy(health_check_id, source, window_seconds, configuration, secrets)
    return "Healthy" if healthy else "Unhealthy"


def health_check_is_healthy(
    health_check_id: str,
    source: str = "api",
    window_seconds: float = 60,
    *,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> bool:
    """Return True when Route 53 considers the health check healthy.

    Same rules, ``source`` and errors as ``get_health_check_status``.

    ```json
    {"type": "probe", "name": "eu-health-check-healthy", "tolerance": true,
     "provider": {"type": "python", "module": "chaosaws_serverless.route53.probes",
                  "func": "health_check_is_healthy",
                  "arguments": {"health_check_id": "abcd-1234", "source": "api"}}}
    ```
    """
    return health.is_healthy(health_check_id, source, window_seconds, configuration, secrets)


def find_failover_misconfigurations(
    hosted_zone_id: str,
    record_name: str,
    max_ttl_seconds: int = failover.MAX_TTL_SECONDS,
    max_detection_seconds: int = failover.MAX_DETECTION_SECONDS,
    *,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> List[str]:
    """Return the problems that would stop Route 53 from failing ``record_name`` over.

    Judges as Route 53 does (developer guide, "How Route 53 determines whether
    a health check is healthy"), for latency and failover (PRIMARY/SECONDARY)
    records alike. For each record: is there a health check (a failover
    SECONDARY may go without; an alias with EvaluateTargetHealth needs none on
    a load balancer but does on API Gateway, which has no health of its own),
    does it exist and probe that record's own endpoint (following the zone's
    aliases and CNAMEs; the same region's ``execute-api`` invoke domain counts),
    is it enabled and not inverted (a disabled check is healthy, a disabled and
    inverted one unhealthy), does its port match its protocol, does an HTTPS
    check send SNI; a CALCULATED check is judged through its children and its
    HealthThreshold (can it ever turn unhealthy?); a CLOUDWATCH_METRIC check
    through its alarm's region and what it reports without data
    (InsufficientDataHealthStatus, the alarm's TreatMissingData). For latency
    records, do the regions' checks probe the same protocol, port and path. Is
    the TTL at most ``max_ttl_seconds`` (default 60) and interval x failure
    threshold at most ``max_detection_seconds`` (default 90). Each finding is
    one sentence naming the record, the check, the region and the fix. Reads
    only; changes nothing. Raises ``ActivityFailed`` for an unknown zone or a
    name without records.

    Returns a list of sentences; pair it with the tolerance
    ``chaosaws_serverless.cloudwatch.tolerances.is_empty``.

    ```json
    {"type": "probe", "name": "failover-is-configured-soundly",
     "tolerance": {"type": "probe", "name": "no-findings",
                   "provider": {"type": "python",
                                "module": "chaosaws_serverless.cloudwatch.tolerances",
                                "func": "is_empty", "arguments": {}}},
     "provider": {"type": "python", "module": "chaosaws_serverless.route53.probes",
                  "func": "find_failover_misconfigurations",
                  "arguments": {"hosted_zone_id": "Z0123456789EXAMPLE",
                                "record_name": "example.mydomain.com"}}}
    ```
    """
    zone_id = records.normalize_zone_id(hosted_zone_id)
    _require_name(record_name)
    limits = {"max_ttl_seconds": max_ttl_seconds, "max_detection_seconds": max_detection_seconds}
    for label, value in limits.items():
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ActivityFailed(
                f"{label} must be a positive whole number of seconds, got {value!r}"
            )
    route53 = client("route53", names.ROUTE53_METRICS_REGION, configuration, secrets)
    zone = records.load_zone(route53, zone_id)
    routed, named = records.routing_records(zone, record_name, zone_id)
    checks: Dict[str, Optional[Dict[str, Any]]] = {}
    todo = [r["HealthCheckId"] for r in routed if r.get("HealthCheckId")]
    while todo:  # the records' checks, and the children of calculated ones
        check_id = todo.pop()
        if check_id in checks:
            continue
        checks[check_id] = check = _health_check_or_none(route53, check_id)
        todo.extend((check or {}).get("HealthCheckConfig", {}).get("ChildHealthChecks") or [])
    alarms = _alarms_of(checks, configuration, secrets)
    findings = failover.failover_findings(
        record_name, routed, named, zone, checks, max_ttl_seconds, max_detection_seconds, alarms
    )
    for finding in findings:
        # Once per process: failover-preflight.json asks in its method and in its hypothesis.
        if finding not in _LOGGED_FINDINGS:
            _LOGGED_FINDINGS.add(finding)
            logger.warning(f"failover misconfiguration: {finding}")
    return findings


def get_latency_route(
    hosted_zone_id: str,
    record_name: str,
    client_region: str,
    source: str = "api",
    window_seconds: float = 60,
    *,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> str:
    """Return the region whose record latency routing answers for a client in ``client_region``.

    Records whose health check is unhealthy (read from ``source``: ``"api"`` or
    ``"metric"``, as in ``get_health_check_status``) are skipped; when all are
    unhealthy Route 53 answers as if all were healthy, and so does this probe.
    "Lowest latency" comes from the distance between regions (table in
    ``chaosaws_serverless.route53.routing``), or from measured figures in the
    configuration key ``route53_region_latency_ms``. Raises ``ActivityFailed``
    for an unknown zone, a name without latency records, or a region not in the
    table.

    ```json
    {"type": "probe", "name": "us-customers-go-to", "tolerance": "us-east-1",
     "provider": {"type": "python", "module": "chaosaws_serverless.route53.probes",
                  "func": "get_latency_route",
                  "arguments": {"hosted_zone_id": "Z0123456789EXAMPLE",
                                "record_name": "example.mydomain.com",
                                "client_region": "us-east-1", "source": "metric"}}}
    ```
    """
    health.validate_source(source)
    route53 = client("route53", names.ROUTE53_METRICS_REGION, configuration, secrets)
    latency_records = _latency_records(route53, hosted_zone_id, record_name)
    client_region = _client_region(client_region, latency_records, configuration)
    return _route(latency_records, client_region, source, window_seconds, configuration, secrets)


def wait_for_failover(
    hosted_zone_id: str,
    record_name: str,
    client_region: str,
    from_region: str,
    timeout_seconds: float,
    source: str = "metric",
    poll_seconds: float = 5,
    window_seconds: float = 60,
    *,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> float:
    """Return the seconds until latency routing stops sending ``client_region`` to ``from_region``.

    Polls ``get_latency_route`` every ``poll_seconds`` (health read from
    ``source``, default ``"metric"``) and logs progress every 30 s. Returns
    ``0.0`` when the route already avoids ``from_region`` at the first look.
    Raises ``ActivityFailed`` after ``timeout_seconds`` with the last observed
    route: Route 53 did not fail over. Changes nothing in AWS.

    ```json
    {"type": "probe", "name": "seconds-until-us-customers-fail-over",
     "provider": {"type": "python", "module": "chaosaws_serverless.route53.probes",
                  "func": "wait_for_failover",
                  "arguments": {"hosted_zone_id": "Z0123456789EXAMPLE",
                                "record_name": "example.mydomain.com",
                                "client_region": "us-east-1", "from_region": "us-east-1",
                                "timeout_seconds": 300}}}
    ```
    """
    health.validate_source(source)
    timeout_seconds = as_seconds(timeout_seconds, "timeout_seconds")
    poll_seconds = as_seconds(poll_seconds, "poll_seconds")
    for value, label in ((timeout_seconds, "timeout_seconds"), (poll_seconds, "poll_seconds")):
        if value <= 0:
            raise ActivityFailed(f"{label} must be a positive number of seconds, got {value:g}")
    route53 = client("route53", names.ROUTE53_METRICS_REGION, configuration, secrets)
    latency_records = _latency_records(route53, hosted_zone_id, record_name)
    client_region = _client_region(client_region, latency_records, configuration)
    from_region = resolve_region(from_region, None)
    regions = sorted({r["Region"] for r in latency_records})
    if from_region not in regions:
        raise ActivityFailed(
            f"from_region {from_region!r} has no latency record under {record_name!r} "
            f"(regions: {regions})"
        )
    started = time.monotonic()
    next_progress = started + _PROGRESS_EVERY_SECONDS
    last_route: Optional[str] = None
    last_error: Optional[str] = None
    polled = False
    while True:
        try:
            last_route = _route(
                latency_records, client_region, source, window_seconds, configuration, secrets
            )
            last_error = None
        except ActivityFailed as error:
            # A gap in the health metric must not end the wait: keep the reason for the report.
            last_error = str(error)
        elapsed = time.monotonic() - started
        if last_route is not None and last_error is None and last_route != from_region:
            if not polled:
                logger.warning(
                    f"Route 53 already answers {last_route} (not {from_region}) for clients in "
                    f"{client_region} at the first look: did the fault start earlier?"
                )
                return 0.0
            logger.info(
                f"Route 53 answers {last_route} for clients in {client_region} after "
                f"{elapsed:.1f} s (was {from_region})"
            )
            return round(elapsed, 1)
        if elapsed >= timeout_seconds:
            seen = f"last observed route: {last_route}" if last_route else "no route observed"
            reason = f"; last error: {last_error}" if last_error else ""
            raise ActivityFailed(
                f"Route 53 did not fail clients in {client_region} over from {from_region} "
                f"within {timeout_seconds:g} s ({seen}{reason})"
            )
        if time.monotonic() >= next_progress:
            logger.info(
                f"waiting for failover of {client_region} clients away from {from_region}: "
                f"{elapsed:.0f}/{timeout_seconds:g} s, route still {last_route or 'unknown'}"
                + (f" ({last_error})" if last_error else "")
            )
            next_progress += _PROGRESS_EVERY_SECONDS
        polled = True
        time.sleep(min(float(poll_seconds), max(0.0, timeout_seconds - elapsed)))


# Internals ---------------------------------------------------------------------------------


def _require_name(record_name: Any) -> None:
    if not isinstance(record_name, str) or not record_name.strip(".").strip():
        raise ActivityFailed(f"record_name must be a DNS name, got {record_name!r}")


def _health_check_or_none(route53: Any, check_id: str) -> Optional[Dict[str, Any]]:
    try:
        with aws_errors("route53:GetHealthCheck", f"health check {check_id!r}"):
            return dict(route53.get_health_check(HealthCheckId=check_id)["HealthCheck"])
    except ActivityFailed as error:
        if code_of(error) == "NoSuchHealthCheck":
            return None
        raise


def _alarms_of(
    checks: Dict[str, Optional[Dict[str, Any]]], configuration: Configuration, secrets: Secrets
) -> Dict[Tuple[str, str], Optional[Dict[str, Any]]]:
    """Return the CloudWatch alarms the CLOUDWATCH_METRIC checks watch (None: missing)."""
    alarms: Dict[Tuple[str, str], Optional[Dict[str, Any]]] = {}
    for check in checks.values():
        config = (check or {}).get("HealthCheckConfig", {})
        ident = config.get("AlarmIdentifier") or {}
        if config.get("Type") != "CLOUDWATCH_METRIC" or not ident.get("Name"):
            continue
        key = (str(ident.get("Region")), str(ident["Name"]))
        if key in alarms:
            continue
        cloudwatch = client("cloudwatch", key[0], configuration, secrets)
        with aws_errors("cloudwatch:DescribeAlarms", f"alarm {key[1]!r} in {key[0]}"):
            found = cloudwatch.describe_alarms(AlarmNames=[key[1]]).get("MetricAlarms", [])
        alarms[key] = dict(found[0]) if found else None
    return alarms


def _latency_records(route53: Any, hosted_zone_id: str, record_name: str) -> List[Dict[str, Any]]:
    zone_id = records.normalize_zone_id(hosted_zone_id)
    _require_name(record_name)
    zone = records.load_zone(route53, zone_id)
    routed, _ = records.routing_records(zone, record_name, zone_id)
    latency = [dict(r) for r in routed if r.get("Region")]
    if not latency:
        raise ActivityFailed(
            f"{record_name!r} in hosted zone {zone_id!r} has no latency records (a 'Region' on "
            "its records); latency routing does not apply to it"
        )
    return latency


def _client_region(
    client_region: Any, latency_records: List[Dict[str, Any]], configuration: Configuration
) -> str:
    region = resolve_region(client_region, None) if client_region else ""
    if not region:
        raise ActivityFailed(f"client_region must be an AWS region name, got {client_region!r}")
    overrides = (configuration or {}).get("route53_region_latency_ms")
    for record in latency_records:
        routing.region_cost(region, record["Region"], overrides)  # raises for unknown regions
    return region


def _route(
    latency_records: List[Dict[str, Any]],
    client_region: str,
    source: str,
    window_seconds: float,
    configuration: Configuration,
    secrets: Secrets,
) -> str:
    health_by_region: Dict[str, bool] = {}
    for record in latency_records:
        check_id = record.get("HealthCheckId")
        ok = (
            health.is_healthy(check_id, source, window_seconds, configuration, secrets)
            if check_id
            else True  # no health check: Route 53 always considers the record healthy
        )
        region = record["Region"]
        health_by_region[region] = health_by_region.get(region, False) or ok
    if not any(health_by_region.values()):
        logger.warning("every latency record is unhealthy: Route 53 answers as if all were healthy")
    overrides = (configuration or {}).get("route53_region_latency_ms")
    return routing.choose_route(client_region, health_by_region, overrides)
