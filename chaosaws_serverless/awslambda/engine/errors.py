"""The engine's errors: a refusal whose message names the value and the fix, or a failed AWS call.

::

    FaultError        a refusal (nothing was changed, unless the message says what was)
    └── CallFailed    an AWS call failed: the botocore error, its AWS error code, the IAM
                      action of the call and the resource, for callers to decide on the code

The chaoslib side maps both to ``ActivityFailed`` at one boundary
(``awslambda.faults.engine_errors``); the SSM step reports them as its failure.
"""

from botocore.exceptions import ClientError


class FaultError(Exception):
    """A refusal or failure of the engine; the message names the value and the fix."""


class CallFailed(FaultError):
    """An AWS call failed: the botocore error, its code, the IAM action and the resource."""

    def __init__(self, error: Exception, action: str, resource: str) -> None:
        self.error = error
        self.action = action
        self.resource = resource
        self.code = (
            str(error.response.get("Error", {}).get("Code", ""))
            if isinstance(error, ClientError)
            else ""
        )
        super().__init__(f"{action} on {resource} failed: {error}")
