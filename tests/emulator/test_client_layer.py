"""The client layer against the moto server: bad configuration and assumed roles."""

import threading
from typing import Any

import pytest
from chaoslib.exceptions import ActivityFailed

from chaosaws_serverless import aws
from chaosaws_serverless.errors import aws_errors


def test_clients_are_cached_per_service_and_region(configuration: dict[str, Any]) -> None:
    first = aws.client("lambda", "us-east-1", configuration)
    assert aws.client("lambda", None, configuration) is first
    assert aws.client("lambda", "eu-west-1", configuration) is not first
    assert first.meta.config.retries["mode"] == "adaptive"


def test_clients_are_built_once_under_concurrency(configuration: dict[str, Any]) -> None:
    built: list[Any] = []
    threads = [
        threading.Thread(target=lambda: built.append(aws.client("route53", None, configuration)))
        for _ in range(16)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(c) for c in built}) == 1


def test_unknown_profile_is_one_clear_sentence(configuration: dict[str, Any]) -> None:
    configuration["aws_profile_name"] = "no-such-profile"
    with pytest.raises(ActivityFailed, match=r"AWS profile 'no-such-profile' .* was not found"):
        aws.client("lambda", None, configuration)


def test_malformed_role_arn_is_one_clear_sentence(configuration: dict[str, Any]) -> None:
    configuration["aws_assume_role_arn"] = "arn:aws:iam::role/chaos"
    with pytest.raises(ActivityFailed, match="is not an IAM role ARN"):
        aws.client("lambda", None, configuration)


def test_unreachable_endpoint_is_one_clear_sentence(configuration: dict[str, Any]) -> None:
    configuration["aws_endpoint_url"] = "http://127.0.0.1:9"
    lam = aws.client("lambda", None, configuration)
    with (
        pytest.raises(ActivityFailed, match="could not reach the AWS endpoint"),
        aws_errors("lambda:ListFunctions", "functions in us-east-1"),
    ):
        lam.list_functions()


def test_assumed_role_is_assumed_once_for_many_clients(configuration: dict[str, Any]) -> None:
    configuration["aws_assume_role_arn"] = "arn:aws:iam::123456789012:role/chaos-runner"
    configuration["aws_assume_role_session_name"] = "gameday"
    lam = aws.client("lambda", None, configuration)
    r53 = aws.client("route53", None, configuration)
    lam_creds = lam._request_signer._credentials
    assert lam_creds is r53._request_signer._credentials
    assert lam_creds.method == "sts-assume-role"
    assert lam_creds.get_frozen_credentials().access_key != "testing"
    caller = aws.client("sts", None, configuration).get_caller_identity()
    assert caller["Arn"].endswith(":assumed-role/chaos-runner/gameday")
