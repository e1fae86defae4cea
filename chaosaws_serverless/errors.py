"""Turn AWS and configuration errors into one clear ``ActivityFailed`` sentence.

Exception tree a user can meet from any activity::

    chaoslib.exceptions.ActivityFailed
    ├── AwsActivityFailed: raised by `aws_errors` for every botocore error, naming
    │   the operation, the resource, the AWS error code and a hint for the fix;
    │   carries ``code`` (the AWS error code, "" when AWS did not answer),
    │   ``iam_action`` and ``resource``, so callers decide on the code, never
    │   on the message
    ├── CredentialsError: no credentials anywhere boto3 and the package looked
    │   (named in the message), or AWS rejected them (the AWS code, and where
    │   they came from, never their value); also an ``AwsActivityFailed`` then
    └── NoData: a metric probe found no datapoint in its window

Activities wrap each AWS call (or a short group of calls on one resource)::

    with aws_errors("lambda:GetFunction", f"function {name!r} in {region}"):
        fn = client.get_function(FunctionName=name)
"""

import contextlib
from collections.abc import Iterator

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ParamValidationError,
    ReadTimeoutError,
)
from chaoslib.exceptions import ActivityFailed

__all__ = [
    "CREDENTIALS_REJECTED",
    "AwsActivityFailed",
    "CredentialsError",
    "NoData",
    "activity_failed",
    "aws_errors",
    "code_of",
    "error_code",
    "is_access_denied",
    "is_throttled",
]

_ACCESS_DENIED = {
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "AuthorizationError",
}
# AWS refusing who the caller is (not what it may do), across the protocols: the keys
# are unknown, their signature is wrong, or the session token has expired.
CREDENTIALS_REJECTED = frozenset(
    {
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "InvalidSignatureException",
        "IncompleteSignature",
        "MissingAuthenticationToken",
        "ExpiredToken",
        "ExpiredTokenException",
        "AuthFailure",
    }
)
_NOT_FOUND_SUFFIXES = ("NotFound", "NotFoundException", "NoSuchHealthCheck", "NoSuchHostedZone")
_THROTTLED = {
    "Throttling",
    "ThrottlingException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "PriorRequestNotComplete",
}


class AwsActivityFailed(ActivityFailed):
    """An AWS call failed: the sentence for the user, and the code for decisions."""

    def __init__(self, message: str, code: str, iam_action: str, resource: str) -> None:
        super().__init__(message)
        self.code = code
        self.iam_action = iam_action
        self.resource = resource


class CredentialsError(ActivityFailed):
    """No AWS credentials were found, or AWS rejected them: not a fault of any other value."""


class AwsCredentialsFailed(AwsActivityFailed, CredentialsError):
    """An AWS call found no credentials, or AWS answered one of ``CREDENTIALS_REJECTED``."""


class NoData(ActivityFailed):
    """A metric has no datapoint in the probe's window (a failure, never a 0)."""


def error_code(error: Exception) -> str:
    """Return the AWS error code of a botocore ``ClientError`` (or ``""``)."""
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", ""))
    return ""


def code_of(error: BaseException) -> str:
    """Return the AWS error code an ``AwsActivityFailed`` or a ``ClientError`` carries (or "")."""
    if isinstance(error, AwsActivityFailed):
        return error.code
    return error_code(error) if isinstance(error, Exception) else ""


def is_access_denied(error: Exception) -> bool:
    """Return whether ``error`` (botocore's or ours) is AWS refusing the caller's permissions."""
    return code_of(error) in _ACCESS_DENIED


def is_throttled(error: Exception) -> bool:
    """Return whether ``error`` (botocore's or ours) is AWS throttling the caller."""
    return code_of(error) in _THROTTLED


def _hint(code: str, iam_action: str) -> str:
    if code in _ACCESS_DENIED:
        return f"grant the caller the IAM permission {iam_action!r} on this resource"
    if code.endswith(_NOT_FOUND_SUFFIXES) or code.startswith("NoSuch"):
        return "check the name or id and that the region is the one the resource lives in"
    if code in _THROTTLED:
        return (
            "AWS kept throttling after the adaptive retries; run fewer activities at once "
            "or ask for a higher quota"
        )
    if code in {"ResourceConflictException", "PreconditionFailedException"}:
        return "another update to this resource is in progress; wait for it and run again"
    if code in {"InvalidParameterValueException", "ValidationError", "ValidationException"}:
        return "AWS rejected a value; the message above names it"
    return "see the AWS message above"


def activity_failed(error: Exception, iam_action: str, resource: str) -> AwsActivityFailed:
    """Return an ``AwsActivityFailed`` that names the operation, resource, code and fix."""
    code = error_code(error)

    def failed(message: str) -> AwsActivityFailed:
        return AwsActivityFailed(message, code, iam_action, resource)

    if isinstance(error, ClientError) and code in CREDENTIALS_REJECTED:
        source = error.response.get("CredentialSource") or "boto3's credential chain"
        return AwsCredentialsFailed(
            f"{iam_action} on {resource}: AWS rejected the credentials ({code}) that came from "
            f"{source}. Fix: renew or correct them there (new keys, aws sso login), or give "
            'others in the --var-file: {"secrets": {"aws": {"aws_access_key_id": ..., '
            '"aws_secret_access_key": ...}}}.',
            code,
            iam_action,
            resource,
        )
    if isinstance(error, ClientError):
        message = error.response.get("Error", {}).get("Message", "") or str(error)
        return failed(
            f"{iam_action} on {resource} failed with {code}: {message}. "
            f"Fix: {_hint(code, iam_action)}."
        )
    if isinstance(error, EndpointConnectionError | ConnectTimeoutError):
        return failed(
            f"{iam_action} on {resource} could not reach the AWS endpoint "
            f"({getattr(error, 'kwargs', {}).get('endpoint_url', error)}). Fix: check "
            "'aws_endpoint_url' / AWS_ENDPOINT_URL, the region name and the network."
        )
    if isinstance(error, ReadTimeoutError):
        return failed(
            f"{iam_action} on {resource} timed out waiting for AWS to answer. "
            "Fix: run again; if it persists, check the endpoint's health."
        )
    if isinstance(error, NoCredentialsError):
        return AwsCredentialsFailed(
            f"{iam_action} on {resource} found no AWS credentials. Fix: put "
            "aws_access_key_id and aws_secret_access_key under "
            '{"secrets": {"aws": {...}}} in the --var-file, set \'aws_profile_name\' in its '
            "configuration, or export the AWS_* variables.",
            code,
            iam_action,
            resource,
        )
    if isinstance(error, ParamValidationError):
        return failed(f"{iam_action} on {resource} was given invalid parameters: {error}")
    return failed(f"{iam_action} on {resource} failed: {error}")


@contextlib.contextmanager
def aws_errors(iam_action: str, resource: str) -> Iterator[None]:
    """Re-raise any botocore error inside the block as a clear ``ActivityFailed``.

    ``iam_action`` is the IAM action of the call (``"lambda:GetFunction"``): it is
    what a user must grant when the call is denied. ``resource`` reads as a noun
    phrase (``"function 'api-hello' in us-east-1"``).
    """
    try:
        yield
    except (ClientError, BotoCoreError) as error:
        raise activity_failed(error, iam_action, resource) from error
