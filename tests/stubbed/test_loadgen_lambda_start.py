"""start_load_generator: asynchronous invocations (moto's server cannot invoke; Stubber
checks every parameter against the Lambda API model)."""

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.stub import Stubber
from chaoslib.exceptions import ActivityFailed

from chaosaws_serverless.aws import clear_client_cache, client
from chaosaws_serverless.loadgen.actions import start_load_generator

EU = "eu-west-1"
CONFIGURATION = {"aws_region": "us-east-1"}
URL = "https://example.mydomain.com/api/hello"


@pytest.fixture
def stub() -> Iterator[Stubber]:
    clear_client_cache()
    with Stubber(client("lambda", EU, CONFIGURATION)) as stubber:
        yield stubber
    clear_client_cache()


def expect_timeout(stub: Stubber, seconds: int) -> None:
    stub.add_response(
        "get_function_configuration",
        {"FunctionName": "chaosaws-serverless-loadgen", "Timeout": seconds},
        {"FunctionName": "chaosaws-serverless-loadgen"},
    )


def test_invocations_split_the_rate_and_are_asynchronous(stub: Stubber) -> None:
    expect_timeout(stub, 900)
    event = {
        "url": URL,
        "rate_per_second": 50.0,
        "duration_seconds": 600,
        "client_region": EU,
        "publish": "emf",
        "namespace": "ChaosServerless",
        "timeout_seconds": 5,
        "interval_seconds": 10,
    }
    for n in range(4):
        stub.add_response(
            "invoke",
            {"StatusCode": 202, "ResponseMetadata": {"RequestId": f"r{n}", "HTTPStatusCode": 202}},
            {
                "FunctionName": "chaosaws-serverless-loadgen",
                "InvocationType": "Event",
                "Payload": json.dumps(event).encode(),
            },
        )
    result = start_load_generator(
        URL, 200, 600, invocations=4, region=EU, configuration=CONFIGURATION
    )
    stub.assert_no_pending_responses()
    assert result["status_codes"] == [202] * 4
    assert result["request_ids"] == ["r0", "r1", "r2", "r3"]
    assert result["rate_per_invocation"] == 50.0 and result["region"] == EU


def test_a_run_longer_than_the_function_timeout_is_refused(stub: Stubber) -> None:
    expect_timeout(stub, 60)
    with pytest.raises(ActivityFailed, match="exceed the function's timeout of 60 s"):
        start_load_generator(URL, 10, 60, region=EU, configuration=CONFIGURATION)


def test_a_missing_function_names_the_operation_and_the_fix(stub: Stubber) -> None:
    stub.add_client_error(
        "get_function_configuration", "ResourceNotFoundException", "Function not found"
    )
    with pytest.raises(ActivityFailed, match=r"lambda:GetFunctionConfiguration on function"):
        start_load_generator(URL, 10, 60, region=EU, configuration=CONFIGURATION)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"invocations": 0}, "invocations must be an integer 1..1000, got 0"),
        ({"rate_per_second": -1}, "rate_per_second must be a number > 0"),
        ({"url": "example.com"}, "http:// or https://"),
        ({"publish": "stdout"}, "publish must be one of"),
    ],
)
def test_bad_input_is_refused_before_any_call(
    stub: Stubber, kwargs: dict[str, Any], message: str
) -> None:
    args = {"url": URL, "rate_per_second": 10, "duration_seconds": 60, **kwargs}
    with pytest.raises(ActivityFailed, match=message):
        start_load_generator(**args, region=EU, configuration=CONFIGURATION)
