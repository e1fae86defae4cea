"""Hosted-zone records: loading them and judging a failover setup (pure analysis).

:func:`failover_findings` looks at the latency (or failover) records under one
name, the other records of the zone and the health checks, and returns one
readable sentence per problem that would stop Route 53 from failing over.
"An endpoint" is followed through the zone: ``example.us.mydomain.com`` (an
alias to ``d-1.execute-api.us-east-1.amazonaws.com``) and that API Gateway
domain are the same endpoint, so a health check on either is on the record's
own endpoint.
"""

import re
from collections.abc import Mapping, Sequence
from typing import Any, Optional

from chaoslib.exceptions import ActivityFailed

from chaosaws_serverless.errors import aws_errors

__all__ = [
    "MAX_DETECTION_SECONDS",
    "MAX_TTL_SECONDS",
    "failover_findings",
    "load_zone",
    "normalize_name",
    "normalize_zone_id",
    "record_label",
    "routing_records",
]

MAX_TTL_SECONDS = 60
MAX_DETECTION_SECONDS = 90
_REGION_IN_NAME = re.compile(r"(?<![a-z])([a-z]{2}-(?:[a-z]+-)+\d)(?![0-9])")
_DEFAULT_PORTS = {"HTTP": 80, "HTTP_STR_MATCH": 80, "HTTPS": 443, "HTTPS_STR_MATCH": 443}


def normalize_name(name: str) -> str:
    """Return a DNS name lower-cased with its final dot (how Route 53 lists names)."""
    return name.strip().lower().rstrip(".") + "."


def normalize_zone_id(hosted_zone_id: Any) -> str:
    if not isinstance(hosted_zone_id, str) or not hosted_zone_id.strip():
        raise ActivityFailed(f"hosted_zone_id must be a non-empty string, got {hosted_zone_id!r}")
    return hosted_zone_id.strip().rsplit("/", 1)[-1]


def load_zone(route53: Any, hosted_zone_id: str) -> list[dict[str, Any]]:
    """Return every record of the hosted zone (ListResourceRecordSets, all pages)."""
    records: list[dict[str, Any]] = []
    with aws_errors("route53:ListResourceRecordSets", f"hosted zone {hosted_zone_id!r}"):
        for page in route53.get_paginator("list_resource_record_sets").paginate(
            HostedZoneId=hosted_zone_id
        ):
            records.extend(page.get("ResourceRecordSets", []))
    return records


def routing_records(
    zone: Sequence[Mapping[str, Any]], record_name: str, hosted_zone_id: str
) -> tuple[list[Mapping[str, Any]], list[Mapping[str, Any]]]:
    """Return (latency-or-failover records, all records) under ``record_name``.

    Raises ``ActivityFailed`` when the zone has no record of that name.
    """
    wanted = normalize_name(record_name)
    named = [r for r in zone if normalize_name(r["Name"]) == wanted]
    if not named:
        raise ActivityFailed(
            f"hosted zone {hosted_zone_id!r} has no record named {wanted!r}; check the name "
            "and the zone"
        )
    routed = [r for r in named if r.get("Region") or r.get("Failover")]
    return routed, named


def record_label(record: Mapping[str, Any]) -> str:
    if record.get("Region"):
        return f"the {record['Region']} latency record"
    role = str(record.get("Failover", "?")).lower()
    return f"the {role} failover record ({record.get('SetIdentifier')})"


def _targets(record: Mapping[str, Any]) -> list[str]:
    alias = record.get("AliasTarget")
    if alias:
        return [normalize_name(alias["DNSName"])]
    values = [v["Value"] for v in record.get("ResourceRecords", [])]
    if record.get("Type") == "CNAME":
        return [normalize_name(v) for v in values]
    return [v.strip() for v in values]  # A/AAAA addresses


def _endpoint(names: Sequence[str], zone: Sequence[Mapping[str, Any]]) -> set[str]:
    """Return every name and address reachable from ``names`` through the zone's plain records."""
    seen: set[str] = set()
    todo = list(names)
    while todo and len(seen) < 50:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for record in zone:
            if (
                normalize_name(record["Name"]) == name
                and not record.get("SetIdentifier")
                and record.get("Type") in ("A", "AAAA", "CNAME")
            ):
                todo.extend(_targets(record))
    return seen


def _show(endpoint: set[str], start: str) -> str:
    """Return ``start`` (→ the final target) for a sentence."""
    others = sorted(e.rstrip(".") for e in endpoint if e != start)
    final = [o for o in others if not o.endswith(start.rstrip("."))]
    return start.rstrip(".") + (f" (→ {', '.join(final[:2])})" if final else "")


def failover_findings(
    record_name: str,
    routed: Sequence[Mapping[str, Any]],
    named: Sequence[Mapping[str, Any]],
    zone: Sequence[Mapping[str, Any]],
    health_checks: Mapping[str, Optional[Mapping[str, Any]]],
    max_ttl_seconds: int = MAX_TTL_SECONDS,
    max_detection_seconds: int = MAX_DETECTION_SECONDS,
) -> list[str]:
    """Return one sentence per problem of the failover setup under ``record_name`` (pure).

    ``health_checks`` maps each referenced health check id to its GetHealthCheck
    description, or ``None`` when it does not exist.
    """
    name = normalize_name(record_name).rstrip(".")
    if not routed:
        kinds = sorted({r.get("Type", "?") for r in named})
        return [
            f"{name} has only simple {'/'.join(kinds)} records, no latency or failover records: "
            "Route 53 has nowhere to fail over to"
        ]
    findings: list[str] = []
    if len(routed) < 2:
        findings.append(
            f"{name} has a single routing record ({record_label(routed[0])}): there is no other "
            "region to fail over to"
        )
    endpoints = {id(r): _endpoint(_targets(r), zone) for r in routed}
    http_shapes: dict[str, str] = {}
    for record in routed:
        label = f"{record_label(record)} of {name}"
        ttl = record.get("TTL")
        if not record.get("AliasTarget") and ttl is not None and int(ttl) > max_ttl_seconds:
            findings.append(
                f"{label} has a TTL of {ttl} s: resolvers keep sending customers to a failed "
                f"region that long after failover; use {max_ttl_seconds} s or less"
            )
        check_id = record.get("HealthCheckId")
        if not check_id:
            findings.append(
                f"{label} has no health check: Route 53 keeps answering it when its region fails; "
                "attach a health check on that region's endpoint"
            )
            continue
        check = health_checks.get(check_id)
        if check is None:
            findings.append(
                f"{label} refers to health check {check_id} which does not exist: create it or fix "
                "the record"
            )
            continue
        config = check.get("HealthCheckConfig", {})
        findings.extend(_check_findings(label, check_id, config, max_detection_seconds))
        kind = config.get("Type", "")
        if kind not in ("HTTP", "HTTPS", "HTTP_STR_MATCH", "HTTPS_STR_MATCH", "TCP"):
            continue  # calculated / CloudWatch-alarm checks have no endpoint of their own
        mismatch = _endpoint_mismatch(record, config, endpoints, routed, zone)
        if mismatch:
            findings.append(f"The health check {check_id} of {label} {mismatch}")
        shape = f"{kind}:{config.get('Port', _DEFAULT_PORTS.get(kind, '?'))}"
        if kind != "TCP":
            shape += config.get("ResourcePath") or "/"
        http_shapes[record.get("Region") or record.get("SetIdentifier", "?")] = shape
    if len(set(http_shapes.values())) > 1:
        shown = ", ".join(f"{where} {shape}" for where, shape in sorted(http_shapes.items()))
        findings.append(
            f"the health checks of {name} do not check the same protocol, port and path "
            f"({shown}): each region's check should probe the same health endpoint on its own "
            "domain"
        )
    return findings


def _check_findings(
    label: str, check_id: str, config: Mapping[str, Any], max_detection_seconds: int
) -> list[str]:
    findings = []
    if config.get("Disabled"):
        findings.append(
            f"the health check {check_id} of {label} is disabled: Route 53 considers it "
            "healthy whatever happens; enable it"
        )
    if config.get("Inverted"):
        findings.append(
            f"the health check {check_id} of {label} is inverted: Route 53 treats a failing "
            "endpoint as healthy; clear 'Inverted'"
        )
    kind = config.get("Type", "")
    port = config.get("Port")
    default_port = _DEFAULT_PORTS.get(kind)
    if default_port and port is not None and int(port) in (80, 443) and int(port) != default_port:
        findings.append(
            f"the health check {check_id} of {label} speaks {kind} on port {port}: "
            f"use port {default_port} or the other protocol"
        )
    if kind.startswith("HTTPS") and config.get("EnableSNI") is False:
        findings.append(
            f"the health check {check_id} of {label} is HTTPS without SNI: API Gateway and "
            "CloudFront endpoints fail the TLS handshake, so the check is unhealthy for the "
            "wrong reason; set EnableSNI"
        )
    interval = config.get("RequestInterval")
    threshold = config.get("FailureThreshold")
    if interval and threshold and int(interval) * int(threshold) > max_detection_seconds:
        findings.append(
            f"the health check {check_id} of {label} needs {interval} s x {threshold} failures "
            f"= {int(interval) * int(threshold)} s to notice an outage; keep interval x "
            f"threshold at or below {max_detection_seconds} s (e.g. 10 s x 3)"
        )
    return findings


def _endpoint_mismatch(
    record: Mapping[str, Any],
    config: Mapping[str, Any],
    endpoints: Mapping[int, set[str]],
    routed: Sequence[Mapping[str, Any]],
    zone: Sequence[Mapping[str, Any]],
) -> Optional[str]:
    """Return the end of a sentence when the check does not probe the record's endpoint."""
    own = endpoints[id(record)]
    targets = _targets(record)
    if not own or not targets:
        return None
    fqdn = config.get("FullyQualifiedDomainName")
    address = config.get("IPAddress")
    if fqdn:
        start = normalize_name(fqdn)
        checked = _endpoint([start], zone)
    elif address:
        start = str(address)
        checked = {start}
    else:
        return None
    if checked & own:
        return None
    own_text = _show(own, targets[0])
    checked_text = _show(checked, start)
    for other in routed:
        if other is not record and checked & endpoints[id(other)]:
            return (
                f"checks {checked_text}, which is the endpoint of {record_label(other)}, not its "
                f"own endpoint {own_text}: it stays healthy when "
                f"{record.get('Region') or 'this record'} fails, so Route 53 never fails over; "
                f"point it at {targets[0].rstrip('.')}"
            )
    region = record.get("Region")
    hinted = set(_REGION_IN_NAME.findall(" ".join(checked)))
    if region and hinted and region not in hinted:
        where = ", ".join(sorted(hinted))
        return (
            f"checks {checked_text} in {where}, not its own endpoint {own_text} in {region}: "
            f"Route 53 never sees a {region} failure; point it at {targets[0].rstrip('.')}"
        )
    return (
        f"checks {checked_text}, which is not the record's endpoint {own_text}: Route 53 cannot "
        f"see that endpoint fail; point it at {targets[0].rstrip('.')}"
    )
