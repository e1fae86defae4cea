"""Judging a failover setup: would Route 53 fail clients over when one region fails? (pure)

:func:`failover_findings` looks at the latency (or failover) records under one
name, the other records of the zone (``route53.records``) and the health
checks, and returns one readable sentence per problem that would stop Route 53
from failing over: a health check missing, on another region's endpoint, too
slow to detect, or one Route 53 cannot evaluate.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional

from chaosaws_serverless.route53 import records

__all__ = ["MAX_DETECTION_SECONDS", "MAX_TTL_SECONDS", "failover_findings"]

MAX_TTL_SECONDS = 60
MAX_DETECTION_SECONDS = 90
_DEFAULT_PORTS = {"HTTP": 80, "HTTP_STR_MATCH": 80, "HTTPS": 443, "HTTPS_STR_MATCH": 443}


@dataclass
class _Record:
    """One routing record and what it leads to, for the sentences about it."""

    record: Mapping[str, Any]
    label: str
    short: str
    region: Optional[str]
    endpoint: set[str]
    targets: list[str]


@dataclass
class _Judge:
    """Judge the health checks of the routing records under one name, as Route 53 does."""

    routed: Sequence[_Record]
    zone: Sequence[Mapping[str, Any]]
    health_checks: Mapping[str, Optional[Mapping[str, Any]]]
    alarms: Optional[Mapping[tuple[str, str], Optional[Mapping[str, Any]]]]
    max_detection_seconds: int
    findings: list[str] = field(default_factory=list)

    def judge(self, rec: _Record, check_id: str, where: str, seen: frozenset[str]) -> bool:
        """Add the findings of ``check_id``; return True when it can turn unhealthy on a failure.

        ``where`` names the check for a sentence ("the health check X of the
        us-east-1 latency record of NAME"); a child of a calculated check is
        judged the same way, one level down.
        """
        check = self.health_checks.get(check_id)
        if check is None:
            self.findings.append(
                f"{where} does not exist: create it or point {rec.label} at an existing one"
            )
            return False
        config = check.get("HealthCheckConfig", {})
        region = rec.region or "its region"
        # Route 53's status rule: disabled counts as healthy, unless inverted (then unhealthy).
        if config.get("Disabled") and config.get("Inverted"):
            self.findings.append(
                f"{where} is disabled and inverted: Route 53 always considers it unhealthy, "
                f"so {region} never gets traffic through it; enable it and clear 'Inverted'"
            )
            return False
        can_fail = True
        if config.get("Disabled"):
            self.findings.append(
                f"{where} is disabled: Route 53 considers it healthy whatever happens in "
                f"{region}; enable it"
            )
            can_fail = False
        elif config.get("Inverted"):
            self.findings.append(
                f"{where} is inverted: Route 53 treats a failing endpoint in {region} as "
                "healthy; clear 'Inverted'"
            )
            can_fail = False
        kind = config.get("Type", "")
        if kind == "CALCULATED":
            can_fail &= self._calculated(rec, config, where, seen | {check_id})
        elif kind == "CLOUDWATCH_METRIC":
            can_fail &= self._alarm(rec, config, where)
        elif kind in _ENDPOINT_TYPES:
            can_fail &= self._endpoint(rec, config, where)
        # RECOVERY_CONTROL and future types: not judged here
        return can_fail

    def _endpoint(self, rec: _Record, config: Mapping[str, Any], where: str) -> bool:
        findings = self.findings
        kind = config.get("Type", "")
        port = config.get("Port")
        default_port = _DEFAULT_PORTS.get(kind)
        if (
            default_port
            and port is not None
            and int(port) in (80, 443)
            and int(port) != default_port
        ):
            findings.append(
                f"{where} speaks {kind} on port {port}: use port {default_port} or the other "
                "protocol"
            )
        if kind.startswith("HTTPS") and config.get("EnableSNI") is False:
            findings.append(
                f"{where} is HTTPS without SNI: API Gateway and CloudFront endpoints fail the TLS "
                "handshake, so the check is unhealthy for the wrong reason; set EnableSNI"
            )
        interval = config.get("RequestInterval")
        threshold = config.get("FailureThreshold")
        if interval and threshold and int(interval) * int(threshold) > self.max_detection_seconds:
            findings.append(
                f"{where} needs {interval} s x {threshold} failures = "
                f"{int(interval) * int(threshold)} s to notice an outage; keep interval x "
                f"threshold at or below {self.max_detection_seconds} s (e.g. 10 s x 3)"
            )
        mismatch = self._mismatch(rec, config)
        if mismatch:
            findings.append(f"{_capital(where)} {mismatch}")
            return False
        return True

    def _mismatch(self, rec: _Record, config: Mapping[str, Any]) -> Optional[str]:
        """Return the end of a sentence when the check does not probe the record's endpoint."""
        own, targets = rec.endpoint, rec.targets
        if not own or not targets:
            return None
        fqdn = config.get("FullyQualifiedDomainName")
        address = config.get("IPAddress")
        if fqdn:
            start = records.normalize_name(fqdn)
            checked = records.endpoint_of([start], self.zone)
        elif address:
            start = str(address)
            checked = {start}
        else:
            return None
        if checked & own:
            return None
        checked_region = records.region_of(checked)
        if (
            rec.region
            and checked_region == rec.region
            and any(records.is_api_gateway(n) for n in checked)
            and any(records.is_api_gateway(n) for n in own)
        ):
            # AWS's pattern: check the API's own execute-api invoke domain in the same region.
            return None
        own_text = records.show_endpoint(own, targets[0])
        checked_text = records.show_endpoint(checked, start)
        for other in self.routed:
            if other is not rec and checked & other.endpoint:
                return (
                    f"checks {checked_text}, which is the endpoint of {other.short}, not its "
                    f"own endpoint {own_text}: it stays healthy when "
                    f"{rec.region or 'this record'} fails, so Route 53 never fails over; "
                    f"point it at {targets[0].rstrip('.')}"
                )
        hinted = records.regions_in(checked)
        if rec.region and hinted and rec.region not in hinted:
            where = ", ".join(sorted(hinted))
            return (
                f"checks {checked_text} in {where}, not its own endpoint {own_text} in "
                f"{rec.region}: Route 53 never sees a {rec.region} failure; point it at "
                f"{targets[0].rstrip('.')}"
            )
        return (
            f"checks {checked_text}, which is not the record's endpoint {own_text}: Route 53 "
            f"cannot see that endpoint fail; point it at {targets[0].rstrip('.')}"
        )

    def _calculated(
        self,
        rec: _Record,
        config: Mapping[str, Any],
        where: str,
        seen: frozenset[str],
    ) -> bool:
        children = list(config.get("ChildHealthChecks") or [])
        threshold = int(config.get("HealthThreshold") or 0)
        region = rec.region or "its region"
        if threshold == 0:
            self.findings.append(
                f"{where} is calculated with HealthThreshold 0: Route 53 always considers it "
                f"healthy, so a {region} failure never shows; set HealthThreshold to the "
                "number of children that must be healthy"
            )
            return False
        if threshold > len(children):
            self.findings.append(
                f"{where} is calculated with HealthThreshold {threshold} but has "
                f"{len(children)} children: Route 53 always considers it unhealthy, so "
                f"{region} never gets traffic; lower HealthThreshold to at most {len(children)}"
            )
            return False
        stays_healthy = []
        for child in children:
            if child in seen:
                continue
            child_where = f"the child health check {child} of {where}"
            if not self.judge(rec, child, child_where, seen):
                stays_healthy.append(child)
        # The parent is unhealthy when fewer than `threshold` children are healthy; children
        # that stay healthy while the region fails keep it healthy when they reach it.
        if stays_healthy and len(stays_healthy) >= threshold:
            self.findings.append(
                f"{where} is calculated with HealthThreshold {threshold} and "
                f"{len(stays_healthy)} of its {len(children)} children "
                f"({', '.join(stays_healthy)}) stay healthy when {region} fails, so it never "
                f"turns unhealthy; fix those children or raise HealthThreshold above "
                f"{len(stays_healthy)}"
            )
            return False
        return True

    def _alarm(self, rec: _Record, config: Mapping[str, Any], where: str) -> bool:
        alarm_id = config.get("AlarmIdentifier") or {}
        alarm_region, alarm_name = alarm_id.get("Region"), alarm_id.get("Name")
        region = rec.region or "its region"
        if rec.region and alarm_region and alarm_region != rec.region:
            self.findings.append(
                f"{where} watches the CloudWatch alarm {alarm_name} in {alarm_region}, not in "
                f"{rec.region}: Route 53 never sees a {rec.region} failure; watch an alarm on "
                f"{rec.region}'s metrics"
            )
            return False
        alarm: Optional[Mapping[str, Any]] = {}
        if self.alarms is not None:
            alarm = self.alarms.get((str(alarm_region), str(alarm_name)))
            if alarm is None:
                self.findings.append(
                    f"{where} watches the CloudWatch alarm {alarm_name} in {alarm_region}, which "
                    "does not exist: Route 53 has no alarm state to follow; create the alarm or "
                    "fix AlarmIdentifier"
                )
                return False
        treat = (alarm or {}).get("TreatMissingData") or "missing"
        insufficient = config.get("InsufficientDataHealthStatus") or "LastKnownStatus"
        # A region that goes dark stops publishing: what does the check say without data?
        if treat == "notBreaching":
            self.findings.append(
                f"{where} watches the alarm {alarm_name}, which treats missing data as not "
                f"breaching: when {region} stops publishing the metric the alarm is OK and the "
                "check stays healthy; set TreatMissingData to breaching or missing (with "
                "InsufficientDataHealthStatus Unhealthy)"
            )
            return False
        if treat == "missing" and insufficient == "Healthy":
            self.findings.append(
                f"{where} reports Healthy when its alarm {alarm_name} has insufficient data: "
                f"when {region} stops publishing the metric Route 53 keeps it healthy; set "
                "InsufficientDataHealthStatus to Unhealthy"
            )
            return False
        return True


_ENDPOINT_TYPES = ("HTTP", "HTTPS", "HTTP_STR_MATCH", "HTTPS_STR_MATCH", "TCP")


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def failover_findings(
    record_name: str,
    routed: Sequence[Mapping[str, Any]],
    named: Sequence[Mapping[str, Any]],
    zone: Sequence[Mapping[str, Any]],
    health_checks: Mapping[str, Optional[Mapping[str, Any]]],
    max_ttl_seconds: int = MAX_TTL_SECONDS,
    max_detection_seconds: int = MAX_DETECTION_SECONDS,
    alarms: Optional[Mapping[tuple[str, str], Optional[Mapping[str, Any]]]] = None,
) -> list[str]:
    """Return one sentence per problem of the failover setup under ``record_name`` (pure).

    ``health_checks`` maps each referenced health check id (children of
    calculated checks included) to its GetHealthCheck description, or ``None``
    when it does not exist. ``alarms`` maps (region, alarm name) of the
    CLOUDWATCH_METRIC checks to the DescribeAlarms entry or ``None`` when
    missing; without it, alarms are judged from the health check alone.
    """
    name = records.normalize_name(record_name).rstrip(".")
    if not routed:
        kinds = sorted({r.get("Type", "?") for r in named})
        return [
            f"{name} has only simple {'/'.join(kinds)} records, no latency or failover records: "
            "Route 53 has nowhere to fail over to"
        ]
    latency = any(r.get("Region") for r in routed)
    findings: list[str] = []
    recs = []
    for record in routed:
        targets = records.targets_of(record)
        endpoint = records.endpoint_of(targets, zone)
        region = record.get("Region") or records.region_of(endpoint)
        short = records.record_label(record, region)
        recs.append(_Record(record, f"{short} of {name}", short, region, endpoint, targets))
    if len(routed) < 2:
        findings.append(
            f"{name} has a single routing record ({recs[0].short}): there is no other "
            "region to fail over to; add a record for the other region"
        )
    elif not latency and {str(r.get("Failover")) for r in routed} != {"PRIMARY", "SECONDARY"}:
        roles = ", ".join(sorted(str(r.get("Failover")) for r in routed))
        findings.append(
            f"{name} has failover records {roles}: failover routing needs one PRIMARY and one "
            "SECONDARY; add the missing one"
        )
    judge = _Judge(recs, zone, health_checks, alarms, max_detection_seconds, findings)
    http_shapes: dict[str, tuple[str, Optional[str]]] = {}
    for rec in recs:
        record = rec.record
        ttl = record.get("TTL")
        if not record.get("AliasTarget") and ttl is not None and int(ttl) > max_ttl_seconds:
            findings.append(
                f"{rec.label} has a TTL of {ttl} s: resolvers keep sending customers to a failed "
                f"region that long after failover; use {max_ttl_seconds} s or less"
            )
        check_id = record.get("HealthCheckId")
        if not check_id:
            missing = _missing_check(rec, latency)
            if missing:
                findings.append(missing)
            continue
        judge.judge(rec, check_id, f"the health check {check_id} of {rec.label}", frozenset())
        config = (health_checks.get(check_id) or {}).get("HealthCheckConfig", {})
        kind = config.get("Type", "")
        if kind in _ENDPOINT_TYPES:
            shape = f"{kind}:{config.get('Port', _DEFAULT_PORTS.get(kind, '?'))}"
            path = None if kind == "TCP" else config.get("ResourcePath") or "/"
            host = records.normalize_name(config.get("FullyQualifiedDomainName") or "x")
            # An execute-api invoke domain carries the stage in its path (/prod/api/health):
            # its path differs from the custom domain's by design, so only its port counts.
            if path and records.is_api_gateway(host) and not host.startswith("d-"):
                path = None
            http_shapes[record.get("Region") or record.get("SetIdentifier", "?")] = (shape, path)
    ports = {shape for shape, _ in http_shapes.values()}
    paths = {path for _, path in http_shapes.values() if path}
    # Latency records answer the same API in each region; failover records may lead to a
    # different kind of endpoint (a static SECONDARY), so the comparison is latency-only.
    if latency and (len(ports) > 1 or len(paths) > 1):
        shown = ", ".join(
            f"{where} {shape}{path or ''}" for where, (shape, path) in sorted(http_shapes.items())
        )
        findings.append(
            f"the health checks of {name} do not check the same protocol, port and path "
            f"({shown}): Route 53 judges each region by a different test; make each region's "
            "check probe the same health endpoint on its own domain"
        )
    return findings


def _missing_check(rec: _Record, latency: bool) -> Optional[str]:
    """Return the sentence for a record without a health check, or None when that is sound."""
    record = rec.record
    alias = record.get("AliasTarget") or {}
    region = rec.region or "its region"
    if alias.get("EvaluateTargetHealth"):
        target = records.normalize_name(alias.get("DNSName", ""))
        if records.is_api_gateway(target):
            return (
                f"{rec.label} evaluates the target health of the API Gateway domain "
                f"{target.rstrip('.')}, which has no health of its own for Route 53: it stays "
                f"healthy when {region} fails; attach a health check on {region}'s endpoint"
            )
        # A load balancer's own health (its target groups) decides, or the health of the
        # zone's record the alias points to: sound without a Route 53 health check.
        return None
    if record.get("Failover") == "SECONDARY" and not latency:
        return None  # AWS: a SECONDARY without a check is always healthy, the last resort
    return (
        f"{rec.label} has no health check: Route 53 keeps answering it when {region} fails; "
        f"attach a health check on {region}'s endpoint"
    )
