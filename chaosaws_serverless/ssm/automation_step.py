"""The handler of the SSM Automation document's ``aws:executeScript`` steps (boto3 only).

It turns the step's InputPayload into a call of the Lambda fault engine
(``awslambda._engine``): the document's script is this module concatenated
after the engine's modules (``chaosaws_serverless.ssm.document``), so a fault
the document injects is the one ``inject_latency`` injects, and either side
removes the other's. ``ChaosMode`` ENABLED injects latency, DISABLED removes
the recorded fault. ``RestoreOf`` (set by the document's own restore step, or by
anything that restores one run's fault) limits DISABLED to the fault that
execution injected: another run's fault is left as it is.
"""

from datetime import UTC, datetime
from typing import Any

import boto3

from chaosaws_serverless.awslambda._engine import (
    FaultError,
    function_region,
    inject,
    read_function,
    remove,
    validate_alias,
    validate_function_name,
    validate_latency_ms,
    validate_probability,
)
from chaosaws_serverless.awslambda.contracts import DEFAULT_CONTRACT

# The name the document's tests and SSM's step output know the engine's refusals by.
ChaosError = FaultError


def handler(events: dict[str, Any], context: Any) -> dict[str, Any]:
    """Apply ``ChaosMode`` to ``FunctionName``; return the step's output (``result``, details)."""
    mode = str(events.get("ChaosMode") or "").upper()
    name = validate_function_name(events.get("FunctionName"))
    alias = validate_alias(events.get("AliasName"))
    region = function_region(name)
    lam = boto3.client("lambda", region_name=region) if region else boto3.client("lambda")
    region = lam.meta.region_name
    if mode == "ENABLED":
        latency = validate_latency_ms(events.get("LatencyMs"), "LatencyMs")
        chance = validate_probability(events.get("Probability", "1"), "Probability")
        execution = str(events.get("ExecutionId") or "").strip()
        # Outside SSM the reference stays unresolved: then the record says only "ssm".
        by = f"ssm-automation:{execution}" if execution and "{" not in execution else "ssm"
        params = {"kind": "latency", "latency_ms": latency, "probability": chance}
        report = inject(
            lam,
            name,
            region,
            alias,
            DEFAULT_CONTRACT.latency_environment(latency, chance),
            params,
            str(events.get("LayerArn") or ""),
            by[:100],
            time_now(),
        )
        report["result"] = f"latency fault injected on {alias or '$LATEST'}"
    elif mode == "DISABLED":
        owner = str(events.get("RestoreOf") or "").strip()
        record = read_function(lam, name, region, alias)[4] if owner else None
        if record is not None and record.by != f"ssm-automation:{owner}":
            return {
                "function_name": name,
                "region": region,
                "removed": False,
                "result": (
                    f"the recorded fault was injected by {record.by}, not by "
                    f"ssm-automation:{owner}: left as it is"
                ),
            }
        report = remove(lam, name, region, alias)
        report["result"] = (
            f"{report['fault']} fault on {report['target']} removed"
            if report["removed"]
            else "no fault recorded"
        )
    else:
        raise FaultError(f"ChaosMode must be ENABLED or DISABLED, got {events.get('ChaosMode')!r}")
    return report


def time_now() -> str:
    """Return the record's timestamp (UTC, seconds)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
