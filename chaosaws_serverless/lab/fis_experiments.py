"""AWS FIS experiments from the FIS User Guide: the lab's runner of templates, the tests' judge.

moto stores experiment templates and experiments, and runs no action (an experiment's
state advances one step per read). This module runs them as the FIS User Guide
describes, the source beside each rule, importing nothing from the package's FIS, SSM or
Lambda code (``tests/unit/test_engine_models.py``): templates are read from the moto
server where ``create_experiment_template`` stored them, ``aws:ssm:start-automation-execution``
runs its runbook on the SSM Automation model (:mod:`.ssm_automation`), the
``aws:lambda:*`` actions hand their fault to the functions through S3 the way the guide
describes the AWS FIS Lambda extension (:mod:`.fis_extension` reads it in the lab's
gateways), and stop conditions read CloudWatch alarms (the lab evaluates them,
:mod:`.alarms`).

Sources, in the AWS FIS User Guide (https://docs.aws.amazon.com/fis/latest/userguide/<page>)
unless named otherwise; the pages' text was checked where the search corpus holds it
(action-sequence, stop-experiment, experiments, use-lambda-actions, fis-actions-reference's
table of contents); what no stored copy showed is marked (issue 23's reading of the page):

[AS] action-sequence.html   "You can run an action only once during an experiment";
                            startAfter: "Any actions that must complete before this action
                            can start. Otherwise, the action runs at the start of the
                            experiment."
[ST] stop-experiment.html   "When you stop an experiment, any post actions that have not
                            been completed for an action are completed before the experiment
                            stops. You cannot resume a stopped experiment."
[EX] experiments.html       an experiment ends when all its actions completed, a stop
                            condition is triggered, an error prevents an action from
                            completing, or it is stopped
[SC] stop-conditions.html   a stop condition is a CloudWatch alarm: in ALARM, FIS stops the
                            experiment
[AR] fis-actions-reference.html   aws:fis:wait (duration); aws:ssm:start-automation-execution
                            (documentArn, documentParameters: JSON, maxDuration: 1 minute
                            to 12 hours; permissions ssm:GetAutomationExecution,
                            ssm:StartAutomationExecution, ssm:StopAutomationExecution);
                            aws:lambda:invocation-add-delay (startupDelayMilliseconds,
                            invocationPercentage), aws:lambda:invocation-error
                            (preventExecution, invocationPercentage),
                            aws:lambda:invocation-http-integration-response (statusCode,
                            contentTypeHeader, preventExecution, invocationPercentage); each
                            action's duration 1 minute to 12 hours
[LA] use-lambda-actions.html   "AWS FIS reads the Amazon S3 configuration from your Lambda
                            function and writes fault injection information to the
                            specified Amazon S3 location"; the extension polls it, so a fault
                            starts up to 60 s after its action and ends up to 20 s after it
                            (not in a stored copy)
[API] botocore's fis-2020-12-01 model: ExperimentStatus pending | initiating | running |
                            completed | stopping | stopped | failed | cancelled;
                            ExperimentActionStatus pending | initiating | running | completed
                            | cancelled | stopping | stopped | failed | skipped

Action states as the guide names them: pending, initiating (preparing to start), running,
completed, cancelled ("the experiment stopped before the action started"), stopping,
stopped (its post actions are complete), failed.

Where the guide is silent (``SILENT:``), the stricter reading:

- Stopping a running ``aws:ssm:start-automation-execution`` cancels its automation
  (StopAutomationExecution is in its permissions) and the action is ``stopped`` as soon as
  the cancel is requested: FIS does not wait for the runbook's cancellation workflow, so a
  runbook must restore by itself, and the experiment may end before it did.
- An automation still running at ``maxDuration`` fails the action and is cancelled.
- A stop condition already in ALARM when the experiment starts stops it before any action.
- A function target without ``AWS_FIS_CONFIGURATION_LOCATION`` fails its Lambda action (FIS
  has nowhere to write the fault).
- The Lambda fault's object format is the lab's own (FIS's is not public): the guide
  documents its effect, which :mod:`.fis_extension` reproduces.
- Alarms are read every ``alarm_poll_seconds`` (FIS's interval is not published).

Time: durations the template declares (aws:fis:wait, the Lambda actions, maxDuration) last
``wait_scale`` times their length, as in :mod:`.ssm_automation`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from chaosaws_serverless.lab.ssm_automation import (
    TERMINAL,
    Automation,
    AutomationError,
    AwsAccess,
    Clock,
    parse_duration,
)

__all__ = ["FINAL", "LAMBDA_ACTIONS", "ExperimentError", "Experiments", "fault_object_key"]

FINAL = frozenset({"completed", "stopped", "failed", "cancelled"})  # [API] ExperimentStatus
LAMBDA_ACTIONS = (
    "aws:lambda:invocation-add-delay",
    "aws:lambda:invocation-error",
    "aws:lambda:invocation-http-integration-response",
)
MODELLED = ("aws:fis:wait", "aws:ssm:start-automation-execution", *LAMBDA_ACTIONS)
MIN_SECONDS, MAX_SECONDS = 60.0, 12 * 3600.0  # [AR] "1 minute to 12 hours"
CONFIGURATION_VARIABLE = "AWS_FIS_CONFIGURATION_LOCATION"  # [LA]
_LOCATION = re.compile(r"^arn:aws[a-z-]*:s3:::(?P<bucket>[^/]+)/(?P<prefix>.*)$")
_SELECTION = re.compile(r"^(ALL|COUNT\((\d+)\)|PERCENT\((\d+)\))$")
_ALARM = re.compile(r"^arn:aws[a-z-]*:cloudwatch:(?P<region>[a-z0-9-]+):\d{12}:alarm:(?P<name>.+)$")


class ExperimentError(Exception):
    """A request FIS refuses (``code``: the API's error code)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def fault_object_key(prefix: str, function_name: str, experiment_id: str, action: str) -> str:
    """Where a Lambda action's fault for one function lives under the function's location."""
    return f"{prefix}{function_name}/{experiment_id}/{action}.json"


def _now() -> dt.datetime:
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
    created: dt.datetime = field(default_factory=_now)
    started: dt.datetime | None = None
    ended: dt.datetime | None = None
    stop_requested: str = ""


class Experiments:
    """FIS in one account: experiments of the templates stored in the emulator."""

    def __init__(
        self,
        aws: AwsAccess,
        automation: Automation,
        *,
        clock: Clock | None = None,
        alarm_poll_seconds: float = 1.0,
    ) -> None:
        self.aws = aws
        self.automation = automation
        self.clock = clock or automation.clock
        self.alarm_poll_seconds = alarm_poll_seconds
        self.experiments: dict[str, Experiment] = {}
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)

    # -- the API ----------------------------------------------------------------------------

    def start(
        self, template_id: str, *, region: str, tags: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        """StartExperiment: the template as stored, run from now on."""
        fis = self.aws.client("fis", region)
        try:
            template = fis.get_experiment_template(id=template_id)["experimentTemplate"]
        except Exception as error:
            raise ExperimentError(
                "ResourceNotFoundException", f"experiment template {template_id} not found"
            ) from error
        problems = _template_problems(template)
        if problems:
            raise ExperimentError("ValidationException", "; ".join(problems))
        experiment = Experiment(
            id="EXP" + uuid.uuid4().hex[:17],
            template_id=template_id,
            template=template,
            region=region,
            tags=dict(tags or {}),
            actions={
                name: ActionRun(name, dict(spec)) for name, spec in template["actions"].items()
            },
        )
        with self._lock:
            self.experiments[experiment.id] = experiment
        threading.Thread(
            target=self._run, args=(experiment,), name=f"fis-{experiment.id}", daemon=True
        ).start()
        return self.get(experiment.id)

    def stop(self, experiment_id: str) -> dict[str, Any]:
        """StopExperiment [ST]: running actions stop (their post actions run), pending ones
        are cancelled, then the experiment is stopped."""
        with self._lock:
            experiment = self._experiment(experiment_id)
            if experiment.status not in FINAL and not experiment.stop_requested:
                experiment.stop_requested = "Experiment stopped by request"
                if experiment.status in ("pending", "initiating", "running"):
                    experiment.status = "stopping"
                self._changed.notify_all()
            return self.get(experiment_id)

    def get(self, experiment_id: str) -> dict[str, Any]:
        """GetExperiment's ``experiment`` (botocore's shape)."""
        with self._lock:
            experiment = self._experiment(experiment_id)
            template = experiment.template
            answer: dict[str, Any] = {
                "id": experiment.id,
                "arn": _arn(experiment, self.aws.account),
                "experimentTemplateId": experiment.template_id,
                "roleArn": template.get("roleArn"),
                "state": {
                    "status": experiment.status,
                    "reason": experiment.reason or experiment.status,
                },
                "targets": template.get("targets") or {},
                "actions": {
                    name: self._action_answer(run) for name, run in experiment.actions.items()
                },
                "stopConditions": template.get("stopConditions") or [],
                "creationTime": experiment.created,
                "tags": dict(experiment.tags),
            }
            if experiment.started:
                answer["startTime"] = experiment.started
            if experiment.ended:
                answer["endTime"] = experiment.ended
            return answer

    def list_experiments(self, template_id: str | None = None) -> list[dict[str, Any]]:
        """ListExperiments' summaries."""
        with self._lock:
            return [
                {
                    "id": e.id,
                    "arn": _arn(e, self.aws.account),
                    "experimentTemplateId": e.template_id,
                    "state": {"status": e.status, "reason": e.reason or e.status},
                    "creationTime": e.created,
                    "tags": dict(e.tags),
                }
                for e in self.experiments.values()
                if template_id in (None, e.template_id)
            ]

    def wait(self, experiment_id: str, timeout: float = 900.0) -> str:
        deadline = time.monotonic() + timeout
        with self._lock:
            experiment = self._experiment(experiment_id)
            while experiment.status not in FINAL and time.monotonic() < deadline:
                self._changed.wait(min(0.5, max(0.0, deadline - time.monotonic())))
            return experiment.status

    def close(self) -> None:
        with self._lock:
            live = [e.id for e in self.experiments.values() if e.status not in FINAL]
        for experiment_id in live:
            with contextlib.suppress(ExperimentError):
                self.stop(experiment_id)

    # -- running an experiment ------------------------------------------------------------

    def _experiment(self, experiment_id: str) -> Experiment:
        try:
            return self.experiments[experiment_id]
        except KeyError:
            raise ExperimentError(
                "ResourceNotFoundException", f"experiment {experiment_id} not found"
            ) from None

    def _set(self, experiment: Experiment, status: str, reason: str = "") -> None:
        with self._lock:
            experiment.status = status
            experiment.reason = reason or experiment.reason
            if status in FINAL:
                experiment.ended = _now()
            self._changed.notify_all()

    def _run(self, experiment: Experiment) -> None:
        try:
            self._run_actions(experiment)
        except Exception as error:  # a defect of the model: the experiment fails, saying so
            self._stop_all(experiment, "failed")
            self._set(experiment, "failed", f"FIS model error: {error!r}")

    def _run_actions(self, experiment: Experiment) -> None:
        self._set(experiment, "initiating")
        experiment.started = _now()
        alarm = self._alarm_in_alarm(experiment)
        if alarm:  # SILENT: a stop condition already firing stops it before any action
            self._stop_all(experiment, "cancelled")
            self._set(experiment, "stopped", f"Experiment stopped by stop condition {alarm}")
            return
        if not experiment.stop_requested:
            self._set(experiment, "running")
        last_poll = 0.0
        while True:
            with self._lock:
                if experiment.stop_requested:
                    break
                for run in experiment.actions.values():
                    after = run.spec.get("startAfter") or []
                    if run.status == "pending" and all(
                        experiment.actions[a].status == "completed" for a in after
                    ):  # [AS] startAfter
                        run.status = "initiating"
                        run.started = _now()
                        threading.Thread(
                            target=self._run_action, args=(experiment, run), daemon=True
                        ).start()
                failed = [r for r in experiment.actions.values() if r.status == "failed"]
                done = all(r.status == "completed" for r in experiment.actions.values())
            if failed:  # [EX] an error prevents an action from completing
                self._stop_all(experiment, "cancelled")
                self._set(
                    experiment, "failed", f"Action {failed[0].name} failed: {failed[0].reason}"
                )
                return
            if done:  # [EX] every action completed
                self._set(experiment, "completed", "Experiment completed")
                return
            if time.monotonic() - last_poll >= self.alarm_poll_seconds:
                last_poll = time.monotonic()
                alarm = self._alarm_in_alarm(experiment)
                if alarm:  # [SC]
                    with self._lock:
                        experiment.stop_requested = f"Experiment stopped by stop condition {alarm}"
                        experiment.status = "stopping"
                        self._changed.notify_all()
                    break
            with self._lock:
                self._changed.wait(0.2)
        reason = experiment.stop_requested
        self._stop_all(experiment, "cancelled")
        self._set(experiment, "stopped", reason)  # [ST] "You cannot resume a stopped experiment"

    def _stop_all(self, experiment: Experiment, pending_to: str) -> None:
        """[ST] stop running actions (post actions run), cancel those that never started."""
        with self._lock:
            running = []
            for run in experiment.actions.values():
                if run.status == "pending":
                    run.status = pending_to if pending_to == "cancelled" else "cancelled"
                    run.reason = "The experiment stopped before the action started"
                elif run.status in ("initiating", "running"):
                    run.status = "stopping"
                    run.stop.set()
                    running.append(run)
            self._changed.notify_all()
        deadline = time.monotonic() + 300
        with self._lock:
            while any(r.status == "stopping" for r in running) and time.monotonic() < deadline:
                self._changed.wait(0.2)

    def _finish(self, run: ActionRun, status: str, reason: str = "") -> None:
        with self._lock:
            if run.status == "stopping" or run.stop.is_set():
                status, reason = "stopped", reason or "Action stopped"
            run.status = status
            run.reason = reason
            run.ended = _now()
            self._changed.notify_all()

    def _run_action(self, experiment: Experiment, run: ActionRun) -> None:
        action = run.spec["actionId"]
        parameters = dict(run.spec.get("parameters") or {})
        try:
            with self._lock:
                if run.status == "initiating":
                    run.status = "running"
                    self._changed.notify_all()
            if action == "aws:fis:wait":
                self._wait_action(run, parameters)
            elif action == "aws:ssm:start-automation-execution":
                self._automation_action(experiment, run, parameters)
            else:
                self._lambda_action(experiment, run, parameters)
        except _ActionFailed as failed:
            self._finish(run, "failed", str(failed))
        except Exception as error:
            self._finish(run, "failed", f"{type(error).__name__}: {error}")

    def _wait_action(self, run: ActionRun, parameters: Mapping[str, Any]) -> None:
        """[AR] aws:fis:wait: nothing but time (post action: none)."""
        self.clock.wait(parse_duration(str(parameters["duration"])), run.stop)
        self._finish(run, "completed")

    def _automation_action(
        self, experiment: Experiment, run: ActionRun, parameters: Mapping[str, Any]
    ) -> None:
        """[AR] aws:ssm:start-automation-execution: run documentArn with documentParameters,
        within maxDuration; stopping the action cancels the automation (SILENT: not waited)."""
        document = str(parameters["documentArn"])
        try:
            values = json.loads(str(parameters.get("documentParameters") or "{}"))
        except ValueError as error:
            raise _ActionFailed(f"documentParameters is not JSON: {error}") from error
        given = {str(k): v if isinstance(v, list) else [str(v)] for k, v in values.items()}
        try:
            execution = self.automation.start(document, given, region=experiment.region)
        except AutomationError as error:
            raise _ActionFailed(f"{error.code}: {error.message}") from error
        run.automation = execution
        limit = parse_duration(str(parameters["maxDuration"])) * self.clock.wait_scale
        deadline = time.monotonic() + limit
        while True:
            status = self.automation.get(execution)["AutomationExecutionStatus"]
            if status in TERMINAL:
                break
            if run.stop.is_set():
                self.automation.stop(execution)  # the post action: cancel the runbook
                self._finish(run, "stopped")
                return
            if time.monotonic() >= deadline:  # SILENT: cancelled, and the action fails
                self.automation.stop(execution)
                raise _ActionFailed(f"automation {execution} still {status} at maxDuration")
            run.stop.wait(0.2)
        if status != "Success":
            raise _ActionFailed(f"automation {execution} ended {status}")
        self._finish(run, "completed")

    def _lambda_action(
        self, experiment: Experiment, run: ActionRun, parameters: Mapping[str, Any]
    ) -> None:
        """[AR]/[LA] write the fault where each target function's extension reads it, hold it
        for duration, then remove it (the post action, also on stop)."""
        functions = self._functions(experiment, run)
        duration = parse_duration(str(parameters["duration"]))
        s3 = self.aws.client("s3", experiment.region)
        try:
            for arn, configuration in functions:
                location = (
                    (configuration.get("Environment") or {})
                    .get("Variables", {})
                    .get(CONFIGURATION_VARIABLE)
                )
                match = _LOCATION.match(str(location or ""))
                if not match:  # SILENT: nowhere to write the fault
                    raise _ActionFailed(
                        f"{arn} has no {CONFIGURATION_VARIABLE} (arn:aws:s3:::bucket/prefix): "
                        "it is not set up for the AWS FIS Lambda extension"
                    )
                key = fault_object_key(
                    match["prefix"], configuration["FunctionName"], experiment.id, run.name
                )
                body = {
                    "experimentId": experiment.id,
                    "action": run.name,
                    "actionId": run.spec["actionId"],
                    "functionArn": arn,
                    "parameters": dict(parameters),
                    "endsIn": duration * self.clock.wait_scale,
                    "written": time.time(),
                }
                s3.put_object(Bucket=match["bucket"], Key=key, Body=json.dumps(body).encode())
                run.objects.append((match["bucket"], key))
            stopped = self.clock.wait(duration, run.stop)
        finally:
            for bucket, key in run.objects:  # the post action
                with contextlib.suppress(Exception):
                    s3.delete_object(Bucket=bucket, Key=key)
        self._finish(run, "stopped" if stopped else "completed")

    def _functions(
        self, experiment: Experiment, run: ActionRun
    ) -> list[tuple[str, dict[str, Any]]]:
        """The action's aws:lambda:function target: resourceArns or resourceTags + selectionMode."""
        targets = experiment.template.get("targets") or {}
        names = list((run.spec.get("targets") or {}).values())
        if len(names) != 1 or names[0] not in targets:
            raise _ActionFailed("a Lambda action names one aws:lambda:function target")
        target = targets[names[0]]
        lam = self.aws.client("lambda", experiment.region)
        arns = list(target.get("resourceArns") or [])
        if target.get("resourceTags"):
            wanted = dict(target["resourceTags"])
            for page in lam.get_paginator("list_functions").paginate():
                for function in page["Functions"]:
                    tags = lam.list_tags(Resource=function["FunctionArn"]).get("Tags") or {}
                    if all(tags.get(k) == v for k, v in wanted.items()):
                        arns.append(function["FunctionArn"])
        arns = _selected(arns, str(target.get("selectionMode", "ALL")))
        if not arns:
            raise _ActionFailed(f"target {names[0]} resolved to no function")
        found = []
        for arn in arns:
            name, _, qualifier = arn.split(":function:", 1)[1].partition(":")
            params = {"FunctionName": name, **({"Qualifier": qualifier} if qualifier else {})}
            found.append((arn, lam.get_function(**params)["Configuration"]))
        return found

    def _alarm_in_alarm(self, experiment: Experiment) -> str:
        """[SC] the first stop-condition alarm in ALARM ("" when none)."""
        for condition in experiment.template.get("stopConditions") or []:
            if condition.get("source") != "aws:cloudwatch:alarm":
                continue
            match = _ALARM.match(str(condition.get("value", "")))
            if not match:
                continue
            cloudwatch = self.aws.client("cloudwatch", match["region"])
            with contextlib.suppress(Exception):
                alarms = cloudwatch.describe_alarms(AlarmNames=[match["name"]])["MetricAlarms"]
                if any(a.get("StateValue") == "ALARM" for a in alarms):
                    return str(condition["value"])
        return ""

    def _action_answer(self, run: ActionRun) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "actionId": run.spec.get("actionId"),
            "parameters": dict(run.spec.get("parameters") or {}),
            "targets": dict(run.spec.get("targets") or {}),
            "startAfter": list(run.spec.get("startAfter") or []),
            "state": {"status": run.status, "reason": run.reason or run.status},
        }
        if run.spec.get("description"):
            answer["description"] = run.spec["description"]
        if run.started:
            answer["startTime"] = run.started
        if run.ended:
            answer["endTime"] = run.ended
        return answer


class _ActionFailed(Exception):
    pass


def _arn(experiment: Experiment, account: str) -> str:
    return f"arn:aws:fis:{experiment.region}:{account}:experiment/{experiment.id}"


def _selected(arns: list[str], mode: str) -> list[str]:
    match = _SELECTION.match(mode)
    if not match or mode == "ALL":
        return arns
    if match.group(2):
        return arns[: int(match.group(2))]
    return arns[: max(1, len(arns) * int(match.group(3)) // 100)] if arns else []


def _template_problems(template: Mapping[str, Any]) -> list[str]:
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
