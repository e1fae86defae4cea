"""The reference scenario's Route 53 zone in moto: aliases, latency records, health checks."""

import time
from collections.abc import Callable
from typing import Any

from tests.support.lambdas import EU, US

NAME = "example.mydomain.com"
API_ZONE = "Z1UJRXOUMOOFQ8"  # API Gateway's regional alias zone (any id works on moto)


def health_check(route53: Any, domain: str, **overrides: Any) -> str:
    config = {
        "Type": "HTTPS",
        "FullyQualifiedDomainName": domain,
        "ResourcePath": "/api/health",
        "Port": 443,
        "RequestInterval": 10,
        "FailureThreshold": 3,
        "EnableSNI": True,
        **overrides,
    }
    reference = f"{domain}-{time.monotonic_ns()}"
    return route53.create_health_check(CallerReference=reference, HealthCheckConfig=config)[
        "HealthCheck"
    ]["Id"]


def alias(name: str, target: str, **extra: Any) -> dict[str, Any]:
    return {
        "Action": "CREATE",
        "ResourceRecordSet": {
            "Name": name,
            "Type": "A",
            "AliasTarget": {
                "HostedZoneId": API_ZONE,
                "DNSName": target,
                "EvaluateTargetHealth": False,
            },
            **extra,
        },
    }


def reference_zone(
    aws: Callable[..., Any], us_check_domain: str = "example.us.mydomain.com", **us_overrides: Any
) -> tuple[str, dict[str, str]]:
    """Build the reference scenario's zone; return (zone id, {region: health check id})."""
    route53 = aws("route53")
    zone_id = route53.create_hosted_zone(Name="mydomain.com", CallerReference="zone")["HostedZone"][
        "Id"
    ].split("/")[-1]
    checks = {
        US: health_check(route53, us_check_domain, **us_overrides),
        EU: health_check(route53, "example.eu.mydomain.com"),
    }
    changes = [
        alias("example.us.mydomain.com", "d-us1.execute-api.us-east-1.amazonaws.com"),
        alias("example.eu.mydomain.com", "d-eu1.execute-api.eu-west-1.amazonaws.com"),
    ]
    for region, short in ((US, "us"), (EU, "eu")):
        changes.append(
            {
                "Action": "CREATE",
                "ResourceRecordSet": {
                    "Name": NAME,
                    "Type": "CNAME",
                    "SetIdentifier": short,
                    "Region": region,
                    "TTL": 60,
                    "HealthCheckId": checks[region],
                    "ResourceRecords": [{"Value": f"example.{short}.mydomain.com"}],
                },
            }
        )
    route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": changes})
    return zone_id, checks
