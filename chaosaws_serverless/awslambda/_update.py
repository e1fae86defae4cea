"""Lambda calls that survive concurrency, for the activities: the engine's, as ActivityFailed.

Retries (throttling, in-progress conflicts), revision checks and waiting for
updates are ``_engine.call`` / ``update_configuration`` / ``wait_until_updated``
(the SSM document runs them too). Here they raise the activities' errors:
``engine_errors`` turns an engine refusal into ``ActivityFailed`` and a failed
AWS call into ``errors.AwsActivityFailed`` (operation, resource, code, fix).
"""

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, Optional

from chaoslib.exceptions import ActivityFailed

from chaosaws_serverless.awslambda import _engine
from chaosaws_serverless.errors import activity_failed

__all__ = [
    "MAX_ATTEMPTS",
    "RETRIED",
    "REVISION_CONFLICT",
    "WAIT_TIMEOUT_SECONDS",
    "backoff_seconds",
    "call",
    "engine_errors",
    "get_function",
    "update_configuration",
    "wait_until_updated",
]

RETRIED = _engine.RETRIED
REVISION_CONFLICT = _engine.REVISION_CONFLICT
MAX_ATTEMPTS = _engine.MAX_ATTEMPTS
WAIT_TIMEOUT_SECONDS = _engine.WAIT_TIMEOUT_SECONDS
backoff_seconds = _engine.backoff_seconds


@contextlib.contextmanager
def engine_errors() -> Iterator[None]:
    """Re-raise the engine's errors inside the block as ``ActivityFailed``."""
    try:
        yield
    except _engine.CallFailed as error:
        # The botocore error stays the cause, as for every other AWS failure.
        raise activity_failed(error.error, error.action, error.resource) from error.error
    except _engine.FaultError as error:
        raise ActivityFailed(str(error)) from error


def call(lam: Any, operation: str, iam_action: str, resource: str, **params: Any) -> Any:
    """Call ``lam.<operation>(**params)``, retrying throttling and in-progress conflicts."""
    with engine_errors():
        return _engine.call(lam, operation, iam_action, resource, **params)


def get_function(lam: Any, name: str, resource: str, qualifier: Optional[str] = None) -> Any:
    """Return GetFunction's answer (configuration, code location)."""
    with engine_errors():
        return _engine.get_function(lam, name, resource, qualifier)


def wait_until_updated(
    lam: Any, name: str, resource: str, configuration: dict[str, Any], ours: bool = True
) -> Any:
    """Return the configuration once no update is in progress (``function_updated_v2``)."""
    with engine_errors():
        return _engine.wait_until_updated(lam, name, resource, configuration, ours)


def update_configuration(
    lam: Any,
    name: str,
    resource: str,
    compute: Callable[[Any], Optional[dict[str, Any]]],
    initial: Any = None,
) -> tuple[Any, Optional[dict[str, Any]]]:
    """Read the function, compute a change and apply it (``_engine.update_configuration``)."""
    with engine_errors():
        return _engine.update_configuration(lam, name, resource, compute, initial)
