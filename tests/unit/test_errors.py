import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from chaoslib.exceptions import ActivityFailed

from chaosaws_serverless.errors import activity_failed, aws_errors


def client_error(code: str, message: str = "boom") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "UpdateFunctionConfiguration")


def test_access_denied_names_the_missing_iam_action() -> None:
    error = activity_failed(
        client_error("AccessDeniedException", "not authorized"),
        "lambda:UpdateFunctionConfiguration",
        "function 'api' in us-east-1",
    )
    text = str(error)
    assert "lambda:UpdateFunctionConfiguration on function 'api' in us-east-1" in text
    assert "AccessDeniedException" in text
    assert "grant the caller the IAM permission 'lambda:UpdateFunctionConfiguration'" in text


@pytest.mark.parametrize(
    ("code", "hint"),
    [
        ("ResourceNotFoundException", "check the name or id"),
        ("NoSuchHealthCheck", "check the name or id"),
        ("TooManyRequestsException", "throttling"),
        ("ResourceConflictException", "another update"),
        ("SomethingElse", "see the AWS message"),
    ],
)
def test_each_error_family_gets_its_hint(code: str, hint: str) -> None:
    assert hint in str(activity_failed(client_error(code), "x:Y", "thing"))


def test_context_manager_converts_and_chains() -> None:
    with (
        pytest.raises(ActivityFailed, match="could not reach the AWS endpoint") as caught,
        aws_errors("lambda:GetFunction", "function 'f'"),
    ):
        raise EndpointConnectionError(endpoint_url="http://127.0.0.1:1")
    assert isinstance(caught.value.__cause__, EndpointConnectionError)


def test_other_exceptions_pass_through() -> None:
    with pytest.raises(KeyError), aws_errors("lambda:GetFunction", "function 'f'"):
        raise KeyError("not an AWS error")


def test_aws_failures_carry_their_code_for_decisions() -> None:
    from botocore.exceptions import ClientError, EndpointConnectionError
    from chaoslib.exceptions import ActivityFailed

    from chaosaws_serverless.errors import AwsActivityFailed, activity_failed, code_of

    denied = ClientError(
        {"Error": {"Code": "AccessDeniedException", "Message": "not NotFound"}}, "GetAlias"
    )
    failed = activity_failed(denied, "lambda:GetAlias", "alias 'live'")
    assert isinstance(failed, AwsActivityFailed) and isinstance(failed, ActivityFailed)
    assert (failed.code, failed.iam_action, failed.resource) == (
        "AccessDeniedException",
        "lambda:GetAlias",
        "alias 'live'",
    )
    assert code_of(failed) == code_of(denied) == "AccessDeniedException"
    unreachable = activity_failed(EndpointConnectionError(endpoint_url="http://x"), "a:B", "r")
    assert unreachable.code == "" and code_of(ValueError("ResourceNotFoundException")) == ""
