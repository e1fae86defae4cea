"""Route 53 probes against the moto server: pre-flight findings, latency routing, failover wait."""

import threading
from datetime import UTC, datetime, timedelta
from typing import Any, Callable

import pytest
from chaoslib.exceptions import ActivityFailed

from chaosaws_serverless.route53 import probes
from tests.support.lambdas import EU, US
from tests.support.route53 import NAME, alias, reference_zone


def publish_health(
    aws: Callable[..., Any], check_id: str, value: float, seconds_ago: float
) -> None:
    """Publish HealthCheckStatus like Route 53 (and the lab) do, in us-east-1."""
    aws("cloudwatch", US).put_metric_data(
        Namespace="AWS/Route53",
        MetricData=[
            {
                "MetricName": "HealthCheckStatus",
                "Dimensions": [{"Name": "HealthCheckId", "Value": check_id}],
                "Value": value,
                "Timestamp": datetime.now(UTC) - timedelta(seconds=seconds_ago),
            }
        ],
    )


def test_sound_zone_has_no_findings(configuration: dict[str, Any], aws: Callable[..., Any]) -> None:
    zone_id, _ = reference_zone(aws)
    assert probes.find_failover_misconfigurations(zone_id, NAME, configuration=configuration) == []
    # A trailing dot and the /hostedzone/ prefix are the same name and zone.
    assert (
        probes.find_failover_misconfigurations(
            f"/hostedzone/{zone_id}", "Example.MyDomain.com.", configuration=configuration
        )
        == []
    )


def test_us_check_on_the_eu_domain_is_named_in_one_sentence(
    configuration: dict[str, Any], aws: Callable[..., Any]
) -> None:
    zone_id, checks = reference_zone(aws, us_check_domain="example.eu.mydomain.com")
    findings = probes.find_failover_misconfigurations(zone_id, NAME, configuration=configuration)
    assert findings == [
        f"The health check {checks[US]} of the us-east-1 latency record of {NAME} checks "
        "example.eu.mydomain.com (→ d-eu1.execute-api.eu-west-1.amazonaws.com), which is the "
        "endpoint of the eu-west-1 latency record, not its own endpoint example.us.mydomain.com "
        "(→ d-us1.execute-api.us-east-1.amazonaws.com): it stays healthy when us-east-1 fails, "
        "so Route 53 never fails over; point it at example.us.mydomain.com"
    ]


def test_every_other_problem_is_reported(
    configuration: dict[str, Any], aws: Callable[..., Any]
) -> None:
    zone_id, checks = reference_zone(
        aws,
        Type="HTTP",
        Port=443,
        ResourcePath="/",
        RequestInterval=30,
        FailureThreshold=5,
        Inverted=True,
    )
    route53 = aws("route53")
    route53.change_resource_record_sets(
        HostedZoneId=zone_id,
        ChangeBatch={
            "Changes": [
                {
                    "Action": "UPSERT",
                    "ResourceRecordSet": {
                        "Name": NAME,
                        "Type": "CNAME",
                        "SetIdentifier": "eu",
                        "Region": EU,
                        "TTL": 300,
                        "ResourceRecords": [{"Value": "example.eu.mydomain.com"}],
                    },
                }
            ]
        },
    )
    text = "\n".join(
        probes.find_failover_misconfigurations(zone_id, NAME, configuration=configuration)
    )
    assert (
        f"health check {checks[US]} of the us-east-1 latency record of {NAME} is inverted" in text
    )
    assert "speaks HTTP on port 443" in text
    assert "needs 30 s x 5 failures = 150 s" in text
    assert f"the eu-west-1 latency record of {NAME} has a TTL of 300 s" in text
    assert f"the eu-west-1 latency record of {NAME} has no health check" in text


def test_single_record_and_plain_records_are_findings(
    configuration: dict[str, Any], aws: Callable[..., Any]
) -> None:
    zone_id, _ = reference_zone(aws)
    route53 = aws("route53")
    route53.change_resource_record_sets(
        HostedZoneId=zone_id,
        ChangeBatch={
            "Changes": [alias("plain.mydomain.com", "d-us1.execute-api.us-east-1.amazonaws.com")]
        },
    )
    (finding,) = probes.find_failover_misconfigurations(
        zone_id, "plain.mydomain.com", configuration=configuration
    )
    assert "no latency or failover records" in finding


def test_unknown_zone_record_and_check_are_clear_errors(
    configuration: dict[str, Any], aws: Callable[..., Any]
) -> None:
    zone_id, _ = reference_zone(aws)
    with pytest.raises(
        ActivityFailed, match="route53:ListResourceRecordSets on hosted zone 'ZNOPE'"
    ):
        probes.find_failover_misconfigurations("ZNOPE", NAME, configuration=configuration)
    with pytest.raises(ActivityFailed, match=r"has no record named 'nope\.mydomain\.com\.'"):
        probes.get_latency_route(zone_id, "nope.mydomain.com", US, configuration=configuration)
    with pytest.raises(ActivityFailed, match="NoSuchHealthCheck"):
        probes.get_health_check_status("no-such-check", configuration=configuration)
    with pytest.raises(ActivityFailed, match="source must be 'api'"):
        probes.get_health_check_status("x", source="dns", configuration=configuration)
    # A region botocore does not know is refused first, naming the known ones.
    with pytest.raises(ActivityFailed, match="'xx-nowhere-1' is not a region botocore"):
        probes.get_latency_route(zone_id, NAME, "xx-nowhere-1", configuration=configuration)


def test_api_source_reads_moto_as_healthy(
    configuration: dict[str, Any], aws: Callable[..., Any]
) -> None:
    _, checks = reference_zone(aws)
    assert probes.get_health_check_status(checks[US], configuration=configuration) == "Healthy"
    assert probes.health_check_is_healthy(checks[EU], source="api", configuration=configuration)


def test_metric_source_uses_the_newest_datapoint_and_no_data_is_an_error(
    configuration: dict[str, Any], aws: Callable[..., Any]
) -> None:
    _, checks = reference_zone(aws)
    with pytest.raises(ActivityFailed, match="no data: AWS/Route53 HealthCheckStatus"):
        probes.get_health_check_status(checks[US], source="metric", configuration=configuration)
    configuration["metric_period_seconds"] = 1
    publish_health(aws, checks[US], 1, seconds_ago=20)
    publish_health(aws, checks[US], 0, seconds_ago=3)
    assert (
        probes.get_health_check_status(checks[US], "metric", configuration=configuration)
        == "Unhealthy"
    )
    publish_health(aws, checks[US], 1, seconds_ago=2)
    assert probes.health_check_is_healthy(checks[US], "metric", configuration=configuration)


def test_latency_route_skips_the_unhealthy_region(
    configuration: dict[str, Any], aws: Callable[..., Any]
) -> None:
    zone_id, checks = reference_zone(aws)
    publish_health(aws, checks[US], 1, seconds_ago=3)
    publish_health(aws, checks[EU], 1, seconds_ago=3)
    route = probes.get_latency_route
    assert route(zone_id, NAME, US, source="metric", configuration=configuration) == US
    assert route(zone_id, NAME, EU, source="metric", configuration=configuration) == EU
    assert route(zone_id, NAME, "us-west-2", source="metric", configuration=configuration) == US
    assert route(zone_id, NAME, US, source="api", configuration=configuration) == US

    publish_health(aws, checks[US], 0, seconds_ago=2)
    assert route(zone_id, NAME, US, source="metric", configuration=configuration) == EU
    assert route(zone_id, NAME, EU, source="metric", configuration=configuration) == EU

    publish_health(aws, checks[EU], 0, seconds_ago=2)  # all unhealthy: Route 53 ignores health
    assert route(zone_id, NAME, US, source="metric", configuration=configuration) == US


def test_measured_latencies_in_the_configuration_win(
    configuration: dict[str, Any], aws: Callable[..., Any]
) -> None:
    zone_id, _ = reference_zone(aws)
    configuration["route53_region_latency_ms"] = {US: {US: 90, EU: 20}}
    assert probes.get_latency_route(zone_id, NAME, US, configuration=configuration) == EU


def test_wait_for_failover_measures_seconds_until_the_route_moves(
    configuration: dict[str, Any], aws: Callable[..., Any]
) -> None:
    zone_id, checks = reference_zone(aws)
    configuration["metric_period_seconds"] = 1
    publish_health(aws, checks[US], 1, seconds_ago=3)
    publish_health(aws, checks[EU], 1, seconds_ago=3)
    fail_us = threading.Timer(1.0, publish_health, args=(aws, checks[US], 0, 0))
    fail_us.start()
    try:
        seconds = probes.wait_for_failover(
            zone_id, NAME, US, US, timeout_seconds=15, poll_seconds=0.2, configuration=configuration
        )
    finally:
        fail_us.cancel()
    assert 1.0 <= seconds <= 5.0
    # Already routed away at the first look: zero seconds, not a wait.
    assert probes.wait_for_failover(zone_id, NAME, US, US, 5, configuration=configuration) == 0.0


def test_wait_for_failover_times_out_with_the_last_route(
    configuration: dict[str, Any], aws: Callable[..., Any]
) -> None:
    zone_id, checks = reference_zone(aws)
    publish_health(aws, checks[US], 1, seconds_ago=3)
    publish_health(aws, checks[EU], 1, seconds_ago=3)
    with pytest.raises(
        ActivityFailed,
        match=r"did not fail clients in us-east-1 over from us-east-1 within 1 s "
        r"\(last observed route: us-east-1\)",
    ):
        probes.wait_for_failover(
            zone_id, NAME, US, US, 1, poll_seconds=0.3, configuration=configuration
        )
    with pytest.raises(ActivityFailed, match="from_region 'ap-south-1' has no latency record"):
        probes.wait_for_failover(zone_id, NAME, US, "ap-south-1", 1, configuration=configuration)
