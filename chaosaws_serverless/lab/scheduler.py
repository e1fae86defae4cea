"""EventBridge Scheduler from its User Guide: the lab fires due one-time schedules.

moto stores schedules and never fires one. :class:`Scheduler` reads them from moto and, when
one is due, invokes its target the way the guide says Scheduler does, so a dead man's switch
(a one-time schedule whose universal target starts an SSM automation) runs end to end in the
lab: the target's ``StartAutomationExecution`` goes to the SSM model (``lab/ssm``), which
runs the document. Like the SSM and FIS models it imports nothing from the package it judges
(``ssm/``, ``awslambda/``, ``switch``): it is an independent reading of what Scheduler does.

Sources, EventBridge Scheduler User Guide and API Reference
(https://docs.aws.amazon.com/scheduler/latest/), and botocore's ``scheduler`` model:

[T] UserGuide/schedule-types.html        ``at(yyyy-mm-ddThh:mm:ss)``: a one-time schedule,
                                         evaluated in ``ScheduleExpressionTimezone`` (UTC
                                         when omitted); "All schedule types ... invoke their
                                         targets with 60 second precision ... between 1:00:00
                                         and 1:00:59" when no flexible time window is set
[F] UserGuide/managing-schedule-flexible-time-windows.html   ``FLEXIBLE``: invoked within
                                         ``MaximumWindowInMinutes`` after the time
[U] UserGuide/managing-targets-universal.html   universal targets
                                         ``arn:aws:scheduler:::aws-sdk:<service>:<apiAction>``,
                                         ``Input`` the API's request parameters as JSON, the
                                         execution role must be allowed the API; read-only
                                         actions (get, describe, list, ...) are not targets
[X] UserGuide/setting-up.html#setting-up-execution-role   the execution role trusts
                                         ``scheduler.amazonaws.com``
[D] UserGuide/managing-schedule-delete.html     ``ActionAfterCompletion: DELETE``: a one-time
                                         schedule is deleted after it invoked its target once,
                                         or after its last unsuccessful retry
[R] APIReference/API_RetryPolicy.html    ``MaximumEventAgeInSeconds`` 60..86400 and
                                         ``MaximumRetryAttempts`` 0..185, defaults 86400 and
                                         185; retries back off exponentially

SILENT: the guide names no backoff schedule; the model waits 1, 2, 4 ... seconds (at most
60) between attempts. A disabled schedule never fires ([T] says nothing of one re-enabled
after its time; the model fires it at the next look).

Time: the 60-second precision is ``precision_seconds`` (60 on AWS; the lab may compress it
like it compresses the SSM model's waits); where in the minute a schedule fires is drawn once
per schedule, uniformly.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import random
import re
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

__all__ = ["Invocation", "Scheduler", "due_time"]

_AT = re.compile(r"^at\((\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\)$")
_UNIVERSAL = re.compile(
    r"^arn:aws[a-z-]*:scheduler:::aws-sdk:(?P<service>[a-z0-9-]+):(?P<action>[A-Za-z0-9]+)$"
)
# [U] read-only prefixes that cannot be targets.
_READ_ONLY = (
    "get",
    "describe",
    "list",
    "poll",
    "receive",
    "search",
    "scan",
    "query",
    "select",
    "read",
    "lookup",
    "discover",
    "validate",
    "batchGet",
    "batchDescribe",
    "batchRead",
    "transactGet",
)
DEFAULT_RETRY = {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185}  # [R]


def due_time(schedule: Mapping[str, Any]) -> dt.datetime | None:
    """Return when a one-time schedule's minute starts (aware, UTC); None for rate/cron."""
    match = _AT.match(str(schedule.get("ScheduleExpression", "")))
    if not match:
        return None
    zone = ZoneInfo(str(schedule.get("ScheduleExpressionTimezone") or "UTC"))  # [T]
    local = dt.datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=zone)
    return local.astimezone(dt.UTC)


@dataclass
class Invocation:
    """One attempt at a schedule's target: what the tests and the lab read."""

    schedule: str
    group: str
    region: str
    attempt: int
    at: float  # time.time()
    outcome: str  # "started" | "failed"
    detail: str = ""
    execution_id: str | None = None


@dataclass
class _Pending:
    due: float  # epoch seconds of the first attempt
    attempts: int = 0
    next_try: float = 0.0
    done: bool = False
    errors: list[str] = field(default_factory=list)


class Scheduler:
    """Fires the due one-time schedules of ``regions`` found in moto (see the module doc).

    ``start_automation(document_name, parameters, region)`` is SSM's
    ``StartAutomationExecution`` (the SSM model's ``Automation.start``); its exceptions are
    failed attempts.
    """

    def __init__(
        self,
        aws: Any,
        start_automation: Callable[[str, Mapping[str, Any], str], str],
        *,
        regions: tuple[str, ...],
        precision_seconds: float = 60.0,
        clock: Callable[[], float] = time.time,
        draw: Callable[[], float] = random.random,
    ) -> None:
        self.aws = aws
        self.start_automation = start_automation
        self.regions = regions
        self.precision_seconds = precision_seconds
        self.clock = clock
        self.draw = draw
        self.invocations: list[Invocation] = []
        self._pending: dict[str, _Pending] = {}
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self._pending.clear()
            self.invocations.clear()

    def tick(self) -> list[Invocation]:
        """Look at every schedule once; invoke the due ones; return this look's attempts."""
        made: list[Invocation] = []
        with self._lock:
            for region in self.regions:
                scheduler = self.aws.client("scheduler", region)
                for summary in self._schedules(scheduler):
                    made.extend(self._look(scheduler, region, summary))
            self.invocations.extend(made)
        return made

    def _schedules(self, scheduler: Any) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for page in scheduler.get_paginator("list_schedules").paginate():
            found.extend(page.get("Schedules", []))
        return found

    def _look(self, scheduler: Any, region: str, summary: Mapping[str, Any]) -> list[Invocation]:
        name, group = str(summary["Name"]), str(summary.get("GroupName") or "default")
        key = f"{region}/{group}/{name}/{summary.get('CreationDate')}"
        try:
            schedule = scheduler.get_schedule(Name=name, GroupName=group)
        except Exception:  # deleted meanwhile
            return []
        if schedule.get("State") == "DISABLED":
            return []
        due = due_time(schedule)
        if due is None:
            return []  # rate and cron schedules are not modelled
        pending = self._pending.get(key)
        if pending is None:
            window = self.precision_seconds  # [T] somewhere in the minute
            flexible = schedule.get("FlexibleTimeWindow") or {}
            if flexible.get("Mode") == "FLEXIBLE":  # [F]
                window += 60.0 * float(flexible.get("MaximumWindowInMinutes") or 0)
            pending = _Pending(due=due.timestamp() + self.draw() * window)
            pending.next_try = pending.due
            self._pending[key] = pending
        now = self.clock()
        if pending.done or now < pending.next_try:
            return []
        invocation = self._invoke(schedule, region, name, group, pending)
        retry = dict(DEFAULT_RETRY, **(schedule.get("Target", {}).get("RetryPolicy") or {}))
        age = now - pending.due
        exhausted = pending.attempts - 1 >= int(retry["MaximumRetryAttempts"]) or age >= float(
            retry["MaximumEventAgeInSeconds"]
        )
        if invocation.outcome == "started" or exhausted:
            pending.done = True
            if schedule.get("ActionAfterCompletion") == "DELETE":  # [D]
                with contextlib.suppress(Exception):  # deleted meanwhile
                    scheduler.delete_schedule(Name=name, GroupName=group)
        else:
            pending.next_try = now + min(60.0, 2.0 ** (pending.attempts - 1))
        return [invocation]

    def _invoke(
        self,
        schedule: Mapping[str, Any],
        region: str,
        name: str,
        group: str,
        pending: _Pending,
    ) -> Invocation:
        pending.attempts += 1
        invocation = Invocation(name, group, region, pending.attempts, self.clock(), "failed")
        target = schedule.get("Target") or {}
        try:
            self._check_role(str(target.get("RoleArn", "")), region)
            match = _UNIVERSAL.match(str(target.get("Arn", "")))
            if not match:
                raise ValueError(f"target {target.get('Arn')!r} is not a modelled universal target")
            service, action = match["service"], match["action"]
            if action.startswith(_READ_ONLY):
                raise ValueError(f"{service}:{action} is read-only: not a target [U]")
            if (service, action) != ("ssm", "startAutomationExecution"):
                raise ValueError(f"{service}:{action} is not modelled")
            request = json.loads(str(target.get("Input") or "{}"))  # [U] the API's request
            invocation.execution_id = self.start_automation(
                str(request.get("DocumentName", "")), request.get("Parameters") or {}, region
            )
            invocation.outcome = "started"
        except Exception as error:
            invocation.detail = f"{type(error).__name__}: {error}"
            pending.errors.append(invocation.detail)
        return invocation

    def _check_role(self, role_arn: str, region: str) -> None:
        """[X] the execution role must exist and trust scheduler.amazonaws.com."""
        role_name = role_arn.rsplit("/", 1)[-1]
        role = self.aws.client("iam", region).get_role(RoleName=role_name)["Role"]
        policy = role.get("AssumeRolePolicyDocument") or {}
        if isinstance(policy, str):
            policy = json.loads(urllib.parse.unquote(policy))
        for statement in policy.get("Statement", []):
            services = (statement.get("Principal") or {}).get("Service") or []
            services = [services] if isinstance(services, str) else services
            allowed = statement.get("Effect") == "Allow" and "sts:AssumeRole" in str(
                statement.get("Action")
            )
            if allowed and "scheduler.amazonaws.com" in services:
                return
        raise PermissionError(f"role {role_arn} does not trust scheduler.amazonaws.com [X]")
