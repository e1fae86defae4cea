"""Inject and remove a fault on one Lambda function: the engine of the actions, probes and CLI.

Order of operations (what makes a crash at any point recoverable):

1. validate every argument, read the function (configuration + tags in one
   GetFunction), its alias and the layer, and plan the change: any refusal
   happens here, before AWS is touched;
2. write the record tags (``_record``);
3. update the configuration (``_update``: RevisionId, retries, wait);
4. with an alias: publish the faulty version, note it in the record, merge the
   fault out of $LATEST again, point the alias at the faulty version.

If a step after 2 fails, the injection is rolled back before the error is
raised. Removal merges the fault out (``_merge.revert``), repoints the alias,
deletes the faulty version, and removes the record last.
"""

import getpass
import math
import os
import re
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
from chaosaws_serverless.awslambda import _update
from chaosaws_serverless.awslambda._merge import (
    PlanError,
    absorb_concurrent,
    plan_injection,
    revert,
)
from chaosaws_serverless.awslambda._record import (
    MAX_DIGESTS,
    EnvEntry,
    FaultRecord,
    RecordError,
    check_tag_budget,
    decode,
    encode,
    record_keys,
)
from chaosaws_serverless.awslambda.contracts import (
    CONTRACTS,
    DEFAULT_CONTRACT,
    MAX_LATENCY_MS,
    FaultContract,
    latency_seconds,
    published_layer_arn,
    response_switches_read,
)
from chaosaws_serverless.awslambda.preflight import architecture_refusal, conflict_refusal

LAYER_ARN = re.compile(
    r"^arn:aws[a-zA-Z-]*:lambda:(?P<region>[a-z]{2}(-[a-z]+)+-\d):(?P<account>\d{12}):"
    r"layer:(?P<name>[A-Za-z0-9_-]{1,140}):(?P<version>\d+)$"
)
ALIAS_NAME = re.compile(r"^(?!\d+$)[A-Za-z0-9_-]{1,128}$")
# Fields that make two versions behave the same (the alias flow publishes from $LATEST).
_SAME_BEHAVIOUR = ("CodeSha256", "Handler", "Runtime", "MemorySize", "Timeout", "Architectures")
LATEST = "$LATEST"
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


# --- argument validation (pure; runs before any AWS call) ------------------------------


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool):
        raise ActivityFailed(f"{name} must be a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ActivityFailed(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise ActivityFailed(f"{name} must be a finite number, got {value!r}")
    return number


def validate_latency_ms(value: Any) -> int:
    """Return ``latency_ms`` as an int in 1..900000 (the extension's 900 s ceiling)."""
    number = _number("latency_ms", value)
    if not 1 <= number <= MAX_LATENCY_MS or number != int(number):
        raise ActivityFailed(
            f"latency_ms must be a whole number of milliseconds in 1..{MAX_LATENCY_MS}, got "
            f"{value!r}; the extension sleeps whole seconds, so it is rounded up to seconds"
        )
    return int(number)


def validate_probability(value: Any) -> float:
    """Return ``probability`` as a float in 0..1."""
    number = _number("probability", value)
    if not 0.0 <= number <= 1.0:
        raise ActivityFailed(
            f"probability must be in 0..1 (a share of invocations, 1.0 = all), got {value!r}"
        )
    return number


def validate_status_code(value: Any) -> int:
    """Return ``status_code`` as an int in 100..599."""
    number = _number("status_code", value)
    if not 100 <= number <= 599 or number != int(number):
        raise ActivityFailed(f"status_code must be an HTTP status in 100..599, got {value!r}")
    return int(number)


# Lambda's FunctionName (botocore's pattern, split so a qualifier can be named):
# a name of at most 64 characters, an ARN or a partial ARN, maybe ":qualifier".
FUNCTION_NAME = re.compile(
    r"^(?:arn:aws[a-zA-Z-]*:lambda:(?P<region>[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d):"
    r"\d{12}:function:|\d{12}:function:)?(?P<name>[A-Za-z0-9_-]{1,64})(?::(?P<qualifier>.*))?$"
)
# Runtimes whose bootstrap is the function's own: Lambda ignores AWS_LAMBDA_EXEC_WRAPPER there.
OS_ONLY_RUNTIMES = ("provided",)


def validate_function_name(value: Any, region: Optional[str] = None) -> str:
    """Return ``value`` when Lambda accepts it as an unqualified function in ``region``."""
    match = FUNCTION_NAME.match(value) if isinstance(value, str) else None
    if match is None:
        raise ActivityFailed(
            f"function_name must be a Lambda function name (1..64 letters, digits, '-', '_') or "
            f"its ARN, got {value!r}; Lambda would reject it (nothing was changed)"
        )
    if match["qualifier"] is not None:
        raise ActivityFailed(
            f"function_name {value!r} carries the qualifier {match['qualifier']!r}; pass the "
            f"unqualified function and alias={match['qualifier']!r} (an alias is faulted by "
            "publishing a version; a version itself cannot change) (nothing was changed)"
        )
    if region and match["region"] and match["region"] != region:
        raise ActivityFailed(
            f"function_name {value!r} is in {match['region']} but the activity's region is "
            f"{region}; pass region={match['region']!r} (nothing was changed)"
        )
    return value


def validate_region_argument(value: Any) -> None:
    """Refuse a region argument given but empty (None means: from the configuration)."""
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise ActivityFailed(
            f"region must be an AWS region name such as 'us-east-1', got {value!r}; omit it to "
            "use the configuration's 'aws_region' (nothing was changed)"
        )


def check_runtime(configuration: Mapping[str, Any], resource: str) -> None:
    """Refuse functions the chaos extension cannot wrap (before anything changes)."""
    if configuration.get("PackageType") == "Image":
        raise ActivityFailed(
            f"{resource} is a container image: Lambda attaches no layers to it, so the chaos "
            "extension cannot run. Build the extension into the image, or choose a zip "
            "function (nothing was changed)"
        )
    runtime = str(configuration.get("Runtime") or "")
    if runtime.startswith(OS_ONLY_RUNTIMES):
        raise ActivityFailed(
            f"{resource} runs on the OS-only runtime {runtime!r}: Lambda does not run "
            "AWS_LAMBDA_EXEC_WRAPPER there, so the chaos extension would never see an "
            "invocation. Call the extension's wrapper from your bootstrap, or choose a "
            "managed-runtime function (nothing was changed)"
        )


def validate_alias(value: Any) -> Optional[str]:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not ALIAS_NAME.match(value):
        raise ActivityFailed(
            f"alias must be a Lambda alias name (letters, digits, '-', '_', not only digits), "
            f"got {value!r}; to target a version, create an alias for it"
        )
    return value


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
    match = LAYER_ARN.match(str(layer_arn))
    if not match:
        raise ActivityFailed(
            f"{source} {layer_arn!r} is not a Lambda layer version ARN; expected "
            "arn:aws:lambda:<region>:<12-digit account>:layer:<name>:<version>"
        )
    if match["region"] != region:
        raise ActivityFailed(
            f"{source} {layer_arn!r} is in {match['region']} but the function is in {region}; "
            f"Lambda only attaches layers of the function's region: publish the layer in {region}"
        )
    return str(layer_arn)


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


def _environment(configuration: Mapping[str, Any]) -> dict[str, str]:
    return dict((configuration.get("Environment") or {}).get("Variables") or {})


def _layers(configuration: Mapping[str, Any]) -> list[str]:
    return [layer["Arn"] for layer in configuration.get("Layers") or []]


def _unqualified_arn(configuration: Mapping[str, Any]) -> str:
    arn = str(configuration["FunctionArn"])
    return arn[: -len(":$LATEST")] if arn.endswith(":$LATEST") else arn


def _read_record(tags: Mapping[str, str], resource: str) -> Optional[FaultRecord]:
    try:
        return decode(tags)
    except RecordError as error:
        raise ActivityFailed(
            f"the fault record on {resource} is damaged ({error}); inspect its "
            "'chaosaws-serverless:fault:*' tags, restore the function by hand and delete them"
        ) from error


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


def _read_function(
    function_name: Any,
    alias: Any,
    region: Optional[str],
    configuration: Optional[Configuration],
    secrets: Optional[Secrets],
) -> _Function:
    """Validate the arguments (before any AWS call), then read the function and its record."""
    validate_region_argument(region)
    region = resolve_region(region, configuration)
    name = validate_function_name(function_name, region)
    alias = validate_alias(alias)
    lam = client("lambda", region, configuration, secrets)
    resource = f"function {name!r} in {region}"
    function = _update.get_function(lam, name, resource)
    function["Tags"] = read_tags(lam, function["Configuration"], resource)
    record = _read_record(function["Tags"], resource)
    return _Function(name, alias, region, resource, lam, function, record)


def read_tags(lam: Any, configuration: Mapping[str, Any], resource: str) -> dict[str, str]:
    """Return the function's tags from ListTags, never from GetFunction.

    Since 2024 GetFunction leaves ``Tags`` out when the caller may not call
    ``lambda:ListTags``: a missing key there means "not allowed to see", not
    "no record". ListTags denied is an ``ActivityFailed`` naming the action.
    """
    answer = _update.call(
        lam, "list_tags", "lambda:ListTags", resource, Resource=_unqualified_arn(configuration)
    )
    return dict(answer.get("Tags") or {})


def _contract(record: Optional[FaultRecord]) -> FaultContract:
    if record is not None and record.contract in CONTRACTS:
        return CONTRACTS[record.contract]
    return DEFAULT_CONTRACT


def _write_record(lam: Any, arn: str, resource: str, record_tags: Mapping[str, str]) -> None:
    _update.call(
        lam, "tag_resource", "lambda:TagResource", resource, Resource=arn, Tags=dict(record_tags)
    )
    # Stale chunks are found on a fresh read, not on ``tags``: another process may
    # have written a longer record since our read (tags have no conditional write,
    # and without a RevisionId nothing else tells us), and a leftover chunk of it
    # would make the record undecodable, so no rollback could run.
    current = _update.call(lam, "list_tags", "lambda:ListTags", resource, Resource=arn)
    stale = [key for key in record_keys(current.get("Tags") or {}) if key not in record_tags]
    if stale:
        _update.call(
            lam, "untag_resource", "lambda:UntagResource", resource, Resource=arn, TagKeys=stale
        )


def _layer_architectures(lam: Any, layer_arn: str) -> list[str]:
    """Return a layer version's CompatibleArchitectures, read once per client.

    A layer version is immutable, so injecting into 40 functions reads it once.
    The cache lives as long as the client (a new client, new endpoint or new
    credentials, reads again).
    """
    cache = _LAYER_ARCHITECTURES.setdefault(lam, {})
    if layer_arn not in cache:
        name_arn, version = layer_arn.rsplit(":", 1)
        layer = _update.call(
            lam,
            "get_layer_version",
            "lambda:GetLayerVersion",
            f"layer {layer_arn!r}",
            LayerName=name_arn,
            VersionNumber=int(version),
        )
        cache[layer_arn] = list(layer.get("CompatibleArchitectures") or [])
    return cache[layer_arn]


def _check_layer(lam: Any, layer_arn: str, configuration: Mapping[str, Any]) -> None:
    refusal = architecture_refusal(layer_arn, _layer_architectures(lam, layer_arn), configuration)
    if refusal:
        raise ActivityFailed(refusal)


def _check_alias_matches_latest(
    lam: Any, name: str, resource: str, alias: str, version: str, latest: Mapping[str, Any]
) -> None:
    """Refuse when publishing from $LATEST would change what the alias serves besides the fault."""
    if version == LATEST:
        return
    pinned = _update.get_function(lam, name, resource, qualifier=version)["Configuration"]
    different = [f for f in _SAME_BEHAVIOUR if pinned.get(f) != latest.get(f)]
    if _layers(pinned) != _layers(latest):
        different.append("Layers")
    if _environment(pinned) != _environment(latest):
        different.append("Environment")  # names only: values may be secrets
    if different:
        raise ActivityFailed(
            f"alias {alias!r} of {resource} points at version {version}, which differs from "
            f"$LATEST in {', '.join(different)}; the faulty version is published from $LATEST, "
            "so it would change more than the fault. Publish $LATEST to the alias first, or "
            "inject without alias (nothing was changed)"
        )


# --- inject ---------------------------------------------------------------------------


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
        return _inject(
            function_name,
            fault,
            region,
            alias,
            layer_arn,
            configuration,
            secrets,
            contract,
            selection=selection,
            dry_run=dry_run,
        )


def _inject(
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
    validate_region_argument(region)
    validate_function_name(function_name, resolve_region(region, configuration))
    fn = _read_function(function_name, alias, region, configuration, secrets)
    name, alias, region, resource, lam = fn.name, fn.alias, fn.region, fn.resource, fn.lam
    function, previous = fn.function, fn.record
    latest = function["Configuration"]
    check_runtime(latest, resource)
    architecture = (latest.get("Architectures") or ["x86_64"])[0]
    arn = resolve_layer_arn(layer_arn, region, configuration, architecture)
    # A version of the chaos layer already attached is the extension in use
    # (Lambda refuses two versions of one layer): name and check that one.
    attached = [a for a in _layers(latest) if a.rsplit(":", 1)[0] == arn.rsplit(":", 1)[0]]
    if attached and attached[0] != arn:
        logger.info(f"{resource}: the chaos layer is already attached as {attached[0]}; using it")
        arn = attached[0]
    target = alias or LATEST
    by, at = _who(), _now()
    # In place only for the run that injected it: another experiment's fault is
    # theirs to roll back, and replacing it would hide that a run is in progress.
    conflict = conflict_refusal(previous, target, by, resource)
    if conflict:
        raise ActivityFailed(conflict)
    _check_layer(lam, arn, latest)
    alias_state: Optional[dict[str, Any]] = None
    if alias:
        alias_state = _update.call(
            lam,
            "get_alias",
            "lambda:GetAlias",
            f"alias {alias!r} of {resource}",
            FunctionName=name,
            Name=alias,
        )
        _check_alias_matches_latest(
            lam, name, resource, alias, str(alias_state["FunctionVersion"]), latest
        )
    if previous is not None:
        logger.info(
            f"{resource}: replacing the {previous.fault.get('kind')} fault injected by "
            f"{previous.by} at {previous.at} in place (faults never stack)"
        )
    written: dict[str, str] = {}
    holder: dict[str, FaultRecord] = {}

    def compute(fresh: Any) -> Optional[dict[str, Any]]:
        config = fresh["Configuration"]
        current_tags = fn.tags if fresh is function else read_tags(lam, config, resource)
        environment, layers = _environment(config), _layers(config)
        absorbed = None
        if fresh is not function:  # a re-read after a conflict: did someone inject meanwhile?
            absorbed = absorb_concurrent(
                _environment(latest),
                _layers(latest),
                environment,
                layers,
                contract.variables,
                arn,
            )
            environment, layers = absorbed.environment, absorbed.layers
        try:
            plan = plan_injection(environment, layers, fault.environment, arn, contract, previous)
            if absorbed is not None:
                for variable, digests in absorbed.digests.items():
                    entry = plan.env_entries.setdefault(
                        variable, EnvEntry(was=environment.get(variable), set=[])
                    )
                    entry.set = list(dict.fromkeys(entry.set + digests))[:MAX_DIGESTS]
                plan.appended_layers = list(
                    dict.fromkeys(plan.appended_layers + absorbed.layers_added)
                )
            record = FaultRecord(
                contract=contract.name,
                by=by,
                at=at,
                fault=fault.params,
                alias=(
                    {
                        "name": alias,
                        "version": str(alias_state["FunctionVersion"]),
                        "faulty_version": None,
                    }
                    if alias and alias_state
                    else None
                ),
                layers=plan.appended_layers,
                env=plan.env_entries,
                selection=selection,
            )
            record_tags = encode(record)
            check_tag_budget(current_tags, record_tags)
        except (PlanError, RecordError) as error:
            raise ActivityFailed(f"cannot inject into {resource}: {error}") from error
        holder["record"] = record
        if dry_run:
            return None
        if {key: current_tags[key] for key in record_keys(current_tags)} != record_tags:
            # The record always reaches AWS before the change it describes (and is
            # written again when a concurrent injection overwrote it).
            _write_record(lam, _unqualified_arn(config), resource, record_tags)
            written.clear()
            written.update(record_tags)
        if plan.environment == _environment(config) and plan.layers == _layers(config):
            return None
        return {"Layers": plan.layers, "Environment": {"Variables": plan.environment}}

    try:
        _, updated = _update.update_configuration(lam, name, resource, compute, initial=function)
        if dry_run:
            return {"function_name": latest["FunctionName"], "region": region, "checked": True}
        record = holder["record"]
        result: dict[str, Any] = {}
        if alias and alias_state is not None and record.alias is not None:
            result = _point_alias_at_faulty_version(
                lam, name, resource, alias, alias_state, record, updated, latest
            )
    except Exception:
        if written:
            logger.error(f"{resource}: injection failed; rolling back what it changed")
            try:
                remove(name, region, alias, configuration, secrets)
            except Exception as cleanup:  # the original error matters more
                logger.error(f"{resource}: rollback after the failed injection failed: {cleanup}")
        raise
    logger.info(f"{resource}: {fault.kind} fault injected on {target} ({fault.params})")
    return {
        "function_name": latest["FunctionName"],
        "region": region,
        "alias": alias,
        "fault": fault.kind,
        **{k: v for k, v in fault.params.items() if k != "kind"},
        "layer_arn": arn,
        "variables_set": sorted(fault.environment),
        "replaced_previous_fault": previous is not None,
        "since": at,
        **result,
    }


def _point_alias_at_faulty_version(
    lam: Any,
    name: str,
    resource: str,
    alias: str,
    alias_state: Mapping[str, Any],
    record: FaultRecord,
    updated: Optional[Mapping[str, Any]],
    latest: Mapping[str, Any],
) -> dict[str, Any]:
    params: dict[str, Any] = {
        "FunctionName": name,
        "Description": f"chaosaws-serverless {record.fault.get('kind')} fault for alias {alias}",
    }
    revision = (updated or {}).get("RevisionId")
    if revision:
        params["RevisionId"] = revision
    published = _update.call(lam, "publish_version", "lambda:PublishVersion", resource, **params)
    faulty = str(published["Version"])
    assert record.alias is not None
    record.alias["faulty_version"] = faulty
    fresh = _update.get_function(lam, name, resource)
    _write_record(lam, _unqualified_arn(latest), resource, encode(record))
    _merge_out_of_latest(lam, name, resource, record, fresh)
    update: dict[str, Any] = {"FunctionName": name, "Name": alias, "FunctionVersion": faulty}
    if alias_state.get("RevisionId"):
        update["RevisionId"] = alias_state["RevisionId"]
    _update.call(
        lam, "update_alias", "lambda:UpdateAlias", f"alias {alias!r} of {resource}", **update
    )
    return {"faulty_version": faulty, "original_version": str(alias_state["FunctionVersion"])}


def _merge_out_of_latest(
    lam: Any, name: str, resource: str, record: FaultRecord, initial: Any
) -> dict[str, list[str]]:
    """Three-way merge the record's changes out of $LATEST; return what it took."""
    report: dict[str, list[str]] = {}

    def compute(fresh: Any) -> Optional[dict[str, Any]]:
        config = fresh["Configuration"]
        reverted = revert(_environment(config), _layers(config), record)
        report.update(
            removed_layers=reverted.removed_layers,
            restored_variables=reverted.restored_variables,
            removed_variables=reverted.removed_variables,
            kept_variables=reverted.kept_variables,
        )
        if not reverted.changed:
            return None
        return {"Layers": reverted.layers, "Environment": {"Variables": reverted.environment}}

    _update.update_configuration(lam, name, resource, compute, initial=initial)
    return report


# --- remove ---------------------------------------------------------------------------


def remove(
    function_name: Any,
    region: Optional[str],
    alias: Any,
    configuration: Optional[Configuration],
    secrets: Optional[Secrets],
) -> dict[str, Any]:
    """Roll back the fault recorded on a function; a logged no-op when there is none."""
    with _function_lock(function_name, region, configuration):
        return _remove(function_name, region, alias, configuration, secrets)


def _remove(
    function_name: Any,
    region: Optional[str],
    alias: Any,
    configuration: Optional[Configuration],
    secrets: Optional[Secrets],
) -> dict[str, Any]:
    fn = _read_function(function_name, alias, region, configuration, secrets)
    name, alias, region, resource, lam = fn.name, fn.alias, fn.region, fn.resource, fn.lam
    function, tags, record = fn.function, fn.tags, fn.record
    latest = function["Configuration"]
    base: dict[str, Any] = {
        "function_name": latest["FunctionName"],
        "region": region,
        "alias": alias,
        "removed": False,
    }
    if record is None:
        if _contract(None).read(_environment(latest)).active:
            logger.warning(
                f"{resource} has chaos extension variables switched on but no fault record of "
                "chaosaws-serverless: not injected by this package, left as it is"
            )
        logger.info(f"{resource}: no fault recorded, nothing to remove")
        return base
    if (alias or LATEST) != record.target:
        logger.warning(
            f"{resource}: the recorded fault is on {record.target}, not on {alias or LATEST}; "
            "removing it anyway (a rollback never leaves a fault behind)"
        )
    report = _merge_out_of_latest(lam, name, resource, record, function)
    alias_report: dict[str, Any] = {}
    if record.alias:
        alias_report = _restore_alias(lam, name, resource, record)
    _update.call(
        lam,
        "untag_resource",
        "lambda:UntagResource",
        resource,
        Resource=_unqualified_arn(latest),
        TagKeys=record_keys(tags),
    )
    if report.get("kept_variables"):
        logger.info(
            f"{resource}: kept {', '.join(report['kept_variables'])}: changed by someone else "
            "during the fault"
        )
    logger.info(f"{resource}: {record.fault.get('kind')} fault on {record.target} removed")
    return {
        **base,
        "removed": True,
        "target": record.target,
        "fault": record.fault.get("kind"),
        "injected_by": record.by,
        "injected_at": record.at,
        **report,
        **alias_report,
    }


def _restore_alias(lam: Any, name: str, resource: str, record: FaultRecord) -> dict[str, Any]:
    assert record.alias is not None
    alias = str(record.alias["name"])
    original = str(record.alias["version"])
    faulty = record.alias.get("faulty_version")
    where = f"alias {alias!r} of {resource}"
    report: dict[str, Any] = {"alias_restored_to": None, "deleted_version": None}
    try:
        state = _update.call(
            lam, "get_alias", "lambda:GetAlias", where, FunctionName=name, Name=alias
        )
    except ActivityFailed as error:
        if "ResourceNotFoundException" not in str(error):
            raise
        logger.warning(f"{where} no longer exists; nothing to point back")
        state = None
    if state is not None and faulty and str(state["FunctionVersion"]) == faulty:
        params: dict[str, Any] = {"FunctionName": name, "Name": alias, "FunctionVersion": original}
        if state.get("RevisionId"):
            params["RevisionId"] = state["RevisionId"]
        _update.call(lam, "update_alias", "lambda:UpdateAlias", where, **params)
        report["alias_restored_to"] = original
    elif state is not None and str(state["FunctionVersion"]) == original:
        logger.info(f"{where} already points at its recorded version {original}")
    elif state is not None:
        logger.info(
            f"{where} points at version {state['FunctionVersion']}, not the faulty "
            f"{faulty}: someone moved it, left as it is"
        )
    if faulty:
        try:
            _update.call(
                lam,
                "delete_function",
                "lambda:DeleteFunction",
                f"version {faulty} of {resource}",
                FunctionName=name,
                Qualifier=faulty,
            )
            report["deleted_version"] = faulty
        except ActivityFailed as error:
            if "ResourceNotFoundException" not in str(error):
                raise
    return report


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
    contract = _contract(record)
    seen = contract.read(_environment(config), response_switches_read(_layers(config), contract))
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
