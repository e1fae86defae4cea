"""Hosted-zone records: loading them, and following a name through the zone to its endpoint.

"An endpoint" is followed through the zone: ``example.us.mydomain.com`` (an
alias to ``d-1.execute-api.us-east-1.amazonaws.com``) and that API Gateway
domain are the same endpoint, so a health check on either is on the record's
own endpoint. Judging a failover setup on them is ``route53.failover``.
"""

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Optional

from chaoslib.exceptions import ActivityFailed

from chaosaws_serverless.errors import aws_errors
from chaosaws_serverless.patterns import REGION_TEXT

__all__ = [
    "endpoint_of",
    "is_api_gateway",
    "load_zone",
    "normalize_name",
    "normalize_zone_id",
    "record_label",
    "region_of",
    "regions_in",
    "routing_records",
    "show_endpoint",
    "targets_of",
]

# A region named inside a longer name (d-1.execute-api.us-east-1.amazonaws.com).
_REGION_IN_NAME = re.compile(rf"(?<![a-z])({REGION_TEXT})(?![0-9])")


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


def record_label(record: Mapping[str, Any], region: Optional[str] = None) -> str:
    if record.get("Region"):
        return f"the {record['Region']} latency record"
    role = str(record.get("Failover", "?")).lower()
    where = f" in {region}" if region else ""
    return f"the {role} failover record ({record.get('SetIdentifier')}){where}"


def targets_of(record: Mapping[str, Any]) -> list[str]:
    alias = record.get("AliasTarget")
    if alias:
        return [normalize_name(alias["DNSName"])]
    values = [v["Value"] for v in record.get("ResourceRecords", [])]
    if record.get("Type") == "CNAME":
        return [normalize_name(v) for v in values]
    return [v.strip() for v in values]  # A/AAAA addresses


def endpoint_of(names: Sequence[str], zone: Sequence[Mapping[str, Any]]) -> set[str]:
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
                todo.extend(targets_of(record))
    return seen


def show_endpoint(endpoint: set[str], start: str) -> str:
    """Return ``start`` (→ the final target) for a sentence."""
    others = sorted(e.rstrip(".") for e in endpoint if e != start)
    final = [o for o in others if not o.endswith(start.rstrip("."))]
    return start.rstrip(".") + (f" (→ {', '.join(final[:2])})" if final else "")


def regions_in(names: Iterable[str]) -> set[str]:
    """Return every AWS region the names point into (``...execute-api.us-east-1...``)."""
    return {m for n in names for m in _REGION_IN_NAME.findall(n)}


def region_of(names: Iterable[str]) -> Optional[str]:
    """Return the one AWS region the names point into, if there is exactly one."""
    found = regions_in(names)
    return found.pop() if len(found) == 1 else None


def is_api_gateway(name: str) -> bool:
    return ".execute-api." in name
