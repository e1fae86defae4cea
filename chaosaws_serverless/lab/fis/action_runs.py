"""What each FIS action does [AR] [LA]: wait, run an SSM automation, hand a Lambda fault over."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Mapping
from typing import Any

from chaosaws_serverless.lab.fis.rules import (
    CONFIGURATION_VARIABLE,
    LOCATION,
    ActionFailed,
    ActionRun,
    Experiment,
    fault_object_key,
    now_utc,
    selected,
)
from chaosaws_serverless.lab.ssm import (
    TERMINAL,
    Automation,
    AutomationError,
    AwsAccess,
    Clock,
    parse_duration,
)


class FisActions:
    """The actions an experiment runs (the state they share is :class:`.engine.Experiments`')."""

    aws: AwsAccess
    automation: Automation
    clock: Clock
    _lock: threading.RLock
    _changed: threading.Condition

    def _finish(self, run: ActionRun, status: str, reason: str = "") -> None:
        with self._lock:
            if run.status == "stopping" or run.stop.is_set():
                status, reason = "stopped", reason or "Action stopped"
            run.status = status
            run.reason = reason
            run.ended = now_utc()
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
        except ActionFailed as failed:
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
            raise ActionFailed(f"documentParameters is not JSON: {error}") from error
        given = {str(k): v if isinstance(v, list) else [str(v)] for k, v in values.items()}
        try:
            execution = self.automation.start(document, given, region=experiment.region)
        except AutomationError as error:
            raise ActionFailed(f"{error.code}: {error.message}") from error
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
                raise ActionFailed(f"automation {execution} still {status} at maxDuration")
            run.stop.wait(0.2)
        if status != "Success":
            raise ActionFailed(f"automation {execution} ended {status}")
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
                match = LOCATION.match(str(location or ""))
                if not match:  # SILENT: nowhere to write the fault
                    raise ActionFailed(
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
            raise ActionFailed("a Lambda action names one aws:lambda:function target")
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
        arns = selected(arns, str(target.get("selectionMode", "ALL")))
        if not arns:
            raise ActionFailed(f"target {names[0]} resolved to no function")
        found = []
        for arn in arns:
            name, _, qualifier = arn.split(":function:", 1)[1].partition(":")
            params = {"FunctionName": name, **({"Qualifier": qualifier} if qualifier else {})}
            found.append((arn, lam.get_function(**params)["Configuration"]))
        return found
