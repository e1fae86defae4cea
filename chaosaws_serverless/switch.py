"""The dead man's switch: a fault restored inside AWS when the process that injected it is gone.

Before its first change, an injecting action arms a one-time EventBridge Scheduler schedule
whose universal target starts the package's SSM Automation document in restore mode for
exactly that fault (``ChaosMode`` DISABLED, ``RestoreSwitch`` the schedule's name: the
document removes the fault only while the fault's record names this switch). The rollback
deletes the schedule; a schedule that outlives its fault (a crash between the two) fires as a
no-op, deletes itself, and the emergency stop deletes it sooner. The hook is one call,
:func:`arm`, taking the document's parameters that name the fault (for a Lambda function,
``FunctionName``); every injecting action calls it the same way.

EventBridge Scheduler facts this module relies on (Scheduler User Guide and API Reference,
botocore's ``scheduler`` model):

- ``at(yyyy-mm-ddThh:mm:ss)`` is a one-time schedule, evaluated in
  ``ScheduleExpressionTimezone`` (UTC here); every schedule fires with 60-second precision
  (at 1:00 means between 1:00:00 and 1:00:59) when ``FlexibleTimeWindow`` is ``OFF``;
- ``ActionAfterCompletion: DELETE`` deletes a one-time schedule once it invoked its target
  (or once every retry failed);
- a universal target is ``arn:aws:scheduler:::aws-sdk:<service>:<apiAction>`` with ``Input``
  the API's request as JSON and ``RoleArn`` an execution role that trusts
  ``scheduler.amazonaws.com`` and may call the API (here ``ssm:StartAutomationExecution``,
  and ``iam:PassRole`` of the automation's role); read-only actions cannot be targets;
- ``RetryPolicy`` defaults to 185 attempts within 86400 s (24 h), the most it allows;
- names and group names: 1..64 of ``[0-9a-zA-Z-_.]``; ``Description`` at most 512
  characters; a schedule names an existing group (else ``ResourceNotFoundException``),
  creating an existing group is a ``ConflictException``.

The deadline is a promise: by then the restore has started. Scheduler fires within the
minute after the schedule's time, so the schedule's time is the deadline less 60 s: the
restore starts between one minute before the deadline and the deadline itself, and ends
one run of the document later (seconds).

Configuration keys: ``fault_deadline_seconds`` (default :data:`DEFAULT_DEADLINE_SECONDS`; an
action's ``deadline_seconds`` argument wins), ``fault_switch_role_arn`` (the schedule's
execution role), ``automation_role_arn`` (the role the document assumes),
``fault_switch_document`` (default the shipped document's name) and ``fault_switch``:
``"off"`` runs without a switch, said explicitly; anything that keeps the switch from being
armed otherwise refuses the injection before any change.
"""

import json
import re
import secrets as token
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Optional

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets
from logzero import logger

from chaosaws_serverless.aws import client
from chaosaws_serverless.errors import aws_errors, error_code
from chaosaws_serverless.shipped import SSM_DOCUMENT_NAME

__all__ = [
    "DEFAULT_DEADLINE_SECONDS",
    "GROUP",
    "TARGET_ARN",
    "Armed",
    "Ready",
    "arm",
    "deadline_seconds",
    "delete_orphans",
    "disarm",
    "read_deadline",
    "ready",
    "schedule_name",
    "switch_required",
]

GROUP = "chaosaws-serverless"
TARGET_ARN = "arn:aws:scheduler:::aws-sdk:ssm:startAutomationExecution"
# Above any one fault of a long game day, short enough that a forgotten fault ends the same day.
DEFAULT_DEADLINE_SECONDS = 4 * 3600
PRECISION_SECONDS = 60  # [Scheduler] a schedule fires within the minute after its time
MIN_DEADLINE_SECONDS = 2 * PRECISION_SECONDS  # the schedule's time at least a minute ahead
MAX_DEADLINE_SECONDS = 7 * 24 * 3600
DEADLINE_KEY = "fault_deadline_seconds"
SWITCH_KEY = "fault_switch"
ROLE_KEY = "fault_switch_role_arn"
AUTOMATION_ROLE_KEY = "automation_role_arn"
DOCUMENT_KEY = "fault_switch_document"
RETRY_POLICY = {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185}
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")
_NAME_PART = re.compile(r"[^0-9a-zA-Z_.-]")
_AT = re.compile(r"^at\((\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\)$")
_NOTHING = "(nothing was changed)"
# Creating the group and a schedule in it, one thread at a time (background activities).
_GROUP_LOCK = threading.Lock()


@dataclass(frozen=True)
class Armed:
    """A switch in AWS: the schedule's name and region, and when it restores the fault."""

    name: str
    region: str
    deadline: str  # UTC, ISO 8601 to the second, "Z"


def switch_required(configuration: Optional[Configuration]) -> bool:
    """Return False only when the configuration says ``fault_switch: "off"``."""
    value = (configuration or {}).get(SWITCH_KEY, "on")
    if str(value).lower() not in ("on", "off"):
        raise ActivityFailed(
            f'configuration {SWITCH_KEY} must be "on" (the default: every fault arms a dead '
            f'man\'s switch) or "off" (run without one), got {value!r} {_NOTHING}'
        )
    return str(value).lower() == "on"


def deadline_seconds(given: Any, configuration: Optional[Configuration]) -> int:
    """Return the deadline: the argument, else ``fault_deadline_seconds``, else the default."""
    source, value = "deadline_seconds", given
    if value is None:
        source = f"configuration {DEADLINE_KEY}"
        value = (configuration or {}).get(DEADLINE_KEY, DEFAULT_DEADLINE_SECONDS)
    try:
        seconds = int(str(value))
    except ValueError:
        seconds = 0
    if isinstance(value, bool) or not MIN_DEADLINE_SECONDS <= seconds <= MAX_DEADLINE_SECONDS:
        raise ActivityFailed(
            f"{source} must be a whole number of seconds, {MIN_DEADLINE_SECONDS}.."
            f"{MAX_DEADLINE_SECONDS}, got {value!r} {_NOTHING}"
        )
    return seconds


def _role(configuration: Configuration, key: str, what: str) -> str:
    value = str(configuration.get(key) or "")
    if not _ROLE_ARN.match(value):
        raise ActivityFailed(
            f"the dead man's switch cannot be armed: configuration {key} must be the ARN of "
            f"{what} (chaosaws-serverless iam-policy prints its policy), got {value!r}; or set "
            f'{SWITCH_KEY}: "off" to run without a switch {_NOTHING}'
        )
    return value


def schedule_name(label: str) -> str:
    """Return a fresh schedule name for a fault on ``label`` (at most 64 characters)."""
    return f"{_NAME_PART.sub('-', label)[:47]}-{token.token_hex(8)}"


def _check_document(configuration: Configuration, secrets: Secrets, region: str) -> str:
    """Return the document's name once it is registered in ``region`` with a restore mode."""
    name = str(configuration.get(DOCUMENT_KEY) or SSM_DOCUMENT_NAME)
    ssm = client("ssm", region, configuration, secrets)
    resource = f"SSM document {name!r} in {region}"
    with aws_errors("ssm:DescribeDocument", resource):
        try:
            described = ssm.describe_document(Name=name)["Document"]
        except Exception as error:
            if error_code(error) != "InvalidDocument":
                raise
            described = None
    parameters = {p.get("Name") for p in (described or {}).get("Parameters") or []}
    if described is None or "RestoreSwitch" not in parameters:
        state = "is not registered" if described is None else "has no RestoreSwitch parameter"
        raise ActivityFailed(
            f"the dead man's switch cannot be armed: {resource} {state}; register the shipped "
            "document there first (chaosaws_serverless.ssm.actions.register_automation_document),"
            f' or set {SWITCH_KEY}: "off" to run without a switch {_NOTHING}'
        )
    return name


def _ensure_group(scheduler: Any, region: str) -> None:
    with aws_errors("scheduler:GetScheduleGroup", f"schedule group {GROUP!r} in {region}"):
        try:
            scheduler.get_schedule_group(Name=GROUP)
            return
        except Exception as error:
            if error_code(error) != "ResourceNotFoundException":
                raise
    with aws_errors("scheduler:CreateScheduleGroup", f"schedule group {GROUP!r} in {region}"):
        try:
            scheduler.create_schedule_group(
                Name=GROUP, Tags=[{"Key": "managed-by", "Value": "chaosaws-serverless"}]
            )
        except Exception as error:
            if error_code(error) != "ConflictException":  # created meanwhile
                raise


@dataclass(frozen=True)
class Ready:
    """What arming needs, checked: both roles and the registered document's name."""

    scheduler_role: str
    automation_role: str
    document: str


def ready(region: str, configuration: Configuration, secrets: Secrets) -> Ready:
    """Return what a switch in ``region`` needs, or refuse (``ActivityFailed``) naming the fix.

    Reads only (``ssm:DescribeDocument``): an injection calls it in its checks, before any
    change, and the doctor asks the same question.
    """
    configuration = configuration or {}
    return Ready(
        _role(configuration, ROLE_KEY, "the schedule's execution role"),
        _role(configuration, AUTOMATION_ROLE_KEY, "the automation's role"),
        _check_document(configuration, secrets, region),
    )


def arm(
    checked: Ready,
    label: str,
    region: str,
    fault_parameters: dict[str, str],
    seconds: int,
    configuration: Configuration,
    secrets: Secrets,
    name: Optional[str] = None,
) -> Armed:
    """Arm the switch of one fault; refuse (``ActivityFailed``, nothing changed) when it cannot.

    ``checked``: :func:`ready`'s answer; ``label`` names the fault's resource in messages
    and in the schedule's name; ``fault_parameters``: the document's parameters that name
    the fault (e.g. ``{"FunctionName": "api-hello"}``); ``seconds``: the deadline from now;
    ``name``: the schedule's name, when the caller chose it already (:func:`schedule_name`).
    """
    name = name or schedule_name(label)
    document, automation_role = checked.document, checked.automation_role
    scheduler_role = checked.scheduler_role
    # Whole seconds, never later than the deadline less the minute Scheduler may take.
    at = (datetime.now(UTC) + timedelta(seconds=seconds - PRECISION_SECONDS)).replace(microsecond=0)
    parameters = {
        **{key: [str(value)] for key, value in fault_parameters.items()},
        "ChaosMode": ["DISABLED"],
        "AutomationAssumeRole": [automation_role],
        "RestoreSwitch": [name],
    }
    target = {
        "Arn": TARGET_ARN,
        "RoleArn": scheduler_role,
        "Input": json.dumps({"DocumentName": document, "Parameters": parameters}),
        "RetryPolicy": dict(RETRY_POLICY),
    }
    description = f"chaosaws-serverless dead man's switch: restores {label} in {region}"
    scheduler = client("scheduler", region, configuration, secrets)
    with _GROUP_LOCK:
        _ensure_group(scheduler, region)
        with aws_errors("scheduler:CreateSchedule", f"schedule {name!r} in {region}"):
            scheduler.create_schedule(
                Name=name,
                GroupName=GROUP,
                ScheduleExpression=f"at({at.strftime('%Y-%m-%dT%H:%M:%S')})",
                ScheduleExpressionTimezone="UTC",
                FlexibleTimeWindow={"Mode": "OFF"},
                ActionAfterCompletion="DELETE",
                State="ENABLED",
                Description=description[:512],
                Target=target,
            )
    deadline = _iso(at + timedelta(seconds=PRECISION_SECONDS))
    logger.info(f"{label}: dead man's switch {name} armed in {region}: restores it at {deadline}")
    return Armed(name, region, deadline)


def disarm(
    name: str, region: str, configuration: Configuration, secrets: Secrets, label: str = ""
) -> bool:
    """Delete the switch's schedule; return False when it was already gone."""
    scheduler = client("scheduler", region, configuration, secrets)
    with aws_errors("scheduler:DeleteSchedule", f"schedule {name!r} in {region}"):
        try:
            scheduler.delete_schedule(Name=name, GroupName=GROUP)
        except Exception as error:
            if error_code(error) != "ResourceNotFoundException":
                raise
            return False
    logger.info(f"{label or name}: dead man's switch {name} in {region} disarmed")
    return True


def read_deadline(
    name: str, region: str, configuration: Configuration, secrets: Secrets
) -> Optional[str]:
    """Return the switch's deadline (UTC, ISO 8601): its schedule's time plus Scheduler's minute.

    None when the schedule is gone (fired, or deleted).
    """
    scheduler = client("scheduler", region, configuration, secrets)
    with aws_errors("scheduler:GetSchedule", f"schedule {name!r} in {region}"):
        try:
            schedule = scheduler.get_schedule(Name=name, GroupName=GROUP)
        except Exception as error:
            if error_code(error) != "ResourceNotFoundException":
                raise
            return None
    match = _AT.match(str(schedule.get("ScheduleExpression", "")))
    if not match:
        return None
    at = datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    return _iso(at + timedelta(seconds=PRECISION_SECONDS))


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def delete_orphans(region: str, configuration: Configuration, secrets: Secrets) -> list[str]:
    """Delete every switch of the package's group in ``region``; return their names.

    The emergency stop's last step, once every fault of the region is removed: their
    switches have nothing left to restore.
    """
    scheduler = client("scheduler", region, configuration, secrets)
    names: list[str] = []
    with aws_errors("scheduler:ListSchedules", f"schedule group {GROUP!r} in {region}"):
        try:
            for page in scheduler.get_paginator("list_schedules").paginate(GroupName=GROUP):
                names.extend(str(s["Name"]) for s in page.get("Schedules", []))
        except Exception as error:
            if error_code(error) != "ResourceNotFoundException":
                raise
    return [name for name in names if disarm(name, region, configuration, secrets)]
