"""The executions of one account: start, stop, read, the concurrency quota and its queue.

The API half of the model (StartAutomationExecution, StopAutomationExecution,
GetAutomationExecution, DescribeAutomationExecutions); what a running execution does is in
:mod:`.flow` (steps in order, onFailure, onCancel) and :mod:`.steps` (each action).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from chaosaws_serverless.lab.ssm.access import AwsAccess, Clock
from chaosaws_serverless.lab.ssm.documents import (
    Document,
    as_list,
    load_document,
    resolve_parameters,
)
from chaosaws_serverless.lab.ssm.rules import (
    CANCEL_WORKFLOW_SECONDS,
    CONCURRENCY,
    QUEUE_LIMIT,
    TERMINAL,
    AutomationError,
    Fault,
    Readings,
)
from chaosaws_serverless.lab.ssm.scripts import ScriptRunner

# The default readings: each SILENT point read the lenient way (see Readings).
ALL_SILENT_OFF = Readings()


@dataclass
class StepRecord:
    name: str
    action: str
    status: str = "Pending"
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    failure: str = ""
    started: dt.datetime | None = None
    ended: dt.datetime | None = None
    attempts: int = 0
    step_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    calls: list[str] = field(default_factory=list)


@dataclass
class Execution:
    id: str
    ordinal: int
    document: Document
    region: str
    parameters: dict[str, Any]
    parent: str | None
    tags: list[dict[str, str]]
    status: str = "Pending"
    steps: list[StepRecord] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    failure: str = ""
    started: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    ended: dt.datetime | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    cancel_at: float | None = None
    current: str | None = None
    critical_failure: bool = False
    children: list[str] = field(default_factory=list)


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Engine:
    """The executions of one account and the API on them (the steps run in :mod:`.flow`)."""

    def __init__(
        self,
        aws: AwsAccess,
        runner: ScriptRunner | None = None,
        *,
        clock: Clock | None = None,
        concurrency: int = CONCURRENCY,
        queue_limit: int = QUEUE_LIMIT,
        faults: tuple[Fault, ...] = (),
        readings: Readings = ALL_SILENT_OFF,
        cancel_workflow_seconds: float = CANCEL_WORKFLOW_SECONDS,
    ) -> None:
        self.aws = aws
        self.readings = readings
        # [A] two minutes; the tests shorten it to see the cut-off without waiting for it.
        self.cancel_workflow_seconds = cancel_workflow_seconds
        self._owns_runner = runner is None
        self.runner = runner or ScriptRunner()
        self.clock = clock or Clock()
        self.concurrency = concurrency
        self.queue_limit = queue_limit
        self.faults = tuple(faults)
        self.executions: dict[str, Execution] = {}
        self._queue: deque[str] = deque()
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._ordinal = 0
        self._fired: set[Fault] = set()
        self._documents: dict[tuple[str, str, str], Document] = {}

    # -- the API ----------------------------------------------------------------------------

    def start(
        self,
        document_name: str,
        parameters: Mapping[str, Any] | None = None,
        *,
        region: str,
        document_version: str | None = None,
        parent: str | None = None,
        tags: list[dict[str, str]] | None = None,
    ) -> str:
        """StartAutomationExecution: check the document and parameters, run or queue it."""
        name = document_name.rsplit("document/", 1)[-1]  # a document ARN names it too
        document = self._document(name, document_version, region)
        values = resolve_parameters(document, parameters)
        with self._lock:
            if len(self._queue) >= self.queue_limit:
                raise AutomationError(
                    "AutomationExecutionLimitExceededException",
                    "The number of simultaneously running Automation executions exceeded the "
                    "allowable limit",
                )
            execution = Execution(
                id=str(uuid.uuid4()),
                ordinal=self._ordinal,
                document=document,
                region=region,
                parameters=values,
                parent=parent,
                tags=list(tags or []),
            )
            self._ordinal += 1
            self.executions[execution.id] = execution
            if parent:
                self.executions[parent].children.append(execution.id)
            self._queue.append(execution.id)
            self._dispatch()
            return execution.id

    def stop(self, execution_id: str, stop_type: str = "Cancel") -> None:
        """StopAutomationExecution (Type Cancel): the running step's onCancel applies [A]."""
        if stop_type != "Cancel":
            raise AutomationError(
                "InvalidAutomationStatusUpdateException", "only Cancel is modelled"
            )
        with self._lock:
            execution = self._execution(execution_id)
            if execution.status in TERMINAL or execution.cancel.is_set():
                return
            execution.cancel_at = self.clock.now()
            execution.cancel.set()
            if execution.status == "Pending":  # queued: never runs
                with contextlib.suppress(ValueError):
                    self._queue.remove(execution.id)
                self._finish(execution, "Cancelled", "Cancelled before it started")
            else:
                execution.status = "Cancelling"  # [T]
            self._changed.notify_all()
            children = list(execution.children) if self.readings.cancel_reaches_children else []
        for child in children:  # SILENT: Readings.cancel_reaches_children
            self.stop(child)

    def get(self, execution_id: str) -> dict[str, Any]:
        """GetAutomationExecution's ``AutomationExecution`` (botocore's shape)."""
        with self._lock:
            execution = self._execution(execution_id)
            answer: dict[str, Any] = {
                "AutomationExecutionId": execution.id,
                "DocumentName": execution.document.name,
                "DocumentVersion": execution.document.version,
                "ExecutionStartTime": execution.started,
                "AutomationExecutionStatus": execution.status,
                "StepExecutions": [self._step_answer(record) for record in execution.steps],
                "StepExecutionsTruncated": False,
                "Parameters": {k: as_list(v) for k, v in execution.parameters.items()},
                "Outputs": dict(execution.outputs),
                "Mode": "Auto",
                "ExecutedBy": f"arn:aws:sts::{self.aws.account}:assumed-role/lab/chaos",
            }
            if execution.ended:
                answer["ExecutionEndTime"] = execution.ended
            if execution.failure:
                answer["FailureMessage"] = execution.failure
            if execution.parent:
                answer["ParentAutomationExecutionId"] = execution.parent
            if execution.current:
                answer["CurrentStepName"] = execution.current
            return answer

    def describe(self, filters: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        """DescribeAutomationExecutions' metadata list (DocumentNamePrefix, ExecutionStatus,
        ExecutionId, ParentExecutionId filters)."""
        wanted = {str(f.get("Key")): [str(v) for v in f.get("Values") or []] for f in filters or []}
        found = []
        with self._lock:
            for execution in self.executions.values():
                checks = {
                    "DocumentNamePrefix": lambda v, e=execution: e.document.name.startswith(v),
                    "ExecutionStatus": lambda v, e=execution: e.status == v,
                    "ExecutionId": lambda v, e=execution: e.id == v,
                    "ParentExecutionId": lambda v, e=execution: e.parent == v,
                }
                if all(any(checks[k](v) for v in values) for k, values in wanted.items()):
                    metadata = {
                        "AutomationExecutionId": execution.id,
                        "DocumentName": execution.document.name,
                        "DocumentVersion": execution.document.version,
                        "AutomationExecutionStatus": execution.status,
                        "ExecutionStartTime": execution.started,
                        "Mode": "Auto",
                        "AutomationType": "Local",
                    }
                    if execution.ended:
                        metadata["ExecutionEndTime"] = execution.ended
                    if execution.parent:
                        metadata["ParentAutomationExecutionId"] = execution.parent
                    found.append(metadata)
        return found

    def wait(self, execution_id: str, timeout: float = 900.0) -> str:
        """Block until the execution is terminal (``timeout``: real seconds); return its status."""
        deadline = time.monotonic() + timeout
        with self._lock:
            execution = self._execution(execution_id)
            while execution.status not in TERMINAL and time.monotonic() < deadline:
                self._changed.wait(min(1.0, max(0.0, deadline - time.monotonic())))
            return execution.status

    def wait_all(self, timeout: float = 900.0) -> bool:
        """Block until no execution can still change anything; False if some never can end.

        An execution waiting for a child that stays queued (the quota is used up by its
        ancestors) never ends: this returns False once only such waits are left.
        """
        deadline = time.monotonic() + timeout
        with self._lock:
            while time.monotonic() < deadline:
                live = [e for e in self.executions.values() if e.status not in TERMINAL]
                if not live:
                    return True
                running = [e for e in live if e.status != "Pending"]
                if self._queue and running and all(self._blocked(e) for e in running):
                    return False
                self._changed.wait(0.2)
            return False

    def started_count(self) -> int:
        with self._lock:
            return len(self.executions)

    def close(self) -> None:
        """Cancel what still runs, then stop the script workers (when this model started them)."""
        with self._lock:
            live = [e.id for e in self.executions.values() if e.status not in TERMINAL]
        for execution_id in live:
            with contextlib.suppress(AutomationError):
                self.stop(execution_id)
        if self._owns_runner:
            self.runner.close()

    # -- internals --------------------------------------------------------------------------

    def _execution(self, execution_id: str) -> Execution:
        try:
            return self.executions[execution_id]
        except KeyError:
            raise AutomationError(
                "AutomationExecutionNotFoundException",
                f"Automation execution {execution_id} not found",
            ) from None

    def _document(self, name: str, version: str | None, region: str) -> Document:
        ssm = self.aws.client("ssm", region)
        try:
            params = {"Name": name, **({"DocumentVersion": version} if version else {})}
            answer = ssm.get_document(**params)
        except Exception as error:
            code = getattr(error, "response", {}).get("Error", {}).get("Code", "")
            if code in ("InvalidDocument", "InvalidDocumentVersion"):
                raise AutomationError(
                    "AutomationDefinitionNotFoundException", f"document {name} not found"
                ) from error
            raise
        if answer.get("DocumentType") not in (None, "Automation"):
            raise AutomationError(
                "InvalidDocumentType", f"{name} is a {answer['DocumentType']} document"
            )
        version = str(answer.get("DocumentVersion", "1"))
        key = (name, version, answer["Content"])
        with self._lock:
            if key not in self._documents:
                self._documents[key] = load_document(name, version, answer["Content"])
            return self._documents[key]

    def _blocked(self, execution: Execution) -> bool:
        """Waiting on a child that is queued, or itself blocked (the quota is all waiting)."""
        waiting_on = [
            self.executions[c]
            for c in execution.children
            if self.executions[c].status not in TERMINAL
        ]
        return bool(waiting_on) and all(
            child.status == "Pending" or self._blocked(child) for child in waiting_on
        )

    def _dispatch(self) -> None:
        """[C] start queued executions while fewer than the quota run (FIFO)."""
        running = sum(
            1
            for e in self.executions.values()
            if e.status not in TERMINAL and e.status != "Pending"
        )
        while self._queue and running < self.concurrency:
            execution = self.executions[self._queue.popleft()]
            execution.status = "InProgress"  # [T]
            running += 1
            threading.Thread(
                target=self._run, args=(execution,), name=f"ssm-{execution.id[:8]}", daemon=True
            ).start()
        self._changed.notify_all()

    def _finish(self, execution: Execution, status: str, failure: str = "") -> None:
        execution.status = status
        execution.failure = execution.failure or failure
        execution.ended = now_utc()
        execution.current = None
        self._dispatch()

    def _fault(self, execution: Execution, step: str) -> Fault | None:
        for fault in self.faults:
            if fault.execution == execution.ordinal and fault.step == step:
                return fault
        return None

    def _run(self, execution: Execution) -> None:
        raise NotImplementedError  # :class:`.flow.Automation`

    def _step_answer(self, record: StepRecord) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "StepName": record.name,
            "Action": record.action,
            "StepStatus": record.status,
            "StepExecutionId": record.step_id,
            "Inputs": {k: json.dumps(v) for k, v in record.inputs.items() if k != "Script"},
            "Outputs": {k: as_list(v) for k, v in record.outputs.items()},
        }
        if record.started:
            answer["ExecutionStartTime"] = record.started
        if record.ended:
            answer["ExecutionEndTime"] = record.ended
        if record.failure:
            answer["FailureMessage"] = record.failure
        return answer
