"""Inject and remove a fault on one Lambda function: the activities' adapter over ``_engine``.

What an injection and a removal do, in which order and with which refusals, is
``_engine`` (boto3 only; the SSM document runs the same code). This module adds
what the activities need around it: the client from the configuration, a lock
per function (background activities of one run are threads), the injector's
name, logging through logzero, and ``ActivityFailed`` for every error.
"""

import getpass
import os
import socket
import threading
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Optional

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets
from logzero import logger

from chaosaws_serverless.aws import client, resolve_region
from chaosaws_serverless.awslambda import _engine, _update
from chaosaws_serverless.awslambda._record import FaultRecord
from chaosaws_serverless.awslambda.contracts import (
    DEFAULT_CONTRACT,
    FaultContract,
    latency_seconds,
    published_layer_arn,
    response_switches_read,
)
from chaosaws_serverless.awslambda.preflight import LATEST, OS_ONLY_RUNTIMES
from chaosaws_serverless.patterns import ALIAS_NAME, FUNCTION_NAME, LAYER_ARN

__all__ = [
    "ALIAS_NAME",
    "FUNCTION_NAME",
    "LATEST",
    "LAYER_ARN",
    "OS_ONLY_RUNTIMES",
    "Fault",
    "error_fault",
    "fault_state",
    "inject",
    "latency_fault",
    "read_tags",
    "remove",
    "resolve_layer_arn",
]

engine_errors = _update.engine_errors
_SAME_BEHAVIOUR = _engine.SAME_BEHAVIOUR
_LOCKS: dict[tuple[str, str, str], threading.RLock] = {}
_LOCKS_GUARD = threading.Lock()
_LAYER_ARCHITECTURES: "weakref.WeakKeyDictionary[Any, dict[str, list[str]]]" = (
    weakref.WeakKeyDictionary()
)


@dataclass(frozen=True)
class Fault:
    """A validated fault: its contract variables and the parameters the record keeps."""

    kind: str
    environment: dict[str, str]
    params: dict[str, Any]


def _log(level: str, message: str) -> None:
    getattr(logger, level)(message)


# --- argument validation (the engine's, errors as ActivityFailed) -----------------------


def validate_latency_ms(value: Any) -> int:
    """Return ``latency_ms`` as an int in 1..900000 (the extension's 900 s ceiling)."""
    with engine_errors():
        return _engine.validate_latency_ms(value)


def validate_probability(value: Any) -> float:
    """Return ``probability`` as a float in 0..1."""
    with engine_errors():
        return _engine.validate_probability(value)


def validate_status_code(value: Any) -> int:
    """Return ``status_code`` as an int in 100..599."""
    with engine_errors():
        return _engine.validate_status_code(value)


def validate_function_name(value: Any, region: Optional[str] = None) -> str:
    """Return ``value`` when Lambda accepts it as an unqualified function in ``region``."""
    with engine_errors():
        return _engine.validate_function_name(value, region)


def validate_region_argument(value: Any) -> None:
    """Refuse a region argument given but empty (None means: from the configuration)."""
    with engine_errors():
        _engine.validate_region_argument(value)


def check_runtime(configuration: Mapping[str, Any], resource: str) -> None:
    """Refuse functions the chaos extension cannot wrap (before anything changes)."""
    with engine_errors():
        _engine.check_runtime(configuration, resource)


def validate_alias(value: Any) -> Optional[str]:
    with engine_errors():
        return _engine.validate_alias(value)


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
            layer_arn = published_layer_arn(region, architecture)
            source = f"the published {architecture} layer of {region}"
            if layer_arn is None:
                raise ActivityFailed(
                    f"the chaos extension publishes no {architecture} layer in {region}: pass "
                    f"'layer_arn' or set the configuration 'chaos_layer_arns': {{\"{region}\": "
                    f'"arn:aws:lambda:{region}:<account>:layer:<name>:<version>"}} '
                    "(nothing was changed)"
                )
    with engine_errors():
        return _engine.check_layer_arn(str(layer_arn), region, source)


def latency_fault(
    latency_ms: Any, probability: Any, contract: FaultContract = DEFAULT_CONTRACT
) -> Fault:
    latency = validate_latency_ms(latency_ms)
    chance = validate_probability(probability)
    seconds = latency_seconds(latency)
    if seconds * 1000 != latency:
        logger.info(
            f"latency_ms={latency} becomes {seconds} s: the extension only sleeps whole seconds"
        )
    return Fault(
        kind="latency",
        environment=contract.latency_environment(latency, chance),
        params={"kind": "latency", "latency_ms": latency, "probability": chance},
    )


def error_fault(
    status_code: Any,
    body: Any,
    probability: Any,
    contract: FaultContract = DEFAULT_CONTRACT,
) -> Fault:
    code = validate_status_code(status_code)
    chance = validate_probability(probability)
    if body is not None and not isinstance(body, str):
        raise ActivityFailed(f"body must be a string (the response body) or null, got {body!r}")
    return Fault(
        kind="error",
        environment=contract.error_environment(code, body, chance),
        params={"kind": "error", "status_code": code, "probability": chance},
    )


# --- helpers --------------------------------------------------------------------------


def _who() -> str:
    try:
        user = getpass.getuser()
    except Exception:  # no login name in some containers
        user = "unknown"
    # The pid tells two runs on one machine apart: a run may re-inject its own
    # fault in place, never another run's.
    return f"{user}@{socket.gethostname()} pid {os.getpid()}"[:100]


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class _Function:
    """A validated function reference, its client, and its state as read once."""

    name: str
    alias: Optional[str]
    region: str
    resource: str
    lam: Any
    function: dict[str, Any]
    record: Optional[FaultRecord]

    @property
    def tags(self) -> dict[str, str]:
        return dict(self.function.get("Tags") or {})


def _client(
    function_name: Any,
    alias: Any,
    region: Optional[str],
    configuration: Optional[Configuration],
    secrets: Optional[Secrets],
) -> tuple[str, Optional[str], str, Any]:
    """Validate the arguments (before any AWS call); return name, alias, region and client."""
    validate_region_argument(region)
    region = resolve_region(region, configuration)
    name = validate_function_name(function_name, region)
    alias = validate_alias(alias)
    return name, alias, region, client("lambda", region, configuration, secrets)


def _read_function(
    function_name: Any,
    alias: Any,
    region: Optional[str],
    configuration: Optional[Configuration],
    secrets: Optional[Secrets],
) -> _Function:
    """Validate the arguments (before any AWS call), then read the function and its record."""
    name, alias, region, lam = _client(function_name, alias, region, configuration, secrets)
    with engine_errors():
        alias, resource, function, tags, record = _engine.read_function(lam, name, region, alias)
    function["Tags"] = tags
    return _Function(name, alias, region, resource, lam, function, record)


def read_tags(lam: Any, configuration: Mapping[str, Any], resource: str) -> dict[str, str]:
    """Return the function's tags from ListTags, never from GetFunction (``_engine.read_tags``)."""
    with engine_errors():
        return _engine.read_tags(lam, configuration, resource)


def _layer_architectures(lam: Any, layer_arn: str) -> list[str]:
    """Return a layer version's CompatibleArchitectures, read once per client.

    A layer version is immutable, so injecting into 40 functions reads it once.
    The cache lives as long as the client (a new client, new endpoint or new
    credentials, reads again).
    """
    cache = _LAYER_ARCHITECTURES.setdefault(lam, {})
    if layer_arn not in cache:
        cache[layer_arn] = _engine.layer_architectures(lam, layer_arn)
    return cache[layer_arn]


def _function_lock(
    function_name: Any, region: Optional[str], configuration: Optional[Configuration]
) -> threading.RLock:
    """Return the lock serialising this process's changes to one function.

    Background activities of one ``chaos run`` are threads: two faults on the
    same function take turns, so the second sees the first's record (in-place
    update or refusal) instead of racing it. Re-entrant: a failed injection
    rolls back under its own lock.
    """
    key = (
        str((configuration or {}).get("aws_endpoint_url", "")),
        resolve_region(region, configuration),
        str(function_name),
    )
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(key, threading.RLock())


# --- inject and remove -------------------------------------------------------------------


def inject(
    function_name: Any,
    fault: Fault,
    region: Optional[str],
    alias: Any,
    layer_arn: Optional[str],
    configuration: Optional[Configuration],
    secrets: Optional[Secrets],
    contract: FaultContract = DEFAULT_CONTRACT,
    *,
    selection: Optional[str] = None,
    dry_run: bool = False,
) -> dict[str, Any]:
    """Inject ``fault`` into a function (or the alias) and return what was done.

    ``selection``: the id of a tag-targeted injection, kept in the record.
    ``dry_run``: read and run every check of an injection, change nothing
    (a tag target checks all its functions before changing any).
    """
    with _function_lock(function_name, region, configuration):
        name, alias, region_name, lam = _client(
            function_name, alias, region, configuration, secrets
        )

        def layer_for(architecture: str) -> str:
            # The published table has one layer per architecture: the function's is used.
            return resolve_layer_arn(layer_arn, region_name, configuration, architecture)

        with engine_errors():
            return _engine.inject(
                lam,
                name,
                region_name,
                alias,
                fault.environment,
                fault.params,
                layer_for,
                _who(),
                _now(),
                contract,
                selection=selection,
                dry_run=dry_run,
                architectures=_layer_architectures,
                log=_log,
            )


def remove(
    function_name: Any,
    region: Optional[str],
    alias: Any,
    configuration: Optional[Configuration],
    secrets: Optional[Secrets],
) -> dict[str, Any]:
    """Roll back the fault recorded on a function; a logged no-op when there is none."""
    with _function_lock(function_name, region, configuration):
        name, alias, region_name, lam = _client(
            function_name, alias, region, configuration, secrets
        )
        with engine_errors():
            return _engine.remove(lam, name, region_name, alias, log=_log)


# --- state ----------------------------------------------------------------------------


def fault_state(
    function_name: Any,
    region: Optional[str],
    alias: Any,
    configuration: Optional[Configuration],
    secrets: Optional[Secrets],
) -> dict[str, Any]:
    """Return what the extension does on the function (or alias) now, read as it reads it."""
    fn = _read_function(function_name, alias, region, configuration, secrets)
    name, alias, region, resource, lam = fn.name, fn.alias, fn.region, fn.resource, fn.lam
    function, record = fn.function, fn.record
    config = function["Configuration"]
    if alias:
        config = _update.get_function(lam, name, f"alias {alias!r} of {resource}", alias)[
            "Configuration"
        ]
    contract = _engine.contract_of(record)
    seen = contract.read(
        _engine.environment_of(config),
        response_switches_read(_engine.layers_of(config), contract),
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
    ours = record is not None and record.target == (alias or LATEST)
    return {
        "function_name": config["FunctionName"],
        "region": region,
        "alias": alias,
        "injected": seen.active,
        "fault": "+".join(kinds) if seen.active else None,
        "latency_ms": seen.latency_seconds * 1000 if seen.active and seen.latency_enabled else None,
        "probability": probability if seen.active else None,
        "status_code": status if seen.active else None,
        "since": record.at if ours and record else None,
        "injected_by": record.by if ours and record else None,
    }
