"""Build AWS FIS experiment templates for Lambda faults (pure: no AWS call).

Two modes compile the same faults:

``ssm-automation`` (default)
    For each function, one ``aws:ssm:start-automation-execution`` action runs the
    package's SSM Automation document (``ssm/chaos-layer-automation.yaml``) with
    ``ChaosMode=ENABLED`` and ``Duration``: the automation attaches the
    chaos-lambda-extension layer, holds the fault, then restores the function, all
    in one run, as AWS's own FIS templates hold apply, wait and restore in one
    automation. Stopping the experiment (a stop condition, the console, the CLI)
    cancels that automation, whose cancellation workflow restores the function:
    the template restores by itself, whoever started it. The document has
    exactly the semantics of ``inject_latency``/``remove_faults`` (same state
    record), so either side can roll back the other's injection.

``fis-extension``
    FIS's native Lambda actions (``aws:lambda:invocation-add-delay``,
    ``aws:lambda:invocation-http-integration-response``) on targets of type
    ``aws:lambda:function``: named functions, or a tag target (``tags`` +
    ``selection``, FIS's own ``resourceTags`` + ``selectionMode``). They only
    work on functions prepared once for the AWS FIS Lambda extension;
    :func:`fis_extension_prerequisites` lists what.

A template is the request of FIS ``CreateExperimentTemplate`` without its
``clientToken`` (``aws fis create-experiment-template --cli-input-json`` takes
it as is); :func:`validate_template` checks it against botocore's model of the
real service plus the limits botocore does not check.
"""

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any, Optional

from chaoslib.exceptions import ActivityFailed
from logzero import logger

from chaosaws_serverless.fis.faults import LambdaFault, check_fault, function_name
from chaosaws_serverless.fis.validation import (
    DESCRIPTION_MAX,
    DOCUMENT_NAME,
    role_parts,
    stop_conditions,
    validate_template,
)
from chaosaws_serverless.patterns import LAYER_ARN as _LAYER_ARN
from chaosaws_serverless.patterns import ROLE_ARN
from chaosaws_serverless.ssm.document import DEFAULT_DOCUMENT_NAME

__all__ = [
    "DEFAULT_DOCUMENT_NAME",
    "MODES",
    "build_lambda_fault_template",
    "build_lambda_latency_template",
    "document_arn",
    "fis_extension_prerequisites",
    "iso_duration",
]

MODES = ("ssm-automation", "fis-extension")
MANAGED_BY_TAG = {"managed-by": "chaosaws-serverless"}

# An automation holds the fault for the duration, then restores it (seconds; the engine
# waits at most 5 minutes for an update): FIS's maxDuration leaves it this much more.
RESTORE_MARGIN_SECONDS = 600
# FIS durations run from one minute (aws:fis:wait and the Lambda actions) to 12 hours.
MIN_DURATION_SECONDS = 60
MAX_DURATION_SECONDS = 12 * 3600


def iso_duration(seconds: int) -> str:
    """Return ``seconds`` as the ISO 8601 duration FIS takes (``600`` → ``"PT10M"``)."""
    if not isinstance(seconds, int) or isinstance(seconds, bool) or seconds <= 0:
        raise ActivityFailed(f"duration_seconds must be a positive integer, got {seconds!r}")
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [
        f"{hours}H" if hours else "",
        f"{minutes}M" if minutes else "",
        f"{secs}S" if secs else "",
    ]
    return "PT" + "".join(parts)


def document_arn(document_name: str, region: str, role_arn: str) -> str:
    """Return the ARN of the account's SSM document (account and partition from ``role_arn``)."""
    partition, account = role_parts(role_arn)
    return f"arn:{partition}:ssm:{region}:{account}:document/{document_name}"


def build_lambda_latency_template(
    function_names: Sequence[str],
    latency_ms: int,
    duration_seconds: int,
    role_arn: str,
    region: str,
    *,
    probability: float = 1.0,
    alias: Optional[str] = None,
    mode: str = "ssm-automation",
    layer_arn: Optional[str] = None,
    automation_role_arn: Optional[str] = None,
    document_name: str = DEFAULT_DOCUMENT_NAME,
    stop_alarm_arns: Sequence[str] = (),
    tags: Optional[Mapping[str, str]] = None,
    description: Optional[str] = None,
) -> dict[str, Any]:
    """Return an FIS template adding ``latency_ms`` to each function for ``duration_seconds``.

    ``function_names`` are names or ARNs of functions in ``region`` (the
    template's region). ``role_arn`` is the FIS experiment role. In
    ``ssm-automation`` mode ``layer_arn`` (the chaos-lambda-extension layer in
    ``region``) and ``automation_role_arn`` (the role the document assumes) are
    required. ``stop_alarm_arns`` become stop conditions (none: ``source=none``).
    """
    faults = [
        LambdaFault(name, "latency", latency_ms=latency_ms, probability=probability, alias=alias)
        for name in function_names
    ]
    return build_lambda_fault_template(
        faults,
        duration_seconds,
        role_arn,
        region,
        mode=mode,
        layer_arn=layer_arn,
        automation_role_arn=automation_role_arn,
        document_name=document_name,
        stop_alarm_arns=stop_alarm_arns,
        tags=tags,
        description=description,
    )


def build_lambda_fault_template(
    faults: Sequence[LambdaFault],
    duration_seconds: int,
    role_arn: str,
    region: str,
    *,
    mode: str = "ssm-automation",
    layer_arn: Optional[str] = None,
    automation_role_arn: Optional[str] = None,
    document_name: str = DEFAULT_DOCUMENT_NAME,
    stop_alarm_arns: Sequence[str] = (),
    tags: Optional[Mapping[str, str]] = None,
    description: Optional[str] = None,
) -> dict[str, Any]:
    """Return an FIS template running every fault of ``faults`` for ``duration_seconds``."""
    if mode not in MODES:
        raise ActivityFailed(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if not faults:
        raise ActivityFailed("no Lambda fault to compile: give at least one function")
    iso_duration(duration_seconds)  # validates
    if duration_seconds < MIN_DURATION_SECONDS:
        # FIS would reject the template at CreateExperimentTemplate: say so, hold 1 minute.
        logger.warning(
            f"duration_seconds={duration_seconds} is shorter than FIS allows (aws:fis:wait and "
            f"the Lambda actions take 1 minute to 12 hours): the template holds the fault "
            f"{MIN_DURATION_SECONDS} s"
        )
        duration_seconds = MIN_DURATION_SECONDS
    duration = iso_duration(duration_seconds)
    if duration_seconds > MAX_DURATION_SECONDS:
        raise ActivityFailed(
            f"duration_seconds must be at most {MAX_DURATION_SECONDS} (FIS's 12 hours), "
            f"got {duration_seconds}"
        )
    partition, account = role_parts(role_arn)
    for fault in faults:
        check_fault(fault, region, mode)
    names = [function_name(f.function_name) for f in faults if not f.tags]
    if len(set(names)) != len(names):
        raise ActivityFailed(f"each function may appear once in a template, got {names}")

    if mode == "ssm-automation":
        if not layer_arn or not _LAYER_ARN.match(layer_arn):
            raise ActivityFailed(
                f"layer_arn must be the chaos-lambda-extension layer version ARN in {region} "
                f"(arn:aws:lambda:{region}:<account>:layer:<name>:<version>), got {layer_arn!r}"
            )
        layer_region = _LAYER_ARN.match(layer_arn).group("region")  # type: ignore[union-attr]  # matched above
        if layer_region != region:
            raise ActivityFailed(
                f"layer_arn {layer_arn!r} is in {layer_region}, the functions in {region}: "
                f"use the layer published in {region}"
            )
        if not automation_role_arn or not ROLE_ARN.match(automation_role_arn):
            raise ActivityFailed(
                "automation_role_arn must be the IAM role the SSM document assumes "
                f"(arn:aws:iam::<account>:role/<name>), got {automation_role_arn!r}"
            )
        if not DOCUMENT_NAME.match(document_name):
            raise ActivityFailed(
                f"document_name must be 3..128 letters, digits, '_', '-' or '.', got "
                f"{document_name!r}"
            )
        if duration_seconds + RESTORE_MARGIN_SECONDS > MAX_DURATION_SECONDS:
            raise ActivityFailed(
                f"duration_seconds must be at most {MAX_DURATION_SECONDS - RESTORE_MARGIN_SECONDS} "
                f"in ssm-automation mode (FIS's 12-hour maxDuration holds the fault and "
                f"{RESTORE_MARGIN_SECONDS} s to restore it), got {duration_seconds}"
            )
        targets: dict[str, Any] = {}
        actions = _automation_actions(
            faults,
            duration_seconds,
            document_arn(document_name, region, role_arn),
            layer_arn,
            automation_role_arn,
        )
    else:
        targets, actions = _extension_actions(faults, duration, partition, region, account)

    template: dict[str, Any] = {
        "description": (description or _describe(faults, duration_seconds, mode, region))[
            :DESCRIPTION_MAX
        ],
        "targets": targets,
        "actions": actions,
        "stopConditions": stop_conditions(stop_alarm_arns),
        "roleArn": role_arn,
        "tags": {**MANAGED_BY_TAG, **dict(tags or {})},
    }
    validate_template(template)
    return template


def fis_extension_prerequisites(
    function_names: Sequence[str], region: str, config_bucket: str = "<config-bucket>"
) -> list[str]:
    """Return the one-time steps the ``fis-extension`` mode needs, one sentence each."""
    functions = ", ".join(function_name(n) for n in function_names)
    location = f"arn:aws:s3:::{config_bucket}/FisConfigs/"
    return [
        f"Create an S3 bucket {config_bucket!r} in {region} for FIS to hand fault "
        "configurations to the extension (one bucket per region).",
        f"Attach the AWS FIS Lambda extension layer to {functions}: its ARN for your "
        f"architecture is the public SSM parameter "
        "/aws/service/fis/lambda-extension/AWS-FIS-extension-x86_64/1.x.x (or "
        "/aws/service/fis/lambda-extension/AWS-FIS-extension-arm64/1.x.x) in "
        f"{region}: aws ssm get-parameter --name <parameter> --region {region}.",
        f"Set on each function AWS_LAMBDA_EXEC_WRAPPER=/opt/aws-fis/bootstrap and "
        f"AWS_FIS_CONFIGURATION_LOCATION={location} (a function with another "
        "AWS_LAMBDA_EXEC_WRAPPER, such as the chaos-lambda-extension's, cannot use both).",
        "Let each function's execution role s3:ListBucket the bucket (prefix FisConfigs/) "
        "and s3:GetObject on FisConfigs/*.",
        "Let the FIS experiment role s3:PutObject and s3:DeleteObject on FisConfigs/*, "
        "lambda:GetFunction on the functions and tag:GetResources.",
        "Set AWS_FIS_POLL_MAX_WAIT_MILLISECONDS (e.g. 2000) if the fault must apply "
        "from the first invocation after the experiment starts.",
    ]


def _automation_actions(
    faults: Sequence[LambdaFault],
    duration_seconds: int,
    doc_arn: str,
    layer_arn: str,
    automation_role_arn: str,
) -> dict[str, Any]:
    actions: dict[str, Any] = {}
    for index, fault in enumerate(faults, start=1):
        if fault.tags:
            raise ActivityFailed(
                f"the SSM document targets one named function; {fault.label} is a tag target: "
                "use mode 'fis-extension', whose aws:lambda:function targets select by tags "
                "natively"
            )
        if fault.kind != "latency":
            raise ActivityFailed(
                f"the SSM document injects latency only; {fault.function_name!r} has a "
                f"{fault.kind} fault: use mode 'fis-extension' "
                "(aws:lambda:invocation-http-integration-response) for errors"
            )
        name = function_name(fault.function_name)
        parameters = {
            "FunctionName": name,
            "LayerArn": layer_arn,
            "AutomationAssumeRole": automation_role_arn,
            "LatencyMs": str(fault.latency_ms),
            # Plain decimals: the document's allowedPattern takes no exponent (1e-05).
            "Probability": f"{float(fault.probability):.6f}".rstrip("0").rstrip("."),
            **({"AliasName": fault.alias} if fault.alias else {}),
        }
        duration = iso_duration(duration_seconds)
        # One automation attaches, holds Duration and restores (also when FIS cancels it).
        actions[f"chaos-layer-{index}"] = {
            "actionId": "aws:ssm:start-automation-execution",
            "description": (
                f"attach the chaos layer to {name} ({fault.latency_ms} ms) for {duration}, "
                "then restore it (also when the experiment stops)"
            ),
            "parameters": {
                "documentArn": doc_arn,
                "documentParameters": json.dumps(
                    {**parameters, "ChaosMode": "ENABLED", "Duration": duration}
                ),
                "maxDuration": iso_duration(duration_seconds + RESTORE_MARGIN_SECONDS),
            },
        }
    return actions


def _extension_actions(
    faults: Sequence[LambdaFault], duration: str, partition: str, region: str, account: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    targets: dict[str, Any] = {}
    actions: dict[str, Any] = {}
    for index, fault in enumerate(faults, start=1):
        name = fault.label
        target = f"function-{index}"
        if fault.tags:
            targets[target] = {
                "resourceType": "aws:lambda:function",
                "resourceTags": dict(fault.tags),
                "selectionMode": fault.selection,
            }
        else:
            arn = f"arn:{partition}:lambda:{region}:{account}:function:{name}"
            if fault.alias:
                arn = f"{arn}:{fault.alias}"
            targets[target] = {
                "resourceType": "aws:lambda:function",
                "resourceArns": [arn],
                "selectionMode": "ALL",
            }
        # FIS takes whole percentages 1..100; never round a small probability to 0.
        percentage = str(min(100, max(1, math.ceil(fault.probability * 100))))
        if fault.kind == "latency":
            actions[f"delay-{index}"] = {
                "actionId": "aws:lambda:invocation-add-delay",
                "description": f"delay {name} by {fault.latency_ms} ms",
                "parameters": {
                    "duration": duration,
                    "startupDelayMilliseconds": str(fault.latency_ms),
                    "invocationPercentage": percentage,
                },
                "targets": {"Functions": target},
            }
        else:
            actions[f"respond-{index}"] = {
                "actionId": "aws:lambda:invocation-http-integration-response",
                "description": f"make {name} answer HTTP {fault.status_code}",
                "parameters": {
                    "duration": duration,
                    "statusCode": str(fault.status_code),
                    "contentTypeHeader": "application/json",
                    "preventExecution": "true",
                    "invocationPercentage": percentage,
                },
                "targets": {"Functions": target},
            }
    return targets, actions


def _describe(faults: Sequence[LambdaFault], duration_seconds: int, mode: str, region: str) -> str:
    kinds = sorted(
        {f"{f.latency_ms} ms latency" if f.kind == "latency" else "errors" for f in faults}
    )
    functions = ", ".join(f.label for f in faults)
    return (
        f"chaosaws-serverless: {' and '.join(kinds)} on {functions} in {region} for "
        f"{duration_seconds} s ({mode})"
    )
