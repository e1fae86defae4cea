"""Attach or detach the chaos-lambda-extension layer: the script of the SSM Automation document.

It runs in ``aws:executeScript`` (Python 3.11, boto3 only) and is embedded in
``ssm/chaos-layer-automation.yaml``; edit this file and run
``python -m chaosaws_serverless.ssm.document`` (a test fails when they drift).

It reproduces ``chaosaws_serverless.awslambda`` exactly (``_faults.inject`` /
``_faults.remove``, ``_merge``, ``_record``, ``_update``, the
chaos-lambda-extension contract), so a fault injected here is removed by
``remove_faults`` and one injected by ``inject_latency`` is removed here:

ENABLED
    validate; read the function (GetFunction), its record, the layer
    (GetLayerVersion: architecture) and the alias; refuse a fault on another
    target, another ``AWS_LAMBDA_EXEC_WRAPPER``, a sixth layer, an environment
    over 4 KB or a record over the tag budget, before anything changes; write
    the record tags, then append the layer and set the variables (RevisionId,
    retries, wait until updated). With ``AliasName``: publish the faulty
    version, note it in the record, merge the fault out of $LATEST, point the
    alias at it. A failure after the record was written rolls back, then fails.
DISABLED
    three-way merge of the record out of $LATEST (keeps what others changed),
    alias back to the recorded version and the faulty version deleted, record
    tags removed last. Without a record: a no-op.

The record format is documented in ``chaosaws_serverless/awslambda/_record.py``.
"""

import base64
import hashlib
import json
import math
import random
import re
import time
from datetime import UTC, datetime

import boto3
from botocore.exceptions import ClientError

# --- the chaos-lambda-extension contract (awslambda/contracts.py) ---------------------
CONTRACT_NAME = "chaos-lambda-extension"
EXEC_WRAPPER = "AWS_LAMBDA_EXEC_WRAPPER"
WRAPPER = "/opt/bootstrap"
ENABLE_LATENCY = "CHAOS_EXTENSION__LAMBDA__ENABLE_LATENCY"
LATENCY_VALUE = "CHAOS_EXTENSION__LAMBDA__LATENCY_VALUE"
LATENCY_PROBABILITY = "CHAOS_EXTENSION__LAMBDA__LATENCY_PROBABILITY"
MAX_LATENCY_MS = 900_000

# --- the record (awslambda/_record.py) -----------------------------------------------
FORMAT_VERSION = 1
RECORD_TAG_PREFIX = "chaosaws-serverless:fault:"
MAX_TAG_VALUE = 256
MAX_FUNCTION_TAGS = 50
MAX_RECORD_TAGS = 8
MAX_DIGESTS = 4

# --- Lambda limits and calls (awslambda/_merge.py, _update.py, _faults.py) ------------
MAX_LAYERS = 5
MAX_ENVIRONMENT_BYTES = 4096
RETRIED = {
    "ResourceConflictException",
    "TooManyRequestsException",
    "ThrottlingException",
    "Throttling",
    "RequestLimitExceeded",
}
REVISION_CONFLICT = "PreconditionFailedException"
MAX_ATTEMPTS = 8
WAIT_TIMEOUT_SECONDS = 300.0
LATEST = "$LATEST"
LAYER_ARN = re.compile(
    r"^arn:aws[a-zA-Z-]*:lambda:(?P<region>[a-z]{2}(-[a-z]+)+-\d):(?P<account>\d{12}):"
    r"layer:(?P<name>[A-Za-z0-9_-]{1,140}):(?P<version>\d+)$"
)
FUNCTION_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:lambda:(?P<region>[a-z]{2}(-[a-z]+)+-\d):")
ALIAS_NAME = re.compile(r"^(?!\d+$)[A-Za-z0-9_-]{1,128}$")
SAME_BEHAVIOUR = ("CodeSha256", "Handler", "Runtime", "MemorySize", "Timeout", "Architectures")

# Tests replace these to run without real sleeping.
sleep = time.sleep
monotonic = time.monotonic


class ChaosError(Exception):
    """A refusal or failure; the message names the value and the fix."""


# --- entry point ---------------------------------------------------------------------


def handler(events, context):
    """Apply ``ChaosMode`` to ``FunctionName``; return the step's output (``result``, details)."""
    mode = str(events.get("ChaosMode") or "").upper()
    name = validate_function_name(events.get("FunctionName"))
    alias = validate_alias(events.get("AliasName"))
    match = FUNCTION_ARN.match(name)
    lam = boto3.client("lambda", region_name=match["region"]) if match else boto3.client("lambda")
    region = lam.meta.region_name
    if mode == "ENABLED":
        execution = str(events.get("ExecutionId") or "").strip()
        by = f"ssm-automation:{execution}" if execution and "{{" not in execution else "ssm"
        report = inject(
            lam,
            name,
            region,
            alias,
            validate_latency_ms(events.get("LatencyMs")),
            validate_probability(events.get("Probability", "1")),
            resolve_layer_arn(events.get("LayerArn"), region),
            by[:100],
        )
    elif mode == "DISABLED":
        report = remove(lam, name, region, alias)
    else:
        raise ChaosError(f"ChaosMode must be ENABLED or DISABLED, got {events.get('ChaosMode')!r}")
    if str(events.get("AfterFailure", "")).lower() == "true":
        raise ChaosError(
            f"the chaos layer step failed or was cancelled; {report['result']} on function "
            f"{name!r} in {region} (this rollback step fails so the execution does not succeed)"
        )
    return report


# --- validation (awslambda/_faults.py) -----------------------------------------------


def _number(name, value):
    if isinstance(value, bool):
        raise ChaosError(f"{name} must be a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ChaosError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise ChaosError(f"{name} must be a finite number, got {value!r}")
    return number


def validate_latency_ms(value):
    number = _number("LatencyMs", value)
    if not 1 <= number <= MAX_LATENCY_MS or number != int(number):
        raise ChaosError(
            f"LatencyMs must be a whole number of milliseconds in 1..{MAX_LATENCY_MS}, got "
            f"{value!r}; the extension sleeps whole seconds, so it is rounded up to seconds"
        )
    return int(number)


def validate_probability(value):
    number = _number("Probability", value)
    if not 0.0 <= number <= 1.0:
        raise ChaosError(
            f"Probability must be in 0..1 (a share of invocations, 1.0 = all), got {value!r}"
        )
    return number


def validate_function_name(value):
    if not isinstance(value, str) or not value.strip() or len(value) > 170 or " " in value:
        raise ChaosError(
            f"FunctionName must be a Lambda function name or ARN (1..170 characters, no "
            f"spaces), got {value!r}"
        )
    return value


def validate_alias(value):
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not ALIAS_NAME.match(value):
        raise ChaosError(
            f"AliasName must be a Lambda alias name (letters, digits, '-', '_', not only "
            f"digits), got {value!r}"
        )
    return value


def resolve_layer_arn(layer_arn, region):
    match = LAYER_ARN.match(str(layer_arn or ""))
    if not match:
        raise ChaosError(
            f"LayerArn {layer_arn!r} is not a Lambda layer version ARN; expected "
            "arn:aws:lambda:<region>:<12-digit account>:layer:<name>:<version>"
        )
    if match["region"] != region:
        raise ChaosError(
            f"LayerArn {layer_arn!r} is in {match['region']} but the function is in {region}; "
            f"Lambda only attaches layers of the function's region: publish the layer in {region}"
        )
    return str(layer_arn)


def latency_environment(latency_ms, probability):
    return {
        EXEC_WRAPPER: WRAPPER,
        ENABLE_LATENCY: "true",
        LATENCY_VALUE: str(max(1, math.ceil(latency_ms / 1000))),
        LATENCY_PROBABILITY: repr(float(probability)),
    }


# --- the record (awslambda/_record.py) -----------------------------------------------


def digest(value):
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:12]


def record_to_json(record):
    return {
        "v": FORMAT_VERSION,
        "contract": record["contract"],
        "by": record["by"],
        "at": record["at"],
        "fault": record["fault"],
        "alias": record["alias"],
        "layers": list(record["layers"]),
        "env": {
            k: {"was": e["was"], "set": list(e["set"])} for k, e in sorted(record["env"].items())
        },
    }


def encode(record):
    text = json.dumps(record_to_json(record), separators=(",", ":"), ensure_ascii=False)
    packed = base64.urlsafe_b64encode(text.encode("utf-8")).decode("ascii").rstrip("=")
    chunks = [packed[i : i + MAX_TAG_VALUE] for i in range(0, len(packed), MAX_TAG_VALUE)]
    if len(chunks) > MAX_RECORD_TAGS:
        raise ChaosError(
            f"the fault record needs {len(chunks)} tags of {MAX_TAG_VALUE} characters, more than "
            f"{MAX_RECORD_TAGS}: the function's chaos variables hold unusually long values"
        )
    return {f"{RECORD_TAG_PREFIX}{i}": chunk for i, chunk in enumerate(chunks)}


def record_keys(tags):
    return sorted(k for k in tags if k.startswith(RECORD_TAG_PREFIX))


def decode(tags, resource):
    chunks = {}
    for key in record_keys(tags):
        index = key[len(RECORD_TAG_PREFIX) :]
        if not index.isdigit():
            raise _damaged(resource, f"unexpected record tag {key!r}")
        chunks[int(index)] = tags[key]
    if not chunks:
        return None
    if sorted(chunks) != list(range(len(chunks))):
        raise _damaged(resource, f"record tags are not contiguous: indexes {sorted(chunks)}")
    packed = "".join(chunks[i] for i in range(len(chunks)))
    try:
        data = json.loads(base64.urlsafe_b64decode(packed + "=" * (-len(packed) % 4)))
    except ValueError as error:
        raise _damaged(resource, f"record tags do not decode: {error}") from error
    if not isinstance(data, dict):
        raise _damaged(resource, "record tags do not hold a JSON object")
    if data.get("v") != FORMAT_VERSION:
        raise _damaged(resource, f"record format version {data.get('v')!r}, not {FORMAT_VERSION}")
    alias = data.get("alias")
    return {
        "contract": str(data.get("contract", "")),
        "by": str(data.get("by", "")),
        "at": str(data.get("at", "")),
        "fault": dict(data.get("fault") or {}),
        "alias": dict(alias) if alias else None,
        "layers": [str(arn) for arn in data.get("layers") or []],
        "env": {
            str(k): {
                "was": None if e.get("was") is None else str(e["was"]),
                "set": [str(d) for d in e.get("set", [])],
            }
            for k, e in dict(data.get("env") or {}).items()
        },
    }


def _damaged(resource, problem):
    return ChaosError(
        f"the fault record on {resource} is damaged ({problem}); inspect its "
        "'chaosaws-serverless:fault:*' tags, restore the function by hand and delete them"
    )


def target_of(record):
    return str(record["alias"]["name"]) if record["alias"] else LATEST


def check_tag_budget(tags, record_tags):
    others = [k for k in tags if not k.startswith((RECORD_TAG_PREFIX, "aws:"))]
    total = len(others) + len(record_tags)
    if total > MAX_FUNCTION_TAGS:
        raise ChaosError(
            f"the function has {len(others)} tags (aws: tags not counted) and the fault record "
            f"needs {len(record_tags)}: "
            f"{total} is over Lambda's limit of {MAX_FUNCTION_TAGS} tags per function; remove "
            f"{total - MAX_FUNCTION_TAGS} of its tags first"
        )


# --- planning (awslambda/_merge.py) --------------------------------------------------


def revert(environment, layers, record):
    env = dict(environment)
    result = {
        "environment": env,
        "layers": [],
        "removed_layers": [],
        "restored_variables": [],
        "removed_variables": [],
        "kept_variables": [],
    }
    for name, entry in sorted(record["env"].items()):
        current = env.get(name)
        if current is not None and digest(current) in entry["set"]:
            if entry["was"] is None:
                del env[name]
                result["removed_variables"].append(name)
            else:
                env[name] = entry["was"]
                result["restored_variables"].append(name)
        elif current != entry["was"]:
            # Someone changed (or deleted) it after the injection: theirs wins.
            result["kept_variables"].append(name)
    ours = set(record["layers"])
    for arn in layers:
        if arn in ours:
            result["removed_layers"].append(arn)
        else:
            result["layers"].append(arn)
    return result


def reverted_changed(reverted):
    keys = ("removed_layers", "restored_variables", "removed_variables")
    return any(reverted[key] for key in keys)


def plan_injection(environment, layers, fault_environment, layer_arn, previous=None):
    base_env, base_layers = dict(environment), list(layers)
    if previous is not None:
        reverted = revert(environment, layers, previous)
        base_env, base_layers = reverted["environment"], reverted["layers"]
    wrapper = base_env.get(EXEC_WRAPPER)
    if wrapper not in (None, WRAPPER):
        raise ChaosError(
            f"the function already has {EXEC_WRAPPER}={wrapper!r}; the {CONTRACT_NAME} needs "
            f"{WRAPPER!r} and there can be only one wrapper. Remove the other wrapper "
            "or choose another function (nothing was changed)"
        )
    new_env = {**base_env, **fault_environment}
    entries = {}
    for name, value in fault_environment.items():
        entries[name] = {"was": base_env.get(name), "set": [digest(value)]}
    if previous is not None:
        for name, old in previous["env"].items():
            entry = entries.setdefault(name, {"was": base_env.get(name), "set": []})
            entry["set"] = list(dict.fromkeys(entry["set"] + old["set"]))[:MAX_DIGESTS]
    # Another version of the chaos layer already attached is the extension already
    # there: Lambda refuses two versions of one layer, so it is used as it is.
    layer_name = layer_arn.rsplit(":", 1)[0]
    attached = any(arn.rsplit(":", 1)[0] == layer_name for arn in base_layers)
    appended = [] if attached else [layer_arn]
    new_layers = base_layers + appended
    if previous is not None:
        appended = list(dict.fromkeys(appended + previous["layers"]))
    if len(new_layers) > MAX_LAYERS:
        raise ChaosError(
            f"the function already uses {len(base_layers)} layers; adding {layer_arn!r} makes "
            f"{len(new_layers)}, over Lambda's limit of {MAX_LAYERS}. Remove a layer first "
            "(nothing was changed)"
        )
    size = len(json.dumps(new_env, separators=(",", ":")).encode("utf-8"))
    if size > MAX_ENVIRONMENT_BYTES:
        raise ChaosError(
            f"the function's environment would be {size} bytes with the fault's variables, over "
            f"Lambda's limit of {MAX_ENVIRONMENT_BYTES} bytes; shorten the function's variables "
            "(nothing was changed)"
        )
    return {"environment": new_env, "layers": new_layers, "env": entries, "appended": appended}


# --- Lambda calls (awslambda/_update.py) ---------------------------------------------


def error_code(error):
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", ""))
    return ""


def backoff_seconds(attempt):
    return random.uniform(0.5, 1.0) * min(8.0, 0.25 * 2**attempt)


def call(method, **params):
    """Call a Lambda API method, retrying throttling and in-progress conflicts."""
    for attempt in range(MAX_ATTEMPTS):
        try:
            return method(**params)
        except ClientError as error:
            if error_code(error) in RETRIED and attempt < MAX_ATTEMPTS - 1:
                sleep(backoff_seconds(attempt))
                continue
            raise
    raise AssertionError("unreachable")


def get_function(lam, name, qualifier=None):
    params = {"FunctionName": name}
    if qualifier:
        params["Qualifier"] = qualifier
    return call(lam.get_function, **params)


def wait_until_updated(lam, name, resource, configuration, ours=True):
    """Return the configuration once no update is in progress (``function_updated_v2``).

    ``ours``: the update waited for is ours, so ``Failed`` is an error; before
    our update, an earlier failed update of someone else does not block us.
    """
    deadline = monotonic() + WAIT_TIMEOUT_SECONDS
    attempt = 0
    while True:
        if ours and configuration.get("LastUpdateStatus") == "Failed":
            reason = configuration.get("LastUpdateStatusReason", "")
            raise ChaosError(f"the update of {resource} failed in AWS: {reason}")
        busy = (
            configuration.get("State") == "Pending"
            or configuration.get("LastUpdateStatus") == "InProgress"
        )
        if not busy:
            return configuration
        if monotonic() > deadline:
            raise ChaosError(f"{resource} was still updating after {WAIT_TIMEOUT_SECONDS:.0f} s")
        sleep(min(5.0, 0.5 * 1.5**attempt))
        attempt += 1
        configuration = get_function(lam, name)["Configuration"]


def update_configuration(lam, name, resource, compute, initial=None):
    """Read, compute a change, apply it with RevisionId; recompute on a revision conflict."""
    for attempt in range(MAX_ATTEMPTS):
        function = initial if attempt == 0 and initial is not None else get_function(lam, name)
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
            raise
        return function, wait_until_updated(lam, name, resource, updated)
    raise AssertionError("unreachable")


def environment_of(configuration):
    return dict((configuration.get("Environment") or {}).get("Variables") or {})


def layers_of(configuration):
    return [layer["Arn"] for layer in configuration.get("Layers") or []]


def unqualified_arn(configuration):
    arn = str(configuration["FunctionArn"])
    return arn[: -len(":$LATEST")] if arn.endswith(":$LATEST") else arn


def read_tags(lam, configuration):
    # GetFunction leaves Tags out when lambda:ListTags is not allowed: never read them there.
    return dict(call(lam.list_tags, Resource=unqualified_arn(configuration)).get("Tags") or {})


def write_record(lam, arn, tags, record_tags):
    call(lam.tag_resource, Resource=arn, Tags=dict(record_tags))
    # A fresh read: another process may have written a longer record since ``tags``.
    current = call(lam.list_tags, Resource=arn).get("Tags") or {}
    stale = [key for key in record_keys({**tags, **current}) if key not in record_tags]
    if stale:
        call(lam.untag_resource, Resource=arn, TagKeys=stale)


def check_layer(lam, layer_arn, configuration):
    name_arn, version = layer_arn.rsplit(":", 1)
    layer = call(lam.get_layer_version, LayerName=name_arn, VersionNumber=int(version))
    compatible = layer.get("CompatibleArchitectures") or []
    architecture = (configuration.get("Architectures") or ["x86_64"])[0]
    if compatible and architecture not in compatible:
        raise ChaosError(
            f"layer {layer_arn!r} is built for {', '.join(compatible)} but function "
            f"{configuration['FunctionName']!r} runs on {architecture}; use the layer's "
            f"{architecture} build (nothing was changed)"
        )


def check_alias_matches_latest(lam, name, resource, alias, version, latest):
    if version == LATEST:
        return
    pinned = get_function(lam, name, qualifier=version)["Configuration"]
    different = [f for f in SAME_BEHAVIOUR if pinned.get(f) != latest.get(f)]
    if layers_of(pinned) != layers_of(latest):
        different.append("Layers")
    if environment_of(pinned) != environment_of(latest):
        different.append("Environment")  # names only: values may be secrets
    if different:
        raise ChaosError(
            f"alias {alias!r} of {resource} points at version {version}, which differs from "
            f"$LATEST in {', '.join(different)}; the faulty version is published from $LATEST, "
            "so it would change more than the fault. Publish $LATEST to the alias first, or "
            "inject without alias (nothing was changed)"
        )


# --- inject and remove (awslambda/_faults.py) ----------------------------------------


def inject(lam, name, region, alias, latency_ms, probability, layer_arn, by):
    resource = f"function {name!r} in {region}"
    fault_environment = latency_environment(latency_ms, probability)
    fault = {"kind": "latency", "latency_ms": latency_ms, "probability": probability}
    function = get_function(lam, name)
    latest = function["Configuration"]
    tags = read_tags(lam, latest)
    previous = decode(tags, resource)
    target = alias or LATEST
    # In place only for the run that injected it (the same execution): another
    # experiment's fault is theirs to roll back.
    if previous is not None and (
        target_of(previous) != target or previous["alias"] or previous["by"] != by
    ):
        raise ChaosError(
            f"{resource} already carries a {previous['fault'].get('kind', '?')} fault on "
            f"{target_of(previous)}, injected by {previous['by']} at {previous['at']}; faults "
            "never stack. Let that experiment finish, or run remove_faults (or this document "
            "with DISABLED) on it first (nothing was changed)"
        )
    check_layer(lam, layer_arn, latest)
    alias_state = None
    if alias:
        alias_state = call(lam.get_alias, FunctionName=name, Name=alias)
        check_alias_matches_latest(
            lam, name, resource, alias, str(alias_state["FunctionVersion"]), latest
        )
    at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    written = {}
    holder = {}

    def compute(fresh):
        config = fresh["Configuration"]
        current_tags = tags if fresh is function else read_tags(lam, config)
        plan = plan_injection(
            environment_of(config), layers_of(config), fault_environment, layer_arn, previous
        )
        record = {
            "contract": CONTRACT_NAME,
            "by": by,
            "at": at,
            "fault": fault,
            "alias": (
                {
                    "name": alias,
                    "version": str(alias_state["FunctionVersion"]),
                    "faulty_version": None,
                }
                if alias and alias_state
                else None
            ),
            "layers": plan["appended"],
            "env": plan["env"],
        }
        record_tags = encode(record)
        check_tag_budget(current_tags, record_tags)
        holder["record"] = record
        if record_tags != written:
            # The record always reaches AWS before the change it describes.
            write_record(lam, unqualified_arn(config), current_tags, record_tags)
            written.clear()
            written.update(record_tags)
        if plan["environment"] == environment_of(config) and plan["layers"] == layers_of(config):
            return None
        return {"Layers": plan["layers"], "Environment": {"Variables": plan["environment"]}}

    result = {}
    try:
        _, updated = update_configuration(lam, name, resource, compute, initial=function)
        record = holder["record"]
        if alias and alias_state is not None and record["alias"] is not None:
            result = point_alias_at_faulty_version(
                lam, name, resource, alias, alias_state, record, updated, latest
            )
    except Exception:
        if written:
            print(f"{resource}: injection failed; rolling back what it changed")
            try:
                remove(lam, name, region, alias)
            except Exception as cleanup:  # the original error matters more
                print(f"{resource}: rollback after the failed injection failed: {cleanup}")
        raise
    print(f"{resource}: latency fault injected on {target} ({fault})")
    return {
        "result": f"latency fault injected on {target}",
        "function_name": latest["FunctionName"],
        "region": region,
        "alias": alias,
        "latency_ms": latency_ms,
        "probability": probability,
        "layer_arn": layer_arn,
        "replaced_previous_fault": previous is not None,
        "since": at,
        **result,
    }


def point_alias_at_faulty_version(lam, name, resource, alias, alias_state, record, updated, latest):
    params = {
        "FunctionName": name,
        "Description": f"chaosaws-serverless {record['fault'].get('kind')} fault for alias {alias}",
    }
    revision = (updated or {}).get("RevisionId")
    if revision:
        params["RevisionId"] = revision
    faulty = str(call(lam.publish_version, **params)["Version"])
    record["alias"]["faulty_version"] = faulty
    fresh = get_function(lam, name)
    write_record(lam, unqualified_arn(latest), read_tags(lam, latest), encode(record))
    merge_out_of_latest(lam, name, resource, record, fresh)
    update = {"FunctionName": name, "Name": alias, "FunctionVersion": faulty}
    if alias_state.get("RevisionId"):
        update["RevisionId"] = alias_state["RevisionId"]
    call(lam.update_alias, **update)
    return {"faulty_version": faulty, "original_version": str(alias_state["FunctionVersion"])}


def merge_out_of_latest(lam, name, resource, record, initial):
    report = {}

    def compute(fresh):
        config = fresh["Configuration"]
        reverted = revert(environment_of(config), layers_of(config), record)
        report.update({k: v for k, v in reverted.items() if k not in ("environment", "layers")})
        if not reverted_changed(reverted):
            return None
        return {"Layers": reverted["layers"], "Environment": {"Variables": reverted["environment"]}}

    update_configuration(lam, name, resource, compute, initial=initial)
    return report


def remove(lam, name, region, alias):
    resource = f"function {name!r} in {region}"
    function = get_function(lam, name)
    latest = function["Configuration"]
    tags = read_tags(lam, latest)
    record = decode(tags, resource)
    if record is None:
        env = environment_of(latest)
        if env.get(EXEC_WRAPPER) == WRAPPER and env.get(ENABLE_LATENCY, "").lower() == "true":
            print(
                f"{resource} has chaos extension variables switched on but no fault record of "
                "chaosaws-serverless: not injected by this package, left as it is"
            )
        print(f"{resource}: no fault recorded, nothing to remove")
        return {"result": "no fault recorded", "function_name": latest["FunctionName"]}
    if (alias or LATEST) != target_of(record):
        print(
            f"{resource}: the recorded fault is on {target_of(record)}, not on {alias or LATEST}; "
            "removing it anyway (a rollback never leaves a fault behind)"
        )
    report = merge_out_of_latest(lam, name, resource, record, function)
    if record["alias"]:
        report.update(restore_alias(lam, name, resource, record))
    call(lam.untag_resource, Resource=unqualified_arn(latest), TagKeys=record_keys(tags))
    if report.get("kept_variables"):
        print(
            f"{resource}: kept {', '.join(report['kept_variables'])}: changed by someone else "
            "during the fault"
        )
    print(f"{resource}: {record['fault'].get('kind')} fault on {target_of(record)} removed")
    return {
        "result": f"{record['fault'].get('kind')} fault on {target_of(record)} removed",
        "function_name": latest["FunctionName"],
        "injected_by": record["by"],
        "injected_at": record["at"],
        **report,
    }


def restore_alias(lam, name, resource, record):
    alias = str(record["alias"]["name"])
    original = str(record["alias"]["version"])
    faulty = record["alias"].get("faulty_version")
    report = {"alias_restored_to": None, "deleted_version": None}
    try:
        state = call(lam.get_alias, FunctionName=name, Name=alias)
    except ClientError as error:
        if error_code(error) != "ResourceNotFoundException":
            raise
        print(f"alias {alias!r} of {resource} no longer exists; nothing to point back")
        state = None
    if state is not None and faulty and str(state["FunctionVersion"]) == faulty:
        params = {"FunctionName": name, "Name": alias, "FunctionVersion": original}
        if state.get("RevisionId"):
            params["RevisionId"] = state["RevisionId"]
        call(lam.update_alias, **params)
        report["alias_restored_to"] = original
    elif state is not None and str(state["FunctionVersion"]) == original:
        print(f"alias {alias!r} of {resource} already points at its recorded version {original}")
    elif state is not None:
        print(
            f"alias {alias!r} of {resource} points at version {state['FunctionVersion']}, not "
            f"the faulty {faulty}: someone moved it, left as it is"
        )
    if faulty:
        try:
            call(lam.delete_function, FunctionName=name, Qualifier=faulty)
            report["deleted_version"] = faulty
        except ClientError as error:
            if error_code(error) != "ResourceNotFoundException":
                raise
    return report
