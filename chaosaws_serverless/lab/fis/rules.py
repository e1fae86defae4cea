"""FIS's rules as values and checks: states, limits, what a template may hold, selection modes.

Source keys ([AR], [API], [LA], ...) as listed in the package docstring (``__init__``).
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from chaosaws_serverless.lab.ssm import parse_duration

FINAL = frozenset({"completed", "stopped", "failed", "cancelled"})  # [API] ExperimentStatus
LAMBDA_ACTIONS = (
    "aws:lambda:invocation-add-delay",
    "aws:lambda:invocation-error",
    "aws:lambda:invocation-http-integration-response",
)
MODELLED = ("aws:fis:wait", "aws:ssm:start-automation-execution", *LAMBDA_ACTIONS)
MIN_SECONDS, MAX_SECONDS = 60.0, 12 * 3600.0  # [AR] "1 minute to 12 hours"
CONFIGURATION_VARIABLE = "AWS_FIS_CONFIGURATION_LOCATION"  # [LA]
LOCATION = re.compile(r"^arn:aws[a-z-]*:s3:::(?P<bucket>[^/]+)/(?P<prefix>.*)$")
SELECTION = re.compile(r"^(ALL|COUNT\((\d+)\)|PERCENT\((\d+)\))$")
ALARM_ARN = re.compile(
    r"^arn:aws[a-z-]*:cloudwatch:(?P<region>[a-z0-9-]+):\d{12}:alarm:(?P<name>.+)$"
)


class ExperimentError(Exception):
    """A request FIS refuses (``code``: the API's error code)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def fault_object_key(prefix: str, function_name: str, experiment_id: str, action: str) -> str:
    """Where a Lambda action's fault for one function lives under the function's location."""
    return f"{prefix}{function_name}/{experiment_id}/{action}.json"


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class ActionRun:
    name: str
    spec: dict[str, Any]
    status: str = "pending"
    reason: str = ""
    started: dt.datetime | None = None
    ended: dt.datetime | None = None
    automation: str | None = None
    objects: list[tuple[str, str]] = field(default_factory=list)  # (bucket, key)
    stop: threading.Event = field(default_factory=threading.Event)


@dataclass
class Experiment:
    id: str
    template_id: str
    template: dict[str, Any]
    region: str
    tags: dict[str, str]
    actions: dict[str, ActionRun]
    status: str = "pending"
    reason: str = ""
    created: dt.datetime = field(default_factory=now_utc)
    started: dt.datetime | None = None
    ended: dt.datetime | None = None
    stop_requested: str = ""


class ActionFailed(Exception):
    pass


def experiment_arn(experiment: Experiment, account: str) -> str:
    return f"arn:aws:fis:{experiment.region}:{account}:experiment/{experiment.id}"


def selected(arns: list[str], mode: str) -> list[str]:
    match = SELECTION.match(mode)
    if not match or mode == "ALL":
        return arns
    if match.group(2):
        return arns[: int(match.group(2))]
    return arns[: max(1, len(arns) * int(match.group(3)) // 100)] if arns else []


def template_problems(template: Mapping[str, Any]) -> list[str]:
    """What FIS would refuse, or what the model does not run."""
    problems = []
    actions = template.get("actions") or {}
    for name, spec in actions.items():
        action = spec.get("actionId")
        if action not in MODELLED:
            problems.append(f"action {name}: {action} is not modelled")
            continue
        parameters = spec.get("parameters") or {}
        for key in ("duration", "maxDuration"):
            if key in parameters:
                try:
                    seconds = parse_duration(str(parameters[key]))
                except ValueError as error:
                    problems.append(f"action {name}: {key} {error}")
                    continue
                if not MIN_SECONDS <= seconds <= MAX_SECONDS:  # [AR] 1 minute to 12 hours
                    problems.append(
                        f"action {name}: {key} {parameters[key]} is not 1 minute to 12 hours"
                    )
        for after in spec.get("startAfter") or []:
            if after not in actions:
                problems.append(f"action {name} starts after unknown action {after}")
    seen: set[str] = set()

    def cycle(name: str, path: tuple[str, ...]) -> bool:
        if name in path:
            return True
        if name in seen:
            return False
        seen.add(name)
        return any(cycle(a, (*path, name)) for a in actions.get(name, {}).get("startAfter") or [])

    if any(cycle(name, ()) for name in actions):
        problems.append("startAfter makes a cycle")
    return problems
