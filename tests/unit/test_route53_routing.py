"""Latency routing and the failover findings as pure functions."""

import pytest
from chaoslib.exceptions import ActivityFailed

from chaosaws_serverless.route53 import failover, routing

US, EU = "us-east-1", "eu-west-1"


@pytest.mark.parametrize(
    ("client", "expected"),
    [
        (US, US),
        ("us-west-2", US),
        ("sa-east-1", US),
        (EU, EU),
        ("eu-central-1", EU),
        ("il-central-1", EU),
        ("ap-south-1", EU),
    ],
)
def test_nearest_healthy_region_answers(client: str, expected: str) -> None:
    assert routing.choose_route(client, {US: True, EU: True}) == expected


def test_unhealthy_regions_are_skipped_unless_all_are() -> None:
    assert routing.choose_route(US, {US: False, EU: True}) == EU
    assert routing.choose_route(US, {US: False, EU: False}) == US


def test_overrides_are_read_both_ways_and_must_be_complete() -> None:
    overrides = {US: {US: 60}, EU: {US: 10, EU: 50}}
    assert routing.choose_route(US, {US: True, EU: True}, overrides) == EU
    with pytest.raises(ActivityFailed, match="no figure between ap-south-1 and us-east-1"):
        routing.choose_route("ap-south-1", {US: True, EU: True}, overrides)
    with pytest.raises(ActivityFailed, match="must map client region"):
        routing.region_cost(US, EU, ["not", "a", "mapping"])


def test_failover_records_are_labelled_and_checked() -> None:
    routed = [
        {
            "Name": "api.example.com.",
            "Type": "CNAME",
            "SetIdentifier": "primary",
            "Failover": "PRIMARY",
            "TTL": 30,
            "ResourceRecords": [{"Value": "a.example.com"}],
        }
    ]
    (single, missing) = failover.failover_findings("api.example.com", routed, routed, routed, {})
    assert "single routing record (the primary failover record (primary))" in single
    assert missing.startswith("the primary failover record (primary) of api.example.com has no")
