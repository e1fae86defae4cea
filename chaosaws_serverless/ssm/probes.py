"""Probes on SSM Automation executions."""

from typing import Optional

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets

from chaosaws_serverless.aws import client, resolve_region
from chaosaws_serverless.errors import aws_errors

__all__ = ["get_automation_status"]


def get_automation_status(
    execution_id: str,
    region: Optional[str] = None,
    *,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> str:
    """Return the status of an SSM Automation execution.

    SSM's own words: ``Pending``, ``InProgress``, ``Waiting``, ``Success``,
    ``TimedOut``, ``Cancelling``, ``Cancelled``, ``Failed``, ... for a
    tolerance such as ``"Success"``. An unknown execution is an error, never a
    status.

    ```json
    {"type": "probe", "name": "chaos-layer-attached", "tolerance": "Success",
     "provider": {"type": "python", "module": "chaosaws_serverless.ssm.probes",
                  "func": "get_automation_status",
                  "arguments": {"execution_id": "0123abcd-0123-abcd-0123-0123456789ab",
                                "region": "us-east-1"}}}
    ```
    """
    if not isinstance(execution_id, str) or not execution_id:
        raise ActivityFailed(
            f"execution_id must be an SSM Automation execution id, got {execution_id!r}"
        )
    region_name = resolve_region(region, configuration)
    ssm = client("ssm", region_name, configuration, secrets)
    with aws_errors("ssm:GetAutomationExecution", f"SSM automation {execution_id!r}"):
        execution = ssm.get_automation_execution(AutomationExecutionId=execution_id)[
            "AutomationExecution"
        ]
    return str(execution["AutomationExecutionStatus"])
