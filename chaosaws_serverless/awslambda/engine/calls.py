"""Lambda calls that survive concurrency: conflicts retried, revision checks, waiting for updates.

Retries happen once, each where it belongs. Throttling (429) and AWS's 5xx are
botocore's: the caller's client runs its adaptive retry mode (client-side rate
limiting plus backoff; ``chaosaws_serverless.aws`` for the activities,
``CLIENT_RETRIES`` for the SSM step), so a throttle costs at most that mode's
attempts. The engine retries only what botocore never does: 409
``ResourceConflictException`` (an update of the function is in progress) on
every call, and 412 ``PreconditionFailedException`` (the RevisionId we sent is
stale) on the configuration update, which reads the function again and
recomputes its change on the fresh revision.
"""

import random
import time
from collections.abc import Callable, Mapping
from typing import Any, Optional

from botocore.exceptions import BotoCoreError, ClientError

from chaosaws_serverless.awslambda.engine.arguments import FunctionRef
from chaosaws_serverless.awslambda.engine.errors import CallFailed, FaultError

# What the caller's Lambda client should retry (botocore's adaptive mode: throttles, 5xx).
CLIENT_RETRIES = {"mode": "adaptive", "max_attempts": 8}
IN_PROGRESS = "ResourceConflictException"
REVISION_CONFLICT = "PreconditionFailedException"
NOT_FOUND = "ResourceNotFoundException"
MAX_ATTEMPTS = 8
WAIT_TIMEOUT_SECONDS = 300.0

# Tests replace these to run without real sleeping.
sleep: Callable[[float], None] = time.sleep
monotonic: Callable[[], float] = time.monotonic


def backoff_seconds(attempt: int) -> float:
    """Return the pause before retry ``attempt`` (0-based): full jitter, capped at 8 s."""
    return random.uniform(0.5, 1.0) * min(8.0, 0.25 * 2**attempt)


def call(client: Any, operation: str, iam_action: str, resource: str, **params: Any) -> Any:
    """Return ``client.<operation>(**params)``, retrying an update in progress (409)."""
    method = getattr(client, operation)
    for attempt in range(MAX_ATTEMPTS):
        try:
            return method(**params)
        except (ClientError, BotoCoreError) as error:
            failed = CallFailed(error, iam_action, resource)
            if failed.code != IN_PROGRESS or attempt == MAX_ATTEMPTS - 1:
                raise failed from error
        sleep(backoff_seconds(attempt))
    raise AssertionError("unreachable")  # pragma: no cover


def get_function(lam: Any, ref: FunctionRef, qualifier: Optional[str] = None) -> Any:
    """Return GetFunction's answer (configuration, code location; tags: ``read_tags``)."""
    params = {"FunctionName": ref.name, **({"Qualifier": qualifier} if qualifier else {})}
    resource = ref.alias_resource if qualifier and qualifier == ref.alias else ref.resource
    return call(lam, "get_function", "lambda:GetFunction", resource, **params)


def _busy(configuration: Mapping[str, Any]) -> bool:
    return (
        configuration.get("State") == "Pending"
        or configuration.get("LastUpdateStatus") == "InProgress"
    )


def wait_until_updated(
    lam: Any, ref: FunctionRef, configuration: dict[str, Any], ours: bool = True
) -> Any:
    """Return the configuration once no update is in progress (``function_updated_v2``).

    ``ours``: the update waited for is ours, so ``Failed`` is an error; before
    our update, an earlier failed update of someone else does not block us.
    Polls GetFunction (100 req/s), not GetFunctionConfiguration (15 req/s).
    """
    deadline = monotonic() + WAIT_TIMEOUT_SECONDS
    attempt = 0
    while True:
        if ours and configuration.get("LastUpdateStatus") == "Failed":
            reason = configuration.get("LastUpdateStatusReason", "")
            raise FaultError(
                f"the update of {ref.resource} failed in AWS: {reason}. Fix: check the function "
                "in the Lambda console; run remove_faults to restore it"
            )
        if not _busy(configuration):
            return configuration
        if monotonic() > deadline:
            raise FaultError(
                f"{ref.resource} was still updating after {WAIT_TIMEOUT_SECONDS:.0f} s; run the "
                "activity again once it is Active"
            )
        sleep(min(5.0, 0.5 * 1.5**attempt))
        attempt += 1
        configuration = get_function(lam, ref)["Configuration"]


def update_configuration(
    lam: Any,
    ref: FunctionRef,
    compute: Callable[[Any], Optional[dict[str, Any]]],
    initial: Any = None,
) -> tuple[Any, Optional[dict[str, Any]]]:
    """Read the function, compute a change from it and apply it with RevisionId.

    ``compute`` gets GetFunction's answer and returns UpdateFunctionConfiguration's
    arguments (without FunctionName/RevisionId), or None when nothing changes. On
    a conflict (409 in progress, 412 stale revision) the function is read again
    and ``compute`` runs again. Returns the answer the change was computed from
    and the updated configuration (None when nothing changed). ``initial``: an
    answer just read.
    """
    for attempt in range(MAX_ATTEMPTS):
        function = initial if attempt == 0 and initial is not None else get_function(lam, ref)
        function["Configuration"] = wait_until_updated(
            lam, ref, function["Configuration"], ours=False
        )
        change = compute(function)
        if change is None:
            return function, None
        params = {"FunctionName": ref.name, **change}
        revision = function["Configuration"].get("RevisionId")
        if revision:
            params["RevisionId"] = revision
        try:
            updated = lam.update_function_configuration(**params)
        except (ClientError, BotoCoreError) as error:
            failed = CallFailed(error, "lambda:UpdateFunctionConfiguration", ref.resource)
            if failed.code not in (IN_PROGRESS, REVISION_CONFLICT) or attempt == MAX_ATTEMPTS - 1:
                raise failed from error
            sleep(backoff_seconds(attempt))
            continue
        return function, wait_until_updated(lam, ref, updated)
    raise AssertionError("unreachable")  # pragma: no cover
