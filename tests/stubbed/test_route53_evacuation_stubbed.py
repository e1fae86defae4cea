"""What moto does not do for a region evacuation: HealthCheckVersion refusals, checker status.

moto never increments HealthCheckVersion nor refuses a stale one, and always answers healthy
observations; botocore's Stubber answers as Route 53 does (validated against its model).
"""

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.stub import Stubber
from chaoslib.exceptions import ActivityFailed

from chaosaws_serverless import aws
from chaosaws_serverless.route53 import actions
from chaosaws_serverless.route53.evacuation import EVACUATION_TAG
from tests.stubbed.test_route53_health_rule import CHECK_ID, described, observations

CONFIGURATION = {"aws_region": "us-east-1"}
RESOURCE = {"ResourceType": "healthcheck", "ResourceId": CHECK_ID}


@pytest.fixture
def stub() -> Iterator[Stubber]:
    aws.clear_client_cache()
    route53 = aws.client("route53", "us-east-1", CONFIGURATION)
    with Stubber(route53) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()
    aws.clear_client_cache()


def no_tags(stub: Stubber) -> None:
    # The model's Tags holds at least one tag: a check without tags answers none at all.
    stub.add_response("list_tags_for_resource", {"ResourceTagSet": dict(RESOURCE)}, RESOURCE)


def test_a_concurrent_edit_is_refused_and_the_record_removed(stub: Stubber) -> None:
    stub.add_response("get_health_check", described(), {"HealthCheckId": CHECK_ID})
    no_tags(stub)
    stub.add_response(
        "get_health_check_status",
        {"HealthCheckObservations": observations(16, 16)},
        {"HealthCheckId": CHECK_ID},
    )
    stub.add_response("change_tags_for_resource", {}, None)
    stub.add_client_error(
        "update_health_check",
        service_error_code="HealthCheckVersionMismatch",
        http_status_code=409,
        expected_params={"HealthCheckId": CHECK_ID, "HealthCheckVersion": 1, "Inverted": True},
    )
    removed: dict[str, Any] = {"ResourceType": "healthcheck", "ResourceId": CHECK_ID}
    stub.add_response(
        "change_tags_for_resource", {}, {**removed, "RemoveTagKeys": [EVACUATION_TAG]}
    )
    with pytest.raises(ActivityFailed, match="changed by someone else after it was read"):
        actions.evacuate_region(CHECK_ID, configuration=CONFIGURATION)


def test_a_check_reporting_unhealthy_is_refused_before_any_change(stub: Stubber) -> None:
    stub.add_response("get_health_check", described(), {"HealthCheckId": CHECK_ID})
    no_tags(stub)
    stub.add_response(
        "get_health_check_status",
        {"HealthCheckObservations": observations(1, 16)},
        {"HealthCheckId": CHECK_ID},
    )
    with pytest.raises(ActivityFailed, match="reports unhealthy now"):
        actions.evacuate_region(CHECK_ID, configuration=CONFIGURATION)


def test_restore_reads_again_after_a_concurrent_edit_and_keeps_it(stub: Stubber) -> None:
    # Written as the record's format says (route53/evacuation.py), not by its code.
    value = "v1 was=false at=2026-01-01T00:00:00Z by=me@elsewhere pid 1"
    tags = {**RESOURCE, "Tags": [{"Key": EVACUATION_TAG, "Value": value}]}
    for version in (2, 3):
        stub.add_response(
            "get_health_check",
            {
                "HealthCheck": {
                    **described(Inverted=True)["HealthCheck"],
                    "HealthCheckVersion": version,
                }
            },
            {"HealthCheckId": CHECK_ID},
        )
        stub.add_response("list_tags_for_resource", {"ResourceTagSet": tags}, RESOURCE)
        if version == 2:
            stub.add_client_error(
                "update_health_check",
                service_error_code="HealthCheckVersionMismatch",
                http_status_code=409,
                expected_params={
                    "HealthCheckId": CHECK_ID,
                    "HealthCheckVersion": 2,
                    "Inverted": False,
                },
            )
    stub.add_response(
        "update_health_check",
        described(),
        {"HealthCheckId": CHECK_ID, "HealthCheckVersion": 3, "Inverted": False},
    )
    stub.add_response(
        "change_tags_for_resource", {}, {**RESOURCE, "RemoveTagKeys": [EVACUATION_TAG]}
    )
    result = actions.restore_region(CHECK_ID, configuration=CONFIGURATION)
    assert result["restored"] is True and result["inverted"] is False
