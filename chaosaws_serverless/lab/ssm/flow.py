"""A running execution: its steps in order, retries, onFailure, onCancel, isEnd [A] [T]."""

from __future__ import annotations

from typing import Any

from chaosaws_serverless.lab.ssm.documents import StepFailure, as_list, jump
from chaosaws_serverless.lab.ssm.engine import Execution, StepRecord, now_utc
from chaosaws_serverless.lab.ssm.steps import StepActions


class Automation(StepActions):
    """SSM Automation of one account: executions, their steps, the concurrency quota.

    ``aws`` reaches the other services (the documents are read from SSM there: moto stores
    them); ``runner`` runs scripts on python3.11; ``faults`` is the tests' single fault.
    """

    def _run(self, execution: Execution) -> None:
        try:
            status = self._run_steps(execution)
        except Exception as error:  # a defect of the model: say so in the execution
            status = "Failed"
            execution.failure = f"automation model error: {error!r}"
        with self._lock:
            self._collect_outputs(execution)
            self._finish(execution, status)

    def _run_steps(self, execution: Execution) -> str:
        document = execution.document
        position: int | None = 0
        cancel_deadline: float | None = None
        aborted: str | None = None
        while position is not None and position < len(document.steps):
            step = document.steps[position]
            if cancel_deadline is None and execution.cancel.is_set():
                # The cancellation arrived before this step started: it is this step's.
                record = self._record(execution, step)
                record.status = "Cancelled"
                record.ended = now_utc()
                position, cancel_deadline = self._cancel_workflow(execution, step)
                continue
            if cancel_deadline is not None and self.clock.now() >= cancel_deadline:
                execution.failure = "the cancellation workflow ran out of its two minutes"
                break  # [A] onCancel: "a maximum of two minutes"
            record = self._attempt(execution, step, cancel_deadline)
            if record.status == "Cancelled" and cancel_deadline is None:
                position, cancel_deadline = self._cancel_workflow(execution, step)
                continue
            succeeded = record.status == "Success"
            if step.get("isEnd") is True:  # [A] isEnd: stops "if the step failed or succeeded"
                if not succeeded:
                    aborted = self._failed_outcome(execution, step, record)
                break
            if succeeded:
                position = self._next(execution, step, position, record)
                continue
            on_failure = str(step.get("onFailure", "Abort"))  # [A] onFailure, default abort
            if step.get("isCritical") is True:  # [A] isCritical (explicit only: SILENT)
                execution.critical_failure = True
                execution.failure = (
                    execution.failure or f"Step {step['name']} failed: {record.failure}"
                )
            if on_failure == "Abort":
                aborted = self._failed_outcome(execution, step, record)
                break
            if on_failure == "Continue":
                position = self._next(execution, step, position, record)
            else:
                position = document.index(str(jump(on_failure)))
        if cancel_deadline is not None or execution.cancel.is_set():
            return "Cancelled"  # [T] "stopped by a requester before it completed"
        if aborted:
            return aborted
        return "Failed" if execution.critical_failure else "Success"

    def _failed_outcome(
        self, execution: Execution, step: dict[str, Any], record: StepRecord
    ) -> str:
        execution.failure = execution.failure or f"Step {step['name']} failed: {record.failure}"
        return "TimedOut" if record.status == "TimedOut" else "Failed"

    def _cancel_workflow(
        self, execution: Execution, step: dict[str, Any]
    ) -> tuple[int | None, float | None]:
        """[A] onCancel: Abort (default) ends the automation; step:X runs from X, two minutes."""
        target = jump(step.get("onCancel", "Abort"))
        started = execution.cancel_at if execution.cancel_at is not None else self.clock.now()
        if target is None:
            return None, started
        return execution.document.index(target), started + self.cancel_workflow_seconds

    def _next(
        self, execution: Execution, step: dict[str, Any], position: int, record: StepRecord
    ) -> int | None:
        document = execution.document
        if step.get("action") == "aws:branch":
            target = record.outputs.get("NextStep")
            if target:
                return document.index(str(target))
        if step.get("nextStep") is not None:  # [A] nextStep
            return document.index(str(step["nextStep"]))
        return position + 1 if position + 1 < len(document.steps) else None

    def _record(self, execution: Execution, step: dict[str, Any]) -> StepRecord:
        with self._lock:
            record = StepRecord(name=str(step["name"]), action=str(step["action"]))
            record.started = now_utc()
            execution.steps.append(record)
            execution.current = record.name
            self._changed.notify_all()
            return record

    def _attempt(
        self, execution: Execution, step: dict[str, Any], cancel_deadline: float | None
    ) -> StepRecord:
        """Run a step up to maxAttempts times [A]; a cancellation stops the retries."""
        attempts = max(1, int(step.get("maxAttempts", 1)))
        record = self._record(execution, step)
        for attempt in range(1, attempts + 1):
            record.attempts = attempt
            record.status = "InProgress"
            try:
                outcome = self._execute(execution, step, record, cancel_deadline)
            except StepFailure as failure:
                record.status, record.failure = "Failed", str(failure)
            else:
                record.status = outcome
            if cancel_deadline is None and execution.cancel.is_set():
                record.status = "Cancelled"
            if record.status in ("Success", "Cancelled"):
                break
        record.ended = now_utc()
        with self._lock:
            self._changed.notify_all()
        return record

    def _collect_outputs(self, execution: Execution) -> None:
        for reference in execution.document.content.get("outputs") or []:
            step, _, output = str(reference).partition(".")
            for record in reversed(execution.steps):
                if record.name == step and output in record.outputs:
                    execution.outputs[str(reference)] = as_list(record.outputs[output])
                    break
