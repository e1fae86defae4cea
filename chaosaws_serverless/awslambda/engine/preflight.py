"""The refusals an injection would make, as sentences, computed before any change (pure).

``inject_latency`` / ``inject_error`` refuse a function mid-experiment when it
cannot take the fault: another run's fault already on it, a layer built for
another architecture, another ``AWS_LAMBDA_EXEC_WRAPPER``, a sixth layer, an
environment over 4 KB, no tag room for the fault record. The doctor
(``chaosaws_serverless.doctor``) asks the same questions minutes before the
experiment, from the same functions: :func:`injection_refusals` takes what one
GetFunction and one GetLayerVersion return and answers with the sentences the
action would raise, or an empty list.

The injection itself (``injection.check``) calls :func:`runtime_refusal`,
:func:`architecture_refusal` and :func:`conflict_refusal`, and the planning and
tag budget are ``merge.plan_injection`` and ``record.check_tag_budget``, which
both use: a refusal added to those is found by the doctor without a change here.
"""

from collections.abc import Mapping, Sequence
from typing import Any, Optional

from chaosaws_serverless.awslambda.engine.arguments import LATEST, Fault
from chaosaws_serverless.awslambda.engine.merge import PlanError, plan_injection
from chaosaws_serverless.awslambda.engine.record import (
    FaultRecord,
    RecordError,
    check_tag_budget,
    decode,
    encode,
)

__all__ = ["architecture_refusal", "conflict_refusal", "injection_refusals", "runtime_refusal"]

# Runtimes whose bootstrap is the function's own: Lambda ignores AWS_LAMBDA_EXEC_WRAPPER there.
OS_ONLY_RUNTIMES = ("provided",)


def runtime_refusal(function_configuration: Mapping[str, Any], resource: str) -> Optional[str]:
    """Return why the chaos extension cannot wrap this function (image, OS-only runtime)."""
    if function_configuration.get("PackageType") == "Image":
        return (
            f"{resource} is a container image: Lambda attaches no layers to it, so the chaos "
            "extension cannot run. Build the extension into the image, or choose a zip "
            "function (nothing was changed)"
        )
    runtime = str(function_configuration.get("Runtime") or "")
    if runtime.startswith(OS_ONLY_RUNTIMES):
        return (
            f"{resource} runs on the OS-only runtime {runtime!r}: Lambda does not run "
            "AWS_LAMBDA_EXEC_WRAPPER there, so the chaos extension would never see an "
            "invocation. Call the extension's wrapper from your bootstrap, or choose a "
            "managed-runtime function (nothing was changed)"
        )
    return None


def architecture_refusal(
    layer_arn: str, compatible: Sequence[str], function_configuration: Mapping[str, Any]
) -> Optional[str]:
    """Return why a layer built for ``compatible`` architectures cannot go on the function."""
    architecture = (function_configuration.get("Architectures") or ["x86_64"])[0]
    if compatible and architecture not in compatible:
        return (
            f"layer {layer_arn!r} is built for {', '.join(compatible)} but function "
            f"{function_configuration['FunctionName']!r} runs on {architecture}; use the layer's "
            f"{architecture} build (nothing was changed)"
        )
    return None


def conflict_refusal(
    previous: Optional[FaultRecord], target: str, by: Optional[str], resource: str
) -> Optional[str]:
    """Return why a fault recorded on the function stops a new one (``by`` None: any does)."""
    if previous is None:
        return None
    if previous.target != target or previous.alias or previous.by != by:
        return (
            f"{resource} already carries a {previous.fault.get('kind', '?')} fault on "
            f"{previous.target}, injected by {previous.by} at {previous.at}; faults never stack. "
            "Let that experiment finish, or run remove_faults on it first (nothing was changed)"
        )
    return None


def injection_refusals(
    function_configuration: Mapping[str, Any],
    tags: Mapping[str, str],
    fault: Fault,
    layer_arn: str,
    layer_architectures: Optional[Sequence[str]],
    alias: Optional[str] = None,
    by: Optional[str] = None,
    switched: bool = True,
) -> list[str]:
    """Return every sentence the injection would refuse this function with (empty: it would go).

    ``function_configuration`` and ``tags`` are GetFunction's ``Configuration``
    and ``Tags``; ``fault`` comes from ``arguments.latency_fault``/``error_fault``;
    ``layer_architectures`` is the layer version's CompatibleArchitectures (None:
    the layer was not readable, the caller reports that itself); ``by`` is who
    would inject (``awslambda.faults.injector()``:
    a run may replace its own fault in place, so a probe inside that run is not
    refused by it; None: any recorded fault is a refusal); ``switched``: the
    injection arms a dead man's switch, whose name the record keeps).
    """
    name = str(function_configuration.get("FunctionName", "?"))
    resource = f"function {name!r}"
    refusals: list[str] = []
    unwrappable = runtime_refusal(function_configuration, resource)
    if unwrappable:
        refusals.append(unwrappable)
    try:
        previous = decode(dict(tags))
    except RecordError as error:
        return [f"the fault record on {resource} is damaged ({error}); remove_faults cannot run"]
    conflict = conflict_refusal(previous, alias or LATEST, by, resource)
    if conflict:
        refusals.append(conflict)
    if layer_architectures is not None:
        mismatch = architecture_refusal(layer_arn, layer_architectures, function_configuration)
        if mismatch:
            refusals.append(mismatch)
    environment = dict((function_configuration.get("Environment") or {}).get("Variables") or {})
    layers = [layer["Arn"] for layer in function_configuration.get("Layers") or []]
    try:
        plan = plan_injection(environment, layers, fault.environment, layer_arn, fault.contract)
    except PlanError as error:
        refusals.append(f"cannot inject into {resource}: {error}")
        return refusals
    record = FaultRecord(
        contract=fault.contract.name,
        # Unknown injector: the longest "by" an injection writes (faults.injector
        # truncates at 100), so the budget holds for any record. Timestamps have one length.
        by=by if by is not None else "x" * 100,
        at="2000-01-01T00:00:00Z",
        fault=dict(fault.params),
        alias={"name": alias, "version": "1", "faulty_version": "2"} if alias else None,
        layers=plan.appended_layers,
        env=plan.env_entries,
        # The longest switch name a schedule may have (EventBridge Scheduler: 64).
        switch="x" * 64 if switched else None,
    )
    try:
        check_tag_budget(tags, encode(record))
    except RecordError as error:
        refusals.append(f"cannot inject into {resource}: {error}")
    return refusals
