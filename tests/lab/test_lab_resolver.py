"""The lab's latency routing: nearest healthy record, Route 53's all-unhealthy rule, TTL."""

from typing import Any

import pytest

from chaosaws_serverless.lab.resolver import LatencyResolver, NoSuchName


def records(ttl: int = 1) -> list[dict[str, Any]]:
    def latency(region: str, domain: str, check: str) -> dict[str, Any]:
        return {
            "Name": "example.mydomain.com.",
            "Type": "CNAME",
            "SetIdentifier": region,
            "Region": region,
            "TTL": ttl,
            "HealthCheckId": check,
            "ResourceRecords": [{"Value": domain}],
        }

    return [
        {"Name": "mydomain.com.", "Type": "NS", "TTL": 172800, "ResourceRecords": []},
        latency("us-east-1", "example.us.mydomain.com", "hc-us"),
        latency("eu-west-1", "example.eu.mydomain.com", "hc-eu"),
    ]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def make(health: dict[str, bool], ttl: int = 1) -> tuple[LatencyResolver, Clock]:
    clock = Clock()
    resolver = LatencyResolver(lambda hc: health[hc], clock=clock)
    resolver.set_records(records(ttl))
    return resolver, clock


def test_each_region_gets_its_own_record_while_healthy() -> None:
    resolver, _ = make({"hc-us": True, "hc-eu": True})
    assert resolver.answer("example.mydomain.com", "us-east-1").target == "example.us.mydomain.com"
    assert resolver.answer("example.mydomain.com.", "eu-west-1").region == "eu-west-1"


def test_us_clients_fail_over_to_eu_when_the_us_check_is_unhealthy() -> None:
    health = {"hc-us": True, "hc-eu": True}
    resolver, _ = make(health)
    health["hc-us"] = False
    answer = resolver.answer("example.mydomain.com", "us-east-1")
    assert (answer.region, answer.target) == ("eu-west-1", "example.eu.mydomain.com")
    assert resolver.answer("example.mydomain.com", "eu-west-1").region == "eu-west-1"


def test_every_record_unhealthy_answers_as_if_all_were_healthy() -> None:
    resolver, _ = make({"hc-us": False, "hc-eu": False})
    assert resolver.answer("example.mydomain.com", "us-east-1").region == "us-east-1"


def test_clients_keep_a_cached_answer_for_the_ttl_then_follow_the_failover() -> None:
    health = {"hc-us": True, "hc-eu": True}
    changes: list[tuple[str, str | None]] = []
    clock = Clock()
    resolver = LatencyResolver(
        lambda hc: health[hc],
        clock=clock,
        on_change=lambda name, client, old, new: changes.append((client, new.region)),
    )
    resolver.set_records(records(ttl=30))
    assert resolver.resolve("example.mydomain.com", "us-east-1").region == "us-east-1"
    health["hc-us"] = False
    clock.now += 29.9
    assert resolver.resolve("example.mydomain.com", "us-east-1").region == "us-east-1"
    clock.now += 0.2
    assert resolver.resolve("example.mydomain.com", "us-east-1").region == "eu-west-1"
    assert changes == [("us-east-1", "us-east-1"), ("us-east-1", "eu-west-1")]


def test_an_unknown_name_is_an_error() -> None:
    resolver, _ = make({"hc-us": True, "hc-eu": True})
    with pytest.raises(NoSuchName, match=r"nothing\.mydomain\.com"):
        resolver.answer("nothing.mydomain.com", "us-east-1")
