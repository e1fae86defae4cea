"""Lambda calls that survive concurrency: retries, revision checks, waiting for updates.

- Every call retries throttling (429) and ``ResourceConflictException`` (409,
  an update in progress) with capped exponential backoff and full jitter, on top
  of botocore's own retries.
- ``update_configuration`` re-reads the function and recomputes the change on
  ``PreconditionFailedException`` (412: someone changed the function since we
  read it), passing ``RevisionId`` whenever AWS returns one (moto does not).
- Waiting follows the ``function_updated_v2`` waiter (done when
  ``LastUpdateStatus`` is no longer ``InProgress``, failed on ``Failed``) but
  polls ``GetFunction`` (100 req/s) rather than ``GetFunctionConfiguration``
  (15 req/s shared with every other control-plane read), and skips the poll
  when the update's own answer already says ``Successful``.
"""

import random
import time
from collections.abc import Callable
from typing import Any, Optional

from botocore.exceptions import BotoCoreError, ClientError
from chaoslib.exceptions import ActivityFailed

from chaosaws_serverless.errors import activity_failed, error_code

RETRIED = {
    "ResourceConflictException",
    "TooManyRequestsException",
    "ThrottlingException",
    "Throttling",
    "RequestLimitExceeded",
}
REVISION_CONFLICT = "PreconditionFailedException"
MAX_ATTEMPTS = 8
WAIT_TIMEOUT_SECONDS = 300.0

# Tests replace these to run without real sleeping.
sleep: Callable[[float], None] = time.sleep
monotonic: Callable[[], float] = time.monotonic


def backoff_seconds(attempt: int) -> float:
    """Return the pause before retry ``attempt`` (0-based): full jitter, capped at 8 s."""
    return random.uniform(0.5, 1.0) * min(8.0, 0.25 * 2**attempt)


def call(lam: Any, operation: str, iam_action: str, resource: str, **params: Any) -> Any:
    """Call ``lam.<operation>(**params)``, retrying throttling and in-progress conflicts."""
    method = getattr(lam, operation)
    for attempt in range(MAX_ATTEMPTS):
        try:
            return method(**params)
        except ClientError as error:
            if error_code(error) in RETRIED and attempt < MAX_ATTEMPTS - 1:
                sleep(backoff_seconds(attempt))
                continue
            raise activity_failed(error, iam_action, resource) from error
        except BotoCoreError as error:
            raise activity_failed(error, iam_action, resource) from error
    raise AssertionError("unreachable")  # pragma: no cover


def get_function(lam: Any, name: str, resource: str, qualifier: Optional[str] = None) -> Any:
    """Return GetFunction's answer (configuration, tags, code location)."""
    params = {"FunctionName": name}
    if qualifier:
        params["Qualifier"] = qualifier
    return call(lam, "get_function", "lambda:GetFunction", resource, **params)


def _busy(configuration: dict[str, Any]) -> bool:
    return (
        configuration.get("State") == "Pending"
        or configuration.get("LastUpdateStatus") == "InProgress"
    )


def wait_until_updated(
    lam: Any, name: str, resource: str, configuration: dict[str, Any], ours: bool = True
) -> Any:
    """Return the configuration once no update is in progress (``function_updated_v2``).

    ``ours``: the update waited for is ours, so ``Failed`` is an error; before
    our update, an earlier failed update of someone else does not block us.
    """
    deadline = monotonic() + WAIT_TIMEOUT_SECONDS
    attempt = 0
    while True:
        if ours and configuration.get("LastUpdateStatus") == "Failed":
            reason = configuration.get("LastUpdateStatusReason", "")
            raise ActivityFailed(
                f"the update of {resource} failed in AWS: {reason}. Fix: check the function in "
                "the Lambda console; run remove_faults to restore it"
            )
        if not _busy(configuration):
            return configuration
        if monotonic() > deadline:
            raise ActivityFailed(
                f"{resource} was still updating after {WAIT_TIMEOUT_SECONDS:.0f} s; run the "
                "activity again once it is Active"
            )
        sleep(min(5.0, 0.5 * 1.5**attempt))
        attempt += 1
        configuration = get_function(lam, name, resource)["Configuration"]


def update_configuration(
    lam: Any,
    name: str,
    resource: str,
    compute: Callable[[Any], Optional[dict[str, Any]]],
    initial: Any = None,
) -> tuple[Any, Optional[dict[str, Any]]]:
    """Read the function, compute a change from it and apply it, safely.

    ``compute`` gets GetFunction's answer and returns the keyword arguments of
    ``UpdateFunctionConfiguration`` (without ``FunctionName``/``RevisionId``),
    or None when nothing needs to change. On a revision conflict the function is
    read again and ``compute`` runs again on what is there now. Returns the
    GetFunction answer the change was computed from and the updated
    configuration (None when nothing changed). ``initial``: a GetFunction
    answer just read, which saves the first read.
    """
    for attempt in range(MAX_ATTEMPTS):
        if attempt == 0 and initial is not None:
            function = initial
        else:
            function = get_function(lam, name, resource)
        function["Configuration"] = wait_until_updated(
            lam, name, resource, function["Configuration"], ours=False
        )
        change = compute(function)
        if change is None:
            return function, None
        params = {"FunctionName": name, **change}
        revision = function["Configuration"].get("RevisionId")
        if revision:
            params["RevisionId"] = revision
        try:
            updated = lam.update_function_configuration(**params)
        except ClientError as error:
            code = error_code(error)
            if code in RETRIED | {REVISION_CONFLICT} and attempt < MAX_ATTEMPTS - 1:
                sleep(backoff_seconds(attempt))
                continue
            raise activity_failed(error, "lambda:UpdateFunctionConfiguration", resource) from error
        except BotoCoreError as error:
            raise activity_failed(error, "lambda:UpdateFunctionConfiguration", resource) from error
        return function, wait_until_updated(lam, name, resource, updated)
    raise AssertionError("unreachable")  # pragma: no cover
