"""FIS experiments of one account: start, stop, read, and running one [AS] [EX] [SC] [ST]."""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Mapping
from typing import Any

from chaosaws_serverless.lab.fis.action_runs import FisActions
from chaosaws_serverless.lab.fis.rules import (
    ALARM_ARN,
    FINAL,
    ActionRun,
    Experiment,
    ExperimentError,
    experiment_arn,
    now_utc,
    template_problems,
)
from chaosaws_serverless.lab.ssm import Automation, AwsAccess, Clock


class Experiments(FisActions):
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
        problems = template_problems(template)
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
                "arn": experiment_arn(experiment, self.aws.account),
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
                    "arn": experiment_arn(e, self.aws.account),
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
                experiment.ended = now_utc()
            self._changed.notify_all()

    def _run(self, experiment: Experiment) -> None:
        try:
            self._run_actions(experiment)
        except Exception as error:  # a defect of the model: the experiment fails, saying so
            self._stop_all(experiment, "failed")
            self._set(experiment, "failed", f"FIS model error: {error!r}")

    def _run_actions(self, experiment: Experiment) -> None:
        self._set(experiment, "initiating")
        experiment.started = now_utc()
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
                        run.started = now_utc()
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

    def _alarm_in_alarm(self, experiment: Experiment) -> str:
        """[SC] the first stop-condition alarm in ALARM ("" when none)."""
        for condition in experiment.template.get("stopConditions") or []:
            if condition.get("source") != "aws:cloudwatch:alarm":
                continue
            match = ALARM_ARN.match(str(condition.get("value", "")))
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
