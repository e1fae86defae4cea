"""The handler of the SSM Automation document's ``aws:executeScript`` steps (boto3 only).

It turns the step's InputPayload into a call of the Lambda fault engine
(``awslambda.engine``): the document's script is this module concatenated
after the engine's modules (``chaosaws_serverless.ssm.document``), so a fault
the document injects is the one ``inject_latency`` injects, and either side
removes the other's. ``ChaosMode`` ENABLED injects latency, DISABLED removes
the recorded fault. ``RestoreOf`` (set by the document's own restore step, or by
anything that restores one run's fault) limits DISABLED to the fault that
execution injected: another run's fault is left as it is. ``RestoreSwitch``
(set by a dead man's switch, ``chaosaws_serverless.switch``) limits it to the
fault whose record names that switch.
"""

from typing import Any

import boto3
from botocore.config import Config

from chaosaws_serverless.awslambda.engine.arguments import (
    Stamp,
    function_ref,
    function_region,
    latency_fault,
    now,
)
from chaosaws_serverless.awslambda.engine.calls import CLIENT_RETRIES
from chaosaws_serverless.awslambda.engine.errors import FaultError
from chaosaws_serverless.awslambda.engine.function import read_function
from chaosaws_serverless.awslambda.engine.injection import inject
from chaosaws_serverless.awslambda.engine.rollback import remove


def handler(events: dict[str, Any], context: Any) -> dict[str, Any]:
    """Apply ``ChaosMode`` to ``FunctionName``; return the step's output (``result``, details)."""
    mode = str(events.get("ChaosMode") or "").upper()
    given = events.get("FunctionName")
    # The function's own region when an ARN names it, else the execution's.
    lam = boto3.client(
        "lambda", region_name=function_region(given), config=Config(retries=CLIENT_RETRIES)
    )
    ref = function_ref(given, lam.meta.region_name, events.get("AliasName"))
    if mode == "ENABLED":
        fault = latency_fault(
            events.get("LatencyMs"),
            events.get("Probability", "1"),
            names=("LatencyMs", "Probability"),
        )
        execution = str(events.get("ExecutionId") or "").strip()
        # Outside SSM the reference stays unresolved: then the record says only "ssm".
        by = f"ssm-automation:{execution}" if execution and "{" not in execution else "ssm"
        layer_arn = str(events.get("LayerArn") or "")
        report = inject(lam, ref, fault, layer_arn, Stamp(by[:100], now()))
        report["result"] = f"latency fault injected on {ref.target}"
    elif mode == "DISABLED":
        owner = str(events.get("RestoreOf") or "").strip()
        switch = str(events.get("RestoreSwitch") or "").strip()
        record = read_function(lam, ref).record if owner or switch else None
        other = None
        if record is not None and owner and record.by != f"ssm-automation:{owner}":
            other = f"injected by {record.by}, not by ssm-automation:{owner}"
        elif record is not None and switch and record.switch != switch:
            other = f"armed with switch {record.switch}, not {switch}"
        if other:
            return {
                "function_name": ref.name,
                "region": ref.region,
                "removed": False,
                "result": f"the recorded fault was {other}: left as it is",
            }
        report = remove(lam, ref)
        report["result"] = (
            f"{report['fault']} fault on {report['target']} removed"
            if report["removed"]
            else "no fault recorded"
        )
    else:
        raise FaultError(f"ChaosMode must be ENABLED or DISABLED, got {events.get('ChaosMode')!r}")
    return report
