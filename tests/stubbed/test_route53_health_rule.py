"""Route 53's 18 % rule on checker observations (moto always answers healthy: botocore Stubber).

The Stubber validates every request and response against Route 53's service
model, so these tests cannot assert calls that AWS would reject.
"""

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.stub import Stubber
from chaoslib.exceptions import ActivityFailed

from chaosaws_serverless import aws
from chaosaws_serverless.route53 import health, probes

CHECK_ID = "11111111-2222-3333-4444-555555555555"
CONFIGURATION = {"aws_region": "us-east-1"}


def observations(healthy: int, total: int) -> list[dict[str, Any]]:
    return [
        {
            "Region": "us-east-1",
            "IPAddress": f"15.177.0.{i}",
            "StatusReport": {
                "Status": (
                    "Success: HTTP Status Code 200, OK"
                    if i < healthy
                    else "Failure: Connection timed out. The endpoint or the internet "
                    "connection is down, or requests are being blocked by your firewall."
                )
            },
        }
        for i in range(total)
    ]


def described(**config: Any) -> dict[str, Any]:
    return {
        "HealthCheck": {
            "Id": CHECK_ID,
            "CallerReference": "ref",
            "HealthCheckConfig": {
                "Type": "HTTPS",
                "FullyQualifiedDomainName": "example.us.mydomain.com",
                "ResourcePath": "/api/health",
                "Port": 443,
                **config,
            },
            "HealthCheckVersion": 1,
        }
    }


@pytest.fixture
def stub() -> Iterator[Stubber]:
    aws.clear_client_cache()
    route53 = aws.client("route53", "us-east-1", CONFIGURATION)  # the instance the probes reuse
    with Stubber(route53) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()
    aws.clear_client_cache()


def expect(stub: Stubber, config: dict[str, Any], obs: list[dict[str, Any]] | None) -> None:
    stub.add_response("get_health_check", described(**config), {"HealthCheckId": CHECK_ID})
    if obs is not None:
        stub.add_response(
            "get_health_check_status",
            {"HealthCheckObservations": obs},
            {"HealthCheckId": CHECK_ID},
        )


@pytest.mark.parametrize(
    ("healthy", "total", "status"),
    [
        (16, 16, "Healthy"),
        (3, 16, "Healthy"),  # 18.75 % > 18 %
        (2, 16, "Unhealthy"),  # 12.5 %
        (9, 50, "Unhealthy"),  # exactly 18 % is not *more* than 18 %
        (10, 50, "Healthy"),
        (0, 8, "Unhealthy"),
    ],
)
def test_more_than_18_percent_healthy_checkers_make_it_healthy(
    stub: Stubber, healthy: int, total: int, status: str
) -> None:
    expect(stub, {}, observations(healthy, total))
    assert probes.get_health_check_status(CHECK_ID, configuration=CONFIGURATION) == status


@pytest.mark.parametrize(("healthy", "expected"), [(16, False), (2, True)])
def test_inverted_check_flips(stub: Stubber, healthy: int, expected: bool) -> None:
    expect(stub, {"Inverted": True}, observations(healthy, 16))
    assert probes.health_check_is_healthy(CHECK_ID, configuration=CONFIGURATION) is expected


def test_disabled_check_is_healthy_without_reading_observations(stub: Stubber) -> None:
    expect(stub, {"Disabled": True}, None)
    assert probes.get_health_check_status(CHECK_ID, configuration=CONFIGURATION) == "Healthy"


def test_disabled_and_inverted_check_is_unhealthy(stub: Stubber) -> None:
    # Route 53 API reference, HealthCheckConfig.Disabled: a disabled check is always healthy;
    # "If you want to stop routing traffic to a resource, change the value of Inverted".
    expect(stub, {"Disabled": True, "Inverted": True}, None)
    assert probes.get_health_check_status(CHECK_ID, configuration=CONFIGURATION) == "Unhealthy"


def test_no_observations_is_an_error_not_healthy(stub: Stubber) -> None:
    expect(stub, {}, [])
    with pytest.raises(ActivityFailed, match="no checker observations"):
        probes.get_health_check_status(CHECK_ID, configuration=CONFIGURATION)


def test_calculated_check_needs_the_metric_source(stub: Stubber) -> None:
    stub.add_response(
        "get_health_check",
        {
            "HealthCheck": {
                "Id": CHECK_ID,
                "CallerReference": "ref",
                "HealthCheckConfig": {"Type": "CALCULATED", "ChildHealthChecks": ["a", "b"]},
                "HealthCheckVersion": 1,
            }
        },
        {"HealthCheckId": CHECK_ID},
    )
    with pytest.raises(ActivityFailed, match=r"CALCULATED.*use source='metric'"):
        probes.get_health_check_status(CHECK_ID, configuration=CONFIGURATION)


def test_access_denied_names_the_permission(stub: Stubber) -> None:
    stub.add_client_error(
        "get_health_check", service_error_code="AccessDenied", http_status_code=403
    )
    with pytest.raises(
        ActivityFailed, match="grant the caller the IAM permission 'route53:GetHealthCheck'"
    ):
        probes.get_health_check_status(CHECK_ID, configuration=CONFIGURATION)


def test_rule_is_pure() -> None:
    assert health.healthy_from_observations(observations(1, 5))  # 20 %
    assert not health.healthy_from_observations(observations(1, 6))  # 16.7 %
    assert health.healthy_from_observations(observations(0, 6), disabled=True)
    # Route 53 API reference (HealthCheckConfig.Disabled): disabled is healthy; to stop
    # routing traffic to a disabled check's resource, invert it.
    assert not health.healthy_from_observations(observations(6, 6), disabled=True, inverted=True)
