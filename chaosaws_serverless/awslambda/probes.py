"""Probes on Lambda functions: is a chaos fault switched on, and which one; is it throttled.

They read the function's live configuration (or the alias's version) and
interpret the chaos extension's variables exactly as the extension does
(``awslambda.engine.contracts``). They never return other environment values.
"""

from typing import Any, Dict, Optional

from chaoslib.types import Configuration, Secrets

from chaosaws_serverless import switch
from chaosaws_serverless.awslambda import faults, throttle

__all__ = ["fault_is_injected", "get_fault_state", "get_throttle_state"]


def get_fault_state(
    function_name: str,
    region: Optional[str] = None,
    alias: Optional[str] = None,
    *,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> Dict[str, Any]:
    """Return the chaos fault a Lambda function (or its alias) runs with now.

    A small dict: ``injected`` (bool: the extension wraps the function and a
    fault is switched on), ``fault`` (``"latency"``, ``"error"``,
    ``"latency+error"`` or null), ``latency_ms`` (the whole seconds the
    extension sleeps, in ms), ``probability``, ``status_code``, ``since`` and
    ``injected_by`` (from this package's record; null for a fault set by
    other means), ``switch`` and ``deadline`` (the fault's dead man's switch
    and when it restores the function, UTC; null without one, or once the
    schedule is gone), plus ``function_name``, ``region``, ``alias``. ``region``
    and ``alias`` (strings) are optional. Raises ``ActivityFailed`` for an
    unknown function or alias.

    ```json
    {"type": "probe", "name": "us-hello-fault",
     "provider": {"type": "python", "module": "chaosaws_serverless.awslambda.probes",
                  "func": "get_fault_state",
                  "arguments": {"function_name": "api-hello", "region": "us-east-1"}}}
    ```
    """
    fn = faults.read_function(function_name, region, alias, configuration, secrets)
    state = faults.fault_state(fn)
    name = fn.state.record.switch if fn.state.record is not None else None
    deadline = switch.read_deadline(name, fn.ref.region, configuration, secrets) if name else None
    return {**state, "switch": name if deadline else None, "deadline": deadline}


def fault_is_injected(
    function_name: str,
    region: Optional[str] = None,
    alias: Optional[str] = None,
    *,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> bool:
    """Return True when a chaos fault is switched on for the Lambda function (or alias).

    ``get_fault_state(...)["injected"]``; same arguments and errors.

    ```json
    {"type": "probe", "name": "us-hello-is-clean", "tolerance": false,
     "provider": {"type": "python", "module": "chaosaws_serverless.awslambda.probes",
                  "func": "fault_is_injected",
                  "arguments": {"function_name": "api-hello", "region": "us-east-1"}}}
    ```
    """
    fn = faults.read_function(function_name, region, alias, configuration, secrets)
    return bool(faults.fault_state(fn)["injected"])


def get_throttle_state(
    function_name: str,
    region: Optional[str] = None,
    *,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> Dict[str, Any]:
    """Return whether a Lambda function is throttled now (reserved concurrency 0).

    ``throttled`` (bool), ``reserved_concurrency`` (integer, null: unreserved),
    ``since`` and ``injected_by`` (from this package's throttle record; null
    for a throttle set by other means), ``function_name``, ``region``.
    ``region`` (string) is optional.

    ```json
    {"type": "probe", "name": "us-hello-throttled",
     "provider": {"type": "python", "module": "chaosaws_serverless.awslambda.probes",
                  "func": "get_throttle_state",
                  "arguments": {"function_name": "api-hello", "region": "us-east-1"}}}
    ```
    """
    return throttle.state(function_name, region, configuration, secrets)
