"""Inject and remove a fault on one Lambda function: the chaoslib adapter over the engine.

What an injection and a removal do, in which order and with which refusals, is
``awslambda.engine`` (boto3 only; the SSM document runs the same code). This
module adds what the activities need around it: the client from the
configuration, a lock per function (background activities of one run are
threads), the injector's name, logging through logzero, and the one boundary
between the engine's errors and chaoslib's, :func:`engine_errors`, entered once
by each function here that other modules call.
"""

import contextlib
import threading
import weakref
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Optional

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets
from logzero import logger

from chaosaws_serverless import switch
from chaosaws_serverless.aws import client, resolve_region
from chaosaws_serverless.awslambda import engine
from chaosaws_serverless.errors import AwsActivityFailed, activity_failed
from chaosaws_serverless.runs import injector

__all__ = [
    "Function",
    "changing",
    "engine_errors",
    "error_fault",
    "fault_state",
    "function_ref",
    "inject",
    "injector",
    "latency_fault",
    "layer_architectures",
    "read_function",
    "remove",
    "resolve_layer_arn",
]

_LOCKS: dict[tuple[str, str, str], threading.RLock] = {}
_LOCKS_GUARD = threading.Lock()
_LAYER_ARCHITECTURES: "weakref.WeakKeyDictionary[Any, dict[str, list[str]]]" = (
    weakref.WeakKeyDictionary()
)


@contextlib.contextmanager
def engine_errors() -> Iterator[None]:
    """Re-raise the engine's errors inside the block as ``ActivityFailed`` (most specific first).

    ``CallFailed`` becomes ``errors.AwsActivityFailed`` (operation, resource,
    AWS error code, fix; the botocore error stays the cause, as for every other
    AWS failure); any other ``FaultError`` is a refusal whose message already
    names the value and the fix.
    """
    try:
        yield
    except engine.CallFailed as error:
        raise activity_failed(error.error, error.action, error.resource) from error.error
    except engine.FaultError as error:
        raise ActivityFailed(str(error)) from error


def _log(level: str, message: str) -> None:
    getattr(logger, level)(message)


# --- arguments (validated before any AWS call) ----------------------------------------


def latency_fault(latency_ms: Any, probability: Any) -> engine.Fault:
    """Return the validated latency fault (``latency_ms`` rounded up to whole seconds)."""
    with engine_errors():
        fault = engine.latency_fault(latency_ms, probability)
    latency = fault.params["latency_ms"]
    if engine.latency_seconds(latency) * 1000 != latency:
        logger.info(
            f"latency_ms={latency} becomes {engine.latency_seconds(latency)} s: the extension "
            "only sleeps whole seconds"
        )
    return fault


def error_fault(status_code: Any, body: Any, probability: Any) -> engine.Fault:
    """Return the validated error fault."""
    with engine_errors():
        return engine.error_fault(status_code, body, probability)


def function_ref(
    function_name: Any, region: Optional[str], alias: Any, configuration: Optional[Configuration]
) -> engine.FunctionRef:
    """Return the activity's function, alias and region, validated once, before any AWS call."""
    with engine_errors():
        engine.validate_region_argument(region)
        return engine.function_ref(function_name, resolve_region(region, configuration), alias)


def resolve_layer_arn(
    layer_arn: Optional[str],
    region: str,
    configuration: Optional[Configuration],
    architecture: str = "x86_64",
) -> str:
    """Return the chaos layer ARN for ``region``.

    The argument, else the configuration's ``chaos_layer_arns[region]``, else
    the extension's published layer for the region and ``architecture``.
    """
    source = "layer_arn"
    if not layer_arn:
        arns = (configuration or {}).get("chaos_layer_arns")
        if isinstance(arns, Mapping) and arns.get(region):
            layer_arn, source = str(arns[region]), f"chaos_layer_arns[{region!r}]"
        else:
            layer_arn = engine.published_layer_arn(region, architecture)
            source = f"the published {architecture} layer of {region}"
            if layer_arn is None:
                raise ActivityFailed(
                    f"the chaos extension publishes no {architecture} layer in {region}: pass "
                    f"'layer_arn' or set the configuration 'chaos_layer_arns': {{\"{region}\": "
                    f'"arn:aws:lambda:{region}:<account>:layer:<name>:<version>"}} '
                    "(nothing was changed)"
                )
    with engine_errors():
        return engine.check_layer_arn(str(layer_arn), region, source)


# --- reading ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Function:
    """A validated function, its client, and its state as read once."""

    ref: engine.FunctionRef
    lam: Any
    state: engine.FunctionState


def read_function(
    function_name: Any,
    region: Optional[str],
    alias: Any,
    configuration: Optional[Configuration],
    secrets: Optional[Secrets],
) -> Function:
    """Validate the arguments (before any AWS call), then read the function and its record."""
    ref = function_ref(function_name, region, alias, configuration)
    lam = client("lambda", ref.region, configuration, secrets)
    with engine_errors():
        return Function(ref, lam, engine.read_function(lam, ref))


def layer_architectures(lam: Any, layer_arn: str) -> list[str]:
    """Return a layer version's CompatibleArchitectures, read once per client.

    A layer version is immutable, so injecting into 40 functions reads it once.
    The cache lives as long as the client (a new client, new endpoint or new
    credentials, reads again).
    """
    cache = _LAYER_ARCHITECTURES.setdefault(lam, {})
    if layer_arn not in cache:
        with engine_errors():
            cache[layer_arn] = engine.layer_architectures(lam, layer_arn)
    return cache[layer_arn]


@contextlib.contextmanager
def changing(
    ref: engine.FunctionRef, configuration: Optional[Configuration], secrets: Optional[Secrets]
) -> Iterator[Any]:
    """Hold this process's lock on the function; yield its client, the engine's errors mapped.

    Background activities of one ``chaos run`` are threads: two faults on the
    same function take turns, so the second sees the first's record (in-place
    update or refusal) instead of racing it. Re-entrant: a failed injection
    rolls back under its own lock.
    """
    key = (str((configuration or {}).get("aws_endpoint_url", "")), ref.region, ref.name)
    with _LOCKS_GUARD:
        lock = _LOCKS.setdefault(key, threading.RLock())
    with lock, engine_errors():
        yield client("lambda", ref.region, configuration, secrets)


# --- inject and remove -------------------------------------------------------------------


def inject(
    function_name: Any,
    fault: engine.Fault,
    region: Optional[str],
    alias: Any,
    layer_arn: Optional[str],
    configuration: Optional[Configuration],
    secrets: Optional[Secrets],
    *,
    selection: Optional[str] = None,
    dry_run: bool = False,
    deadline_seconds: Any = None,
) -> dict[str, Any]:
    """Inject ``fault`` into a function (or the alias) and return what was done.

    ``selection``: the id of a tag-targeted injection, kept in the record.
    ``dry_run``: read and run every check of an injection, change nothing
    (a tag target checks all its functions before changing any).
    ``deadline_seconds``: when the dead man's switch (``chaosaws_serverless.switch``)
    restores the fault if nothing removed it before (default: the configuration's).
    """
    ref = function_ref(function_name, region, alias, configuration)
    armed: list[switch.Armed] = []
    ready = None
    if switch.switch_required(configuration):
        seconds = switch.deadline_seconds(deadline_seconds, configuration)
        ready = switch.ready(ref.region, configuration or {}, secrets)
    name = switch.schedule_name(ref.name) if ready and not dry_run else None

    def layer_for(architecture: str) -> str:
        # The published table has one layer per architecture: the function's is used.
        return resolve_layer_arn(layer_arn, ref.region, configuration, architecture)

    def arm() -> None:
        assert ready is not None
        parameters = {"FunctionName": ref.name}
        label = ref.name
        armed.append(
            switch.arm(
                ready, label, ref.region, parameters, seconds, configuration or {}, secrets, name
            )
        )

    stamp = engine.Stamp(injector(), engine.now(), selection, name)
    with changing(ref, configuration, secrets) as lam:
        previous = engine.read_function(lam, ref).record if name else None
        try:
            result = engine.inject(
                lam,
                ref,
                fault,
                layer_for,
                stamp,
                dry_run=dry_run,
                architectures=layer_architectures,
                log=_log,
                before_change=arm if name else None,
            )
        except BaseException:
            for switched in armed:  # the injection rolled itself back: nothing to restore
                _disarm(switched.name, ref, configuration, secrets)
            raise
    if armed:
        result.update(switch=armed[0].name, deadline=armed[0].deadline)
        if previous is not None and previous.switch and previous.switch != armed[0].name:
            _disarm(previous.switch, ref, configuration, secrets)  # the fault it guarded is gone
    return result


def _disarm(
    name: str,
    ref: engine.FunctionRef,
    configuration: Optional[Configuration],
    secrets: Optional[Secrets],
) -> bool:
    """Delete a switch whose fault is gone; a failure is logged (its restore is a no-op)."""
    try:
        return switch.disarm(name, ref.region, configuration or {}, secrets, ref.resource)
    except AwsActivityFailed as error:
        logger.warning(
            f"{ref.resource}: the dead man's switch {name} could not be deleted ({error}); it "
            "restores nothing when it fires (the fault it guarded is gone) and deletes itself"
        )
        return False


def remove(
    function_name: Any,
    region: Optional[str],
    alias: Any,
    configuration: Optional[Configuration],
    secrets: Optional[Secrets],
) -> dict[str, Any]:
    """Roll back the fault recorded on a function; a logged no-op when there is none."""
    ref = function_ref(function_name, region, alias, configuration)
    with changing(ref, configuration, secrets) as lam:
        report = engine.remove(lam, ref, log=_log)
    if report.get("switch"):  # after the record: a crash before leaves the switch armed
        report["switch_disarmed"] = _disarm(report["switch"], ref, configuration, secrets)
    return report


# --- state ----------------------------------------------------------------------------


def fault_state(fn: Function) -> dict[str, Any]:
    """Return what the extension does on the function (or alias) now, read as it reads it."""
    ref, record = fn.ref, fn.state.record
    config = fn.state.configuration
    if ref.alias:
        with engine_errors():
            config = engine.get_function(fn.lam, ref, ref.alias)["Configuration"]
    contract = engine.contract_of(record)
    seen = contract.read(
        engine.environment_of(config),
        engine.response_switches_read(engine.layers_of(config), contract),
    )
    kinds = [
        k for k, on in (("latency", seen.latency_enabled), ("error", seen.response_enabled)) if on
    ]
    status: Optional[int] = None
    if seen.response_enabled:
        try:
            status = int(seen.response.get("statusCode", 500))
        except (TypeError, ValueError):
            status = None
    probability = None
    if seen.latency_enabled:
        probability = seen.latency_probability
    elif seen.response_enabled:
        probability = seen.response_probability
    ours = record is not None and record.target == ref.target
    return {
        "function_name": config["FunctionName"],
        "region": ref.region,
        "alias": ref.alias,
        "injected": seen.active,
        "fault": "+".join(kinds) if seen.active else None,
        "latency_ms": seen.latency_seconds * 1000 if seen.active and seen.latency_enabled else None,
        "probability": probability if seen.active else None,
        "status_code": status if seen.active else None,
        "since": record.at if ours and record else None,
        "injected_by": record.by if ours and record else None,
    }
