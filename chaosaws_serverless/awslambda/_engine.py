"""What injecting and removing a Lambda fault means: the one engine, boto3 only.

The activities (``_faults``, ``_targets``, ``_stop``), the doctor and the SSM
Automation document all run this code. It imports the standard library,
botocore and its sibling engine modules (``contracts``, ``_record``,
``_merge``, ``preflight``) and nothing else, because
``chaosaws_serverless.ssm.document`` builds the document's script by
concatenating these modules' source (internal imports removed): it runs in
SSM's ``aws:executeScript`` (Python 3.11, boto3, no chaoslib).

Errors are :class:`FaultError` (a refusal, message names value and fix) or
:class:`CallFailed` (an AWS call failed; carries the botocore error, its code,
the IAM action and the resource). The package's adapters turn both into
``ActivityFailed``; SSM reports them as the step's failure. Logging goes
through the ``log(level, message)`` callable the caller passes.

Order of an injection (what makes a crash at any point recoverable): validate
and read everything, refuse before any change; write the record tags; update
the configuration (RevisionId, retries, wait); with an alias, publish the
faulty version, note it in the record, merge the fault out of $LATEST, point
the alias. A failure after the record was written rolls back, then re-raises.
"""

import math
import random
import time
from collections.abc import Callable, Mapping
from typing import Any, Optional, Union

from botocore.exceptions import BotoCoreError, ClientError

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
)
from chaosaws_serverless.awslambda.preflight import (
    LATEST,
    architecture_refusal,
    conflict_refusal,
    runtime_refusal,
)
from chaosaws_serverless.patterns import ALIAS_NAME, FUNCTION_NAME, LAYER_ARN

Log = Callable[[str, str], None]


class FaultError(Exception):
    """A refusal or failure of the engine; the message names the value and the fix."""


class CallFailed(FaultError):
    """An AWS call failed: the botocore error, its code, the IAM action and the resource."""

    def __init__(self, error: Exception, action: str, resource: str) -> None:
        self.error = error
        self.action = action
        self.resource = resource
        self.code = error_code(error)
        super().__init__(f"{action} on {resource} failed: {error}")


def print_log(level: str, message: str) -> None:
    print(f"{level}: {message}")


# --- validation (pure; runs before any AWS call) ---------------------------------------


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool):
        raise FaultError(f"{name} must be a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise FaultError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise FaultError(f"{name} must be a finite number, got {value!r}")
    return number


def validate_latency_ms(value: Any, name: str = "latency_ms") -> int:
    """Return the latency as an int in 1..900000 (the extension's 900 s ceiling)."""
    number = _number(name, value)
    if not 1 <= number <= MAX_LATENCY_MS or number != int(number):
        raise FaultError(
            f"{name} must be a whole number of milliseconds in 1..{MAX_LATENCY_MS}, got "
            f"{value!r}; the extension sleeps whole seconds, so it is rounded up to seconds"
        )
    return int(number)


def validate_probability(value: Any, name: str = "probability") -> float:
    """Return the probability as a float in 0..1."""
    number = _number(name, value)
    if not 0.0 <= number <= 1.0:
        raise FaultError(
            f"{name} must be in 0..1 (a share of invocations, 1.0 = all), got {value!r}"
        )
    return number


def validate_status_code(value: Any) -> int:
    """Return ``status_code`` as an int in 100..599."""
    number = _number("status_code", value)
    if not 100 <= number <= 599 or number != int(number):
        raise FaultError(f"status_code must be an HTTP status in 100..599, got {value!r}")
    return int(number)


def validate_function_name(value: Any, region: Optional[str] = None) -> str:
    """Return ``value`` when Lambda accepts it as an unqualified function in ``region``."""
    match = FUNCTION_NAME.match(value) if isinstance(value, str) else None
    if match is None:
        raise FaultError(
            f"function_name must be a Lambda function name (1..64 letters, digits, '-', '_') or "
            f"its ARN, got {value!r}; Lambda would reject it (nothing was changed)"
        )
    if match["qualifier"] is not None:
        raise FaultError(
            f"function_name {value!r} carries the qualifier {match['qualifier']!r}; pass the "
            f"unqualified function and alias={match['qualifier']!r} (an alias is faulted by "
            "publishing a version; a version itself cannot change) (nothing was changed)"
        )
    if region and match["region"] and match["region"] != region:
        raise FaultError(
            f"function_name {value!r} is in {match['region']} but the activity's region is "
            f"{region}; pass region={match['region']!r} (nothing was changed)"
        )
    return str(value)


def function_region(value: str) -> Optional[str]:
    """Return the region a function ARN names (None for a plain name)."""
    match = FUNCTION_NAME.match(value)
    return match["region"] if match else None


def validate_region_argument(value: Any) -> None:
    """Refuse a region argument given but empty (None means: from the configuration)."""
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise FaultError(
            f"region must be an AWS region name such as 'us-east-1', got {value!r}; omit it to "
            "use the configuration's 'aws_region' (nothing was changed)"
        )


def validate_alias(value: Any) -> Optional[str]:
    """Return the alias name (None for none), refusing what Lambda would refuse."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not ALIAS_NAME.match(value):
        raise FaultError(
            f"alias must be a Lambda alias name (letters, digits, '-', '_', not only digits), "
            f"got {value!r}; to target a version, create an alias for it"
        )
    return value


def check_runtime(configuration: Mapping[str, Any], resource: str) -> None:
    """Refuse functions the chaos extension cannot wrap (before anything changes)."""
    refusal = runtime_refusal(configuration, resource)
    if refusal:
        raise FaultError(refusal)


def check_layer_arn(layer_arn: str, region: str, source: str = "layer_arn") -> str:
    """Return ``layer_arn`` when it is a layer version ARN of ``region``."""
    match = LAYER_ARN.match(str(layer_arn))
    if not match:
        raise FaultError(
            f"{source} {layer_arn!r} is not a Lambda layer version ARN; expected "
            "arn:aws:lambda:<region>:<12-digit account>:layer:<name>:<version>"
        )
    if match["region"] != region:
        raise FaultError(
            f"{source} {layer_arn!r} is in {match['region']} but the function is in {region}; "
            f"Lambda only attaches layers of the function's region: publish the layer in {region}"
        )
    return str(layer_arn)


def attached_chaos_layer(layers: list[str], layer_arn: str) -> str:
    """Return the version of the chaos layer already attached, else ``layer_arn``.

    Lambda refuses two versions of one layer: one attached is the extension in use.
    """
    name = layer_arn.rsplit(":", 1)[0]
    attached = [arn for arn in layers if arn.rsplit(":", 1)[0] == name]
    return attached[0] if attached else layer_arn


# --- Lambda calls: retries, revision checks, waiting for updates --------------------------

RETRIED = {
    "ResourceConflictException",
    "TooManyRequestsException",
    "ThrottlingException",
    "Throttling",
    "RequestLimitExceeded",
}
REVISION_CONFLICT = "PreconditionFailedException"
NOT_FOUND = "ResourceNotFoundException"
MAX_ATTEMPTS = 8
WAIT_TIMEOUT_SECONDS = 300.0
# Fields that make two versions behave the same (the alias flow publishes from $LATEST).
SAME_BEHAVIOUR = ("CodeSha256", "Handler", "Runtime", "MemorySize", "Timeout", "Architectures")

# Tests replace these to run without real sleeping.
sleep: Callable[[float], None] = time.sleep
monotonic: Callable[[], float] = time.monotonic


def error_code(error: Exception) -> str:
    """Return the AWS error code of a botocore ``ClientError`` (or ``""``)."""
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", ""))
    return ""


def backoff_seconds(attempt: int) -> float:
    """Return the pause before retry ``attempt`` (0-based): full jitter, capped at 8 s."""
    return random.uniform(0.5, 1.0) * min(8.0, 0.25 * 2**attempt)


def call(lam: Any, operation: str, iam_action: str, resource: str, **params: Any) -> Any:
    """Call ``lam.<operation>(**params)``, retrying throttling and in-progress conflicts."""
    method = getattr(lam, operation)
    for attempt in range(MAX_ATTEMPTS):
        try:
            return method(**params)
        except ClientError as error:
            if error_code(error) in RETRIED and attempt < MAX_ATTEMPTS - 1:
                sleep(backoff_seconds(attempt))
                continue
            raise CallFailed(error, iam_action, resource) from error
        except BotoCoreError as error:
            raise CallFailed(error, iam_action, resource) from error
    raise AssertionError("unreachable")  # pragma: no cover


def get_function(lam: Any, name: str, resource: str, qualifier: Optional[str] = None) -> Any:
    """Return GetFunction's answer (configuration, code location; tags: ``read_tags``)."""
    params = {"FunctionName": name}
    if qualifier:
        params["Qualifier"] = qualifier
    return call(lam, "get_function", "lambda:GetFunction", resource, **params)


def _busy(configuration: Mapping[str, Any]) -> bool:
    return (
        configuration.get("State") == "Pending"
        or configuration.get("LastUpdateStatus") == "InProgress"
    )


def wait_until_updated(
    lam: Any, name: str, resource: str, configuration: dict[str, Any], ours: bool = True
) -> Any:
    """Return the configuration once no update is in progress (``function_updated_v2``).

    ``ours``: the update waited for is ours, so ``Failed`` is an error; before
    our update, an earlier failed update of someone else does not block us.
    Polls GetFunction (100 req/s), not GetFunctionConfiguration (15 req/s).
    """
    deadline = monotonic() + WAIT_TIMEOUT_SECONDS
    attempt = 0
    while True:
        if ours and configuration.get("LastUpdateStatus") == "Failed":
            reason = configuration.get("LastUpdateStatusReason", "")
            raise FaultError(
                f"the update of {resource} failed in AWS: {reason}. Fix: check the function in "
                "the Lambda console; run remove_faults to restore it"
            )
        if not _busy(configuration):
            return configuration
        if monotonic() > deadline:
            raise FaultError(
                f"{resource} was still updating after {WAIT_TIMEOUT_SECONDS:.0f} s; run the "
                "activity again once it is Active"
            )
        sleep(min(5.0, 0.5 * 1.5**attempt))
        attempt += 1
        configuration = get_function(lam, name, resource)["Configuration"]


def update_configuration(
    lam: Any,
    name: str,
    resource: str,
    compute: Callable[[Any], Optional[dict[str, Any]]],
    initial: Any = None,
) -> tuple[Any, Optional[dict[str, Any]]]:
    """Read the function, compute a change from it and apply it with RevisionId.

    ``compute`` gets GetFunction's answer and returns UpdateFunctionConfiguration's
    arguments (without FunctionName/RevisionId), or None when nothing changes. On
    a revision conflict (412) the function is read again and ``compute`` runs
    again. Returns the answer the change was computed from and the updated
    configuration (None when nothing changed). ``initial``: an answer just read.
    """
    for attempt in range(MAX_ATTEMPTS):
        if attempt == 0 and initial is not None:
            function = initial
        else:
            function = get_function(lam, name, resource)
        function["Configuration"] = wait_until_updated(
            lam, name, resource, function["Configuration"], ours=False
        )
        change = compute(function)
        if change is None:
            return function, None
        params = {"FunctionName": name, **change}
        revision = function["Configuration"].get("RevisionId")
        if revision:
            params["RevisionId"] = revision
        try:
            updated = lam.update_function_configuration(**params)
        except ClientError as error:
            if error_code(error) in RETRIED | {REVISION_CONFLICT} and attempt < MAX_ATTEMPTS - 1:
                sleep(backoff_seconds(attempt))
                continue
            raise CallFailed(error, "lambda:UpdateFunctionConfiguration", resource) from error
        except BotoCoreError as error:
            raise CallFailed(error, "lambda:UpdateFunctionConfiguration", resource) from error
        return function, wait_until_updated(lam, name, resource, updated)
    raise AssertionError("unreachable")  # pragma: no cover


# --- reading a function --------------------------------------------------------------


def environment_of(configuration: Mapping[str, Any]) -> dict[str, str]:
    return dict((configuration.get("Environment") or {}).get("Variables") or {})


def layers_of(configuration: Mapping[str, Any]) -> list[str]:
    return [layer["Arn"] for layer in configuration.get("Layers") or []]


def unqualified_arn(configuration: Mapping[str, Any]) -> str:
    arn = str(configuration["FunctionArn"])
    return arn[: -len(":$LATEST")] if arn.endswith(":$LATEST") else arn


def read_tags(lam: Any, configuration: Mapping[str, Any], resource: str) -> dict[str, str]:
    """Return the function's tags from ListTags, never from GetFunction.

    Since 2024 GetFunction leaves ``Tags`` out when the caller may not call
    ``lambda:ListTags``: a missing key there means "not allowed to see", not
    "no record".
    """
    answer = call(
        lam, "list_tags", "lambda:ListTags", resource, Resource=unqualified_arn(configuration)
    )
    return dict(answer.get("Tags") or {})


def read_record(tags: Mapping[str, str], resource: str) -> Optional[FaultRecord]:
    """Return the fault record the tags hold (None: none), refusing a damaged one."""
    try:
        return decode(tags)
    except RecordError as error:
        raise FaultError(
            f"the fault record on {resource} is damaged ({error}); inspect its "
            "'chaosaws-serverless:fault:*' tags, restore the function by hand and delete them"
        ) from error


def read_function(
    lam: Any, name: str, region: str, alias: Any
) -> tuple[Optional[str], str, Any, dict[str, str], Optional[FaultRecord]]:
    """Validate, then read the function (GetFunction), its tags (ListTags) and its record.

    Returns the alias (None: $LATEST), the resource phrase, GetFunction's answer,
    the tags and the record (None: no fault recorded).
    """
    validate_function_name(name, region)
    alias = validate_alias(alias)
    resource = f"function {name!r} in {region}"
    function = get_function(lam, name, resource)
    tags = read_tags(lam, function["Configuration"], resource)
    return alias, resource, function, tags, read_record(tags, resource)


def contract_of(record: Optional[FaultRecord]) -> FaultContract:
    if record is not None and record.contract in CONTRACTS:
        return CONTRACTS[record.contract]
    return DEFAULT_CONTRACT


def write_record(lam: Any, arn: str, resource: str, record_tags: Mapping[str, str]) -> None:
    call(lam, "tag_resource", "lambda:TagResource", resource, Resource=arn, Tags=dict(record_tags))
    # Stale chunks are found on a fresh read: another process may have written a
    # longer record since our read (tags have no conditional write), and a
    # leftover chunk would make the record undecodable, so no rollback could run.
    current = call(lam, "list_tags", "lambda:ListTags", resource, Resource=arn)
    stale = [key for key in record_keys(current.get("Tags") or {}) if key not in record_tags]
    if stale:
        call(lam, "untag_resource", "lambda:UntagResource", resource, Resource=arn, TagKeys=stale)


def layer_architectures(lam: Any, layer_arn: str) -> list[str]:
    """Return a layer version's CompatibleArchitectures (GetLayerVersion)."""
    name_arn, version = layer_arn.rsplit(":", 1)
    layer = call(
        lam,
        "get_layer_version",
        "lambda:GetLayerVersion",
        f"layer {layer_arn!r}",
        LayerName=name_arn,
        VersionNumber=int(version),
    )
    return list(layer.get("CompatibleArchitectures") or [])


def check_alias_matches_latest(
    lam: Any, name: str, resource: str, alias: str, version: str, latest: Mapping[str, Any]
) -> None:
    """Refuse when publishing from $LATEST would change what the alias serves besides the fault."""
    if version == LATEST:
        return
    pinned = get_function(lam, name, resource, qualifier=version)["Configuration"]
    different = [f for f in SAME_BEHAVIOUR if pinned.get(f) != latest.get(f)]
    if layers_of(pinned) != layers_of(latest):
        different.append("Layers")
    if environment_of(pinned) != environment_of(latest):
        different.append("Environment")  # names only: values may be secrets
    if different:
        raise FaultError(
            f"alias {alias!r} of {resource} points at version {version}, which differs from "
            f"$LATEST in {', '.join(different)}; the faulty version is published from $LATEST, "
            "so it would change more than the fault. Publish $LATEST to the alias first, or "
            "inject without alias (nothing was changed)"
        )


# --- inject ------------------------------------------------------------------------------


def _planned_record(
    config: Mapping[str, Any],
    first: Mapping[str, Any],
    reread: bool,
    fault_environment: Mapping[str, str],
    fault_params: Mapping[str, Any],
    layer_arn: str,
    contract: FaultContract,
    previous: Optional[FaultRecord],
    alias: Optional[str],
    alias_version: Optional[str],
    by: str,
    at: str,
    selection: Optional[str],
) -> tuple[Any, FaultRecord]:
    """Plan the injection on ``config`` and the record describing it (refusals raise)."""
    environment, layers = environment_of(config), layers_of(config)
    absorbed = None
    if reread:  # a re-read after a conflict: did someone inject meanwhile?
        absorbed = absorb_concurrent(
            environment_of(first),
            layers_of(first),
            environment,
            layers,
            contract.variables,
            layer_arn,
        )
        environment, layers = absorbed.environment, absorbed.layers
    plan = plan_injection(
        environment, layers, dict(fault_environment), layer_arn, contract, previous
    )
    if absorbed is not None:
        for variable, digests in absorbed.digests.items():
            entry = plan.env_entries.setdefault(
                variable, EnvEntry(was=environment.get(variable), set=[])
            )
            entry.set = list(dict.fromkeys(entry.set + digests))[:MAX_DIGESTS]
        plan.appended_layers = list(dict.fromkeys(plan.appended_layers + absorbed.layers_added))
    record = FaultRecord(
        contract=contract.name,
        by=by,
        at=at,
        fault=dict(fault_params),
        alias=(
            {"name": alias, "version": alias_version, "faulty_version": None}
            if alias and alias_version is not None
            else None
        ),
        layers=plan.appended_layers,
        env=plan.env_entries,
        selection=selection,
    )
    return plan, record


def inject(
    lam: Any,
    name: str,
    region: str,
    alias: Optional[str],
    fault_environment: Mapping[str, str],
    fault_params: Mapping[str, Any],
    layer_arn: Union[str, Callable[[str], str]],
    by: str,
    at: str,
    contract: FaultContract = DEFAULT_CONTRACT,
    *,
    selection: Optional[str] = None,
    dry_run: bool = False,
    architectures: Callable[[Any, str], list[str]] = layer_architectures,
    log: Log = print_log,
) -> dict[str, Any]:
    """Inject a fault into the function (or its alias); return what was done.

    ``layer_arn`` is the chaos layer, or a function of the function's
    architecture that returns it (a version of it already attached is used
    instead). ``dry_run``: read and run every check, change nothing.
    """
    alias, resource, function, tags, previous = read_function(lam, name, region, alias)
    latest = function["Configuration"]
    check_runtime(latest, resource)
    architecture = (latest.get("Architectures") or ["x86_64"])[0]
    wanted = layer_arn(architecture) if callable(layer_arn) else layer_arn
    arn = attached_chaos_layer(layers_of(latest), check_layer_arn(wanted, region))
    if arn != wanted:
        log("info", f"{resource}: the chaos layer is already attached as {arn}; using it")
    target = alias or LATEST
    # In place only for the run that injected it: another experiment's fault is
    # theirs to roll back, and replacing it would hide that a run is in progress.
    conflict = conflict_refusal(previous, target, by, resource)
    if conflict:
        raise FaultError(conflict)
    mismatch = architecture_refusal(arn, architectures(lam, arn), latest)
    if mismatch:
        raise FaultError(mismatch)
    alias_state: Optional[dict[str, Any]] = None
    if alias:
        alias_state = call(
            lam,
            "get_alias",
            "lambda:GetAlias",
            f"alias {alias!r} of {resource}",
            FunctionName=name,
            Name=alias,
        )
        check_alias_matches_latest(
            lam, name, resource, alias, str(alias_state["FunctionVersion"]), latest
        )
    if previous is not None:
        log(
            "info",
            f"{resource}: replacing the {previous.fault.get('kind')} fault injected by "
            f"{previous.by} at {previous.at} in place (faults never stack)",
        )
    alias_version = str(alias_state["FunctionVersion"]) if alias_state else None
    written: dict[str, str] = {}
    planned: list[FaultRecord] = []

    def compute(fresh: Any) -> Optional[dict[str, Any]]:
        config = fresh["Configuration"]
        reread = fresh is not function
        current_tags = read_tags(lam, config, resource) if reread else tags
        try:
            plan, record = _planned_record(
                config,
                latest,
                reread,
                fault_environment,
                fault_params,
                arn,
                contract,
                previous,
                alias,
                alias_version,
                by,
                at,
                selection,
            )
            record_tags = encode(record)
            check_tag_budget(current_tags, record_tags)
        except (PlanError, RecordError) as error:
            raise FaultError(f"cannot inject into {resource}: {error}") from error
        planned[:] = [record]
        if dry_run:
            return None
        if {key: current_tags[key] for key in record_keys(current_tags)} != record_tags:
            # The record always reaches AWS before the change it describes (and is
            # written again when a concurrent injection overwrote it).
            write_record(lam, unqualified_arn(config), resource, record_tags)
            written.clear()
            written.update(record_tags)
        if plan.environment == environment_of(config) and plan.layers == layers_of(config):
            return None
        return {"Layers": plan.layers, "Environment": {"Variables": plan.environment}}

    result: dict[str, Any] = {}
    try:
        _, updated = update_configuration(lam, name, resource, compute, initial=function)
        if dry_run:
            return {"function_name": latest["FunctionName"], "region": region, "checked": True}
        record = planned[0]
        if alias and alias_state is not None and record.alias is not None:
            result = point_alias_at_faulty_version(
                lam, name, resource, alias, alias_state, record, updated, latest
            )
    except Exception:
        if written:
            log("error", f"{resource}: injection failed; rolling back what it changed")
            try:
                remove(lam, name, region, alias, log=log)
            except Exception as cleanup:  # the original error matters more
                log("error", f"{resource}: rollback after the failed injection failed: {cleanup}")
        raise
    kind = fault_params.get("kind")
    log("info", f"{resource}: {kind} fault injected on {target} ({dict(fault_params)})")
    return {
        "function_name": latest["FunctionName"],
        "region": region,
        "alias": alias,
        "fault": kind,
        **{k: v for k, v in fault_params.items() if k != "kind"},
        "layer_arn": arn,
        "variables_set": sorted(fault_environment),
        "replaced_previous_fault": previous is not None,
        "since": at,
        **result,
    }


def point_alias_at_faulty_version(
    lam: Any,
    name: str,
    resource: str,
    alias: str,
    alias_state: Mapping[str, Any],
    record: FaultRecord,
    updated: Optional[Mapping[str, Any]],
    latest: Mapping[str, Any],
) -> dict[str, Any]:
    """Publish the faulty version, note it, merge the fault out of $LATEST, point the alias."""
    params: dict[str, Any] = {
        "FunctionName": name,
        "Description": f"chaosaws-serverless {record.fault.get('kind')} fault for alias {alias}",
    }
    revision = (updated or {}).get("RevisionId")
    if revision:
        params["RevisionId"] = revision
    published = call(lam, "publish_version", "lambda:PublishVersion", resource, **params)
    faulty = str(published["Version"])
    assert record.alias is not None
    record.alias["faulty_version"] = faulty
    fresh = get_function(lam, name, resource)
    write_record(lam, unqualified_arn(latest), resource, encode(record))
    merge_out_of_latest(lam, name, resource, record, fresh)
    update: dict[str, Any] = {"FunctionName": name, "Name": alias, "FunctionVersion": faulty}
    if alias_state.get("RevisionId"):
        update["RevisionId"] = alias_state["RevisionId"]
    call(lam, "update_alias", "lambda:UpdateAlias", f"alias {alias!r} of {resource}", **update)
    return {"faulty_version": faulty, "original_version": str(alias_state["FunctionVersion"])}


def merge_out_of_latest(
    lam: Any, name: str, resource: str, record: FaultRecord, initial: Any
) -> dict[str, list[str]]:
    """Three-way merge the record's changes out of $LATEST; return what it took."""
    report: dict[str, list[str]] = {}

    def compute(fresh: Any) -> Optional[dict[str, Any]]:
        config = fresh["Configuration"]
        reverted = revert(environment_of(config), layers_of(config), record)
        report.update(
            removed_layers=reverted.removed_layers,
            restored_variables=reverted.restored_variables,
            removed_variables=reverted.removed_variables,
            kept_variables=reverted.kept_variables,
        )
        if not reverted.changed:
            return None
        return {"Layers": reverted.layers, "Environment": {"Variables": reverted.environment}}

    update_configuration(lam, name, resource, compute, initial=initial)
    return report


# --- remove ------------------------------------------------------------------------------


def remove(
    lam: Any, name: str, region: str, alias: Optional[str], *, log: Log = print_log
) -> dict[str, Any]:
    """Roll back the fault recorded on a function; a logged no-op when there is none."""
    alias, resource, function, tags, record = read_function(lam, name, region, alias)
    latest = function["Configuration"]
    base: dict[str, Any] = {
        "function_name": latest["FunctionName"],
        "region": region,
        "alias": alias,
        "removed": False,
    }
    if record is None:
        if contract_of(None).read(environment_of(latest)).active:
            log(
                "warning",
                f"{resource} has chaos extension variables switched on but no fault record of "
                "chaosaws-serverless: not injected by this package, left as it is",
            )
        log("info", f"{resource}: no fault recorded, nothing to remove")
        return base
    if (alias or LATEST) != record.target:
        log(
            "warning",
            f"{resource}: the recorded fault is on {record.target}, not on {alias or LATEST}; "
            "removing it anyway (a rollback never leaves a fault behind)",
        )
    report = merge_out_of_latest(lam, name, resource, record, function)
    alias_report: dict[str, Any] = {}
    if record.alias:
        alias_report = restore_alias(lam, name, resource, record, log)
    call(
        lam,
        "untag_resource",
        "lambda:UntagResource",
        resource,
        Resource=unqualified_arn(latest),
        TagKeys=record_keys(tags),
    )
    if report.get("kept_variables"):
        log(
            "info",
            f"{resource}: kept {', '.join(report['kept_variables'])}: changed by someone else "
            "during the fault",
        )
    log("info", f"{resource}: {record.fault.get('kind')} fault on {record.target} removed")
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


def restore_alias(
    lam: Any, name: str, resource: str, record: FaultRecord, log: Log = print_log
) -> dict[str, Any]:
    """Point the alias back at its recorded version if it still serves the faulty one."""
    assert record.alias is not None
    alias = str(record.alias["name"])
    original = str(record.alias["version"])
    faulty = record.alias.get("faulty_version")
    where = f"alias {alias!r} of {resource}"
    report: dict[str, Any] = {"alias_restored_to": None, "deleted_version": None}
    try:
        state = call(lam, "get_alias", "lambda:GetAlias", where, FunctionName=name, Name=alias)
    except CallFailed as error:
        if error.code != NOT_FOUND:
            raise
        log("warning", f"{where} no longer exists; nothing to point back")
        state = None
    if state is not None and faulty and str(state["FunctionVersion"]) == faulty:
        params: dict[str, Any] = {"FunctionName": name, "Name": alias, "FunctionVersion": original}
        if state.get("RevisionId"):
            params["RevisionId"] = state["RevisionId"]
        call(lam, "update_alias", "lambda:UpdateAlias", where, **params)
        report["alias_restored_to"] = original
    elif state is not None and str(state["FunctionVersion"]) == original:
        log("info", f"{where} already points at its recorded version {original}")
    elif state is not None:
        log(
            "info",
            f"{where} points at version {state['FunctionVersion']}, not the faulty "
            f"{faulty}: someone moved it, left as it is",
        )
    if faulty:
        try:
            call(
                lam,
                "delete_function",
                "lambda:DeleteFunction",
                f"version {faulty} of {resource}",
                FunctionName=name,
                Qualifier=faulty,
            )
            report["deleted_version"] = faulty
        except CallFailed as error:
            if error.code != NOT_FOUND:
                raise
    return report
