"""The fault proxy itself: each fault has the wire shape botocore parses into AWS's error code."""

from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError

from chaosaws_serverless import aws
from tests.support.faultproxy import FaultProxy

NO_RETRY = Config(retries={"mode": "standard", "total_max_attempts": 1})


def _client(service: str, url: str, config: Config = NO_RETRY) -> Any:
    return boto3.client(service, region_name="us-east-1", endpoint_url=url, config=config)


@pytest.mark.parametrize(
    ("service", "call", "kind", "code"),
    [
        ("lambda", "list_functions", "throttle", "TooManyRequestsException"),
        ("lambda", "list_functions", "error500", "ServiceException"),
        ("route53", "list_health_checks", "throttle", "Throttling"),
        ("route53", "list_health_checks", "error500", "InternalFailure"),
        ("iam", "list_roles", "throttle", "Throttling"),
        ("resourcegroupstaggingapi", "get_resources", "throttle", "ThrottlingException"),
    ],
)
def test_each_protocol_gets_its_own_error_shape(
    configuration: dict[str, Any], service: str, call: str, kind: str, code: str
) -> None:
    proxy = FaultProxy(configuration["aws_endpoint_url"], fault_rate=1.0, kinds=[kind])
    with proxy, pytest.raises(ClientError) as raised:
        getattr(_client(service, proxy.url), call)()
    assert raised.value.response["Error"]["Code"] == code
    assert proxy.stats.injected[kind] == 1


def test_conflict_is_a_lambda_409_on_writes_only(configuration: dict[str, Any], aws: Any) -> None:
    with FaultProxy(configuration["aws_endpoint_url"], fault_rate=1.0, kinds=["conflict"]) as proxy:
        lam = _client("lambda", proxy.url)
        with pytest.raises(ClientError) as raised:
            lam.tag_resource(Resource="arn:aws:lambda:us-east-1:123456789012:function:x", Tags={})
        assert raised.value.response["Error"]["Code"] == "ResourceConflictException"
        assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
        assert "update is in progress" in raised.value.response["Error"]["Message"]
        with pytest.raises(ClientError) as read:
            lam.list_functions()
        assert read.value.response["Error"]["Code"] == "TooManyRequestsException"


def test_drop_after_applies_the_write_but_the_client_never_hears(
    configuration: dict[str, Any], aws: Any
) -> None:
    with (
        FaultProxy(
            configuration["aws_endpoint_url"], fault_rate=1.0, kinds=["drop_after"]
        ) as proxy,
        pytest.raises(ConnectionClosedError),
    ):
        _client("route53", proxy.url).create_health_check(
            CallerReference="once",
            HealthCheckConfig={"Type": "HTTPS", "FullyQualifiedDomainName": "a.example.com"},
        )
    assert len(aws("route53").list_health_checks()["HealthChecks"]) == 1


def test_the_package_client_layer_rides_out_a_flaky_aws(configuration: dict[str, Any]) -> None:
    with FaultProxy(
        configuration["aws_endpoint_url"],
        fault_rate=0.3,
        seed=3,
        kinds=["throttle", "error500", "drop"],
    ) as proxy:
        config = {**configuration, "aws_endpoint_url": proxy.url}
        aws.clear_client_cache()
        lam = aws.client("lambda", "us-east-1", config)
        for _ in range(12):
            assert lam.list_functions()["Functions"] == []
    aws.clear_client_cache()
    assert proxy.stats.faults > 0
    # botocore announces each retry (amz-sdk-request: attempt=N): one per injected fault
    assert proxy.stats.retried == proxy.stats.faults
    assert proxy.stats.requests == 12 + proxy.stats.faults


def test_same_seed_same_faults(configuration: dict[str, Any]) -> None:
    def run(seed: int) -> dict[str, int]:
        with FaultProxy(configuration["aws_endpoint_url"], fault_rate=0.3, seed=seed) as proxy:
            lam = _client("lambda", proxy.url, Config(retries={"max_attempts": 10}))
            for _ in range(5):
                lam.list_functions()
        return dict(proxy.stats.injected)

    assert run(11) == run(11)
