"""What each action does [S] [P] [Q] [X] [B] [Z], and how inputs and outputs resolve [V] [O]."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Mapping
from typing import Any

from chaosaws_serverless.lab.ssm.documents import (
    StepFailure,
    as_list,
    choice_true,
    json_safe,
    parse_duration,
    select,
    text_of,
    typed_output,
)
from chaosaws_serverless.lab.ssm.engine import Engine, Execution, StepRecord, now_utc
from chaosaws_serverless.lab.ssm.rules import (
    OWN_APIS,
    PAYLOAD_MAX_BYTES,
    REFERENCE,
    SCRIPT_MAX_SECONDS,
    SLEEP_MAX_SECONDS,
    TERMINAL,
    AutomationError,
    Fault,
)


class StepActions(Engine):
    """The actions the model runs, on an :class:`.engine.Engine`'s executions."""

    def _execute(
        self,
        execution: Execution,
        step: dict[str, Any],
        record: StepRecord,
        cancel_deadline: float | None,
    ) -> str:
        fault = self._fault(execution, str(step["name"]))
        with self._lock:  # a single fault happens once (but a persistent one)
            if fault is not None and fault in self._fired and not fault.persistent:
                fault = None
            elif fault is not None:
                self._fired.add(fault)
        if fault and fault.kind == "fail" and not fault.script_fault():
            raise StepFailure("injected failure")
        if (
            fault
            and fault.kind == "cancel"
            and step["action"] not in ("aws:sleep", "aws:executeAutomation")
        ):
            self.stop(execution.id)
        inputs = self._resolve(execution, step.get("inputs") or {})
        record.inputs = inputs
        action = step["action"]
        timeout = float(step["timeoutSeconds"]) if step.get("timeoutSeconds") else None
        if action == "aws:executeScript":
            return self._execute_script(execution, step, record, inputs, timeout, fault)
        if action in ("aws:executeAwsApi", "aws:assertAwsResourceProperty"):
            return self._execute_api(execution, step, record, inputs)
        if action == "aws:executeAutomation":
            return self._execute_automation(
                execution, record, inputs, timeout, fault, cancel_deadline
            )
        if action == "aws:branch":
            return self._branch(execution, record, inputs)
        if action == "aws:sleep":
            return self._sleep(execution, inputs, fault, cancel_deadline)
        raise StepFailure(f"action {action} is not modelled")

    def _execute_script(
        self,
        execution: Execution,
        step: dict[str, Any],
        record: StepRecord,
        inputs: dict[str, Any],
        timeout: float | None,
        fault: Fault | None,
    ) -> str:
        """[S] run Script's Handler(events=InputPayload, context) on python3.11, 600 s at most."""
        if not isinstance(inputs.get("Script"), str):
            raise StepFailure("the model runs embedded Scripts only (no Attachment)")
        result = self.runner.run(
            inputs["Script"],
            str(inputs.get("Handler")),
            inputs.get("InputPayload") or {},
            self.aws.script_environment(execution.region),
            timeout=min(SCRIPT_MAX_SECONDS, timeout or SCRIPT_MAX_SECONDS),
            fault=fault.script_fault() if fault else None,
        )
        record.calls = result.calls
        if result.status == "Killed":
            self.stop(execution.id)
            return "Cancelled"
        if result.status == "TimedOut":
            record.failure = result.error
            return "TimedOut"
        if result.status != "Success":
            raise StepFailure(result.error or "the script failed")
        payload = result.payload
        if len(json.dumps(payload).encode("utf-8")) > PAYLOAD_MAX_BYTES:
            raise StepFailure("the script's output exceeds 100 KB")
        record.outputs["OutputPayload"] = json.dumps({"Payload": payload})
        self._outputs(step, record, {"Payload": payload})
        return "Success"

    def _execute_api(
        self, execution: Execution, step: dict[str, Any], record: StepRecord, inputs: dict[str, Any]
    ) -> str:
        """[P] call Service's Api with the other inputs as its parameters; outputs by Selector.

        [Q] aws:assertAwsResourceProperty: the same call; the step fails unless the value at
        PropertySelector is one of DesiredValues.
        """
        from botocore import xform_name

        asserting = step["action"] == "aws:assertAwsResourceProperty"
        own = ("Service", "Api", "PropertySelector", "DesiredValues") if asserting else ()
        params = {k: v for k, v in inputs.items() if k not in ("Service", "Api", *own)}
        service, api = str(inputs.get("Service")), str(inputs.get("Api"))
        try:
            if service == "ssm" and api in OWN_APIS:
                response = self._own_api(execution, api, params)
            else:
                client = self.aws.client(service, execution.region)
                response = getattr(client, xform_name(api))(**params)
        except AutomationError as error:
            raise StepFailure(f"{error.code}: {error.message}") from error
        except Exception as error:
            raise StepFailure(f"{service}:{api} failed: {error}") from error
        response = json_safe(response)
        if asserting:
            try:
                found, value = select(response, str(inputs.get("PropertySelector")))
            except ValueError as error:
                raise StepFailure(str(error)) from error
            desired = [text_of(v) for v in inputs.get("DesiredValues") or []]
            if not found or text_of(value) not in desired:
                raise StepFailure(
                    f"{inputs.get('PropertySelector')} is {value!r}, not one of {desired}"
                )
        self._outputs(step, record, response)
        return "Success"

    def _own_api(self, execution: Execution, api: str, params: dict[str, Any]) -> Any:
        if api == "GetAutomationExecution":
            return {"AutomationExecution": self.get(str(params["AutomationExecutionId"]))}
        if api == "DescribeAutomationExecutions":
            return {"AutomationExecutionMetadataList": self.describe(params.get("Filters"))}
        if api == "StopAutomationExecution":
            self.stop(str(params["AutomationExecutionId"]), str(params.get("Type", "Cancel")))
            return {}
        child = self.start(
            str(params["DocumentName"]),
            params.get("Parameters"),
            region=execution.region,
            document_version=params.get("DocumentVersion"),
        )
        return {"AutomationExecutionId": child}

    def _execute_automation(
        self,
        execution: Execution,
        record: StepRecord,
        inputs: dict[str, Any],
        timeout: float | None,
        fault: Fault | None,
        cancel_deadline: float | None,
    ) -> str:
        """[X] start the secondary runbook and wait for it; outputs ExecutionId, Status, Output."""
        runtime = inputs.get("RuntimeParameters") or {}
        try:
            child_id = self.start(
                str(inputs["DocumentName"]),
                {k: v for k, v in runtime.items()},
                region=execution.region,
                document_version=inputs.get("DocumentVersion"),
                parent=execution.id,
                tags=list(inputs.get("Tags") or []),
            )
        except AutomationError as error:
            raise StepFailure(f"{error.code}: {error.message}") from error
        record.outputs["ExecutionId"] = child_id
        if fault and fault.kind == "cancel":
            self.stop(execution.id)
        started = self.clock.now()
        with self._lock:
            child = self.executions[child_id]
            while child.status not in TERMINAL:
                if cancel_deadline is None and execution.cancel.is_set():
                    return "Cancelled"  # SILENT: the child goes on
                if cancel_deadline is not None and self.clock.now() >= cancel_deadline:
                    return "Cancelled"
                if timeout is not None and self.clock.now() - started >= timeout:
                    return "TimedOut"
                self._changed.wait(0.5)
            record.outputs["Status"] = child.status
            record.outputs["Output"] = [
                v for values in child.outputs.values() for v in as_list(values)
            ]
            status = child.status
        if status != "Success" and self.readings.child_failure_fails_step:  # SILENT: Readings
            raise StepFailure(f"the secondary automation {child_id} ended {status}")
        return "Success"

    def _branch(self, execution: Execution, record: StepRecord, inputs: dict[str, Any]) -> str:
        """[B] the first true choice's NextStep, else Default, else the next step."""
        for choice in inputs.get("Choices") or []:
            if choice_true(choice):
                record.outputs["NextStep"] = choice["NextStep"]
                return "Success"
        if inputs.get("Default") is not None:
            record.outputs["NextStep"] = inputs["Default"]
        return "Success"

    def _sleep(
        self,
        execution: Execution,
        inputs: dict[str, Any],
        fault: Fault | None,
        cancel_deadline: float | None,
    ) -> str:
        """[Z] wait Duration (ISO 8601, not negative, 604799 s at most) or until Timestamp."""
        if inputs.get("Duration") is not None:
            try:
                seconds = parse_duration(str(inputs["Duration"]))
            except ValueError as error:
                raise StepFailure(str(error)) from error
        elif inputs.get("Timestamp") is not None:
            until = dt.datetime.fromisoformat(str(inputs["Timestamp"]).replace("Z", "+00:00"))
            seconds = max(0.0, (until - now_utc()).total_seconds())
        else:
            raise StepFailure("aws:sleep needs Duration or Timestamp")
        if seconds > SLEEP_MAX_SECONDS:
            raise StepFailure(f"{seconds:.0f} s is more than the 604799 s aws:sleep allows")
        if fault and fault.kind == "cancel":
            self.stop(execution.id)
        interrupt = threading.Event() if cancel_deadline is not None else execution.cancel
        if self.clock.wait(seconds, interrupt, until=cancel_deadline):
            return "Cancelled"
        return "Success"

    def _outputs(self, step: dict[str, Any], record: StepRecord, response: Any) -> None:
        for output in step.get("outputs") or []:
            name = str(output["Name"])
            try:
                found, value = select(response, str(output["Selector"]))
            except ValueError as error:
                raise StepFailure(str(error)) from error
            if found:
                record.outputs[name] = typed_output(value, str(output.get("Type", "String")), name)

    def _resolve(self, execution: Execution, node: Any) -> Any:
        """Substitute ``{{ reference }}``s: parameters, variables [V], earlier steps' outputs."""
        if isinstance(node, Mapping):
            return {k: self._resolve(execution, v) for k, v in node.items()}
        if isinstance(node, list):
            return [self._resolve(execution, v) for v in node]
        if not isinstance(node, str):
            return node
        whole = REFERENCE.fullmatch(node.strip())
        if whole:
            return self._value(execution, whole.group(1))
        return REFERENCE.sub(lambda m: text_of(self._value(execution, m.group(1))), node)

    def _value(self, execution: Execution, reference: str) -> Any:
        if reference in execution.parameters:
            return execution.parameters[reference]
        now = dt.datetime.now(dt.UTC)
        variables = {
            "automation:EXECUTION_ID": execution.id,
            "global:ACCOUNT_ID": self.aws.account,
            "global:REGION": execution.region,
            "global:AWS_PARTITION": "aws",
            "global:DATE": now.strftime("%Y-%m-%d"),
            "global:DATE_TIME": now.strftime("%Y-%m-%d_%H.%M.%S"),
        }
        if reference in variables:
            return variables[reference]
        step, _, output = reference.partition(".")
        for record in reversed(execution.steps):
            if record.name == step and output in record.outputs:
                return record.outputs[output]
        raise StepFailure(f"{{{{ {reference} }}}} has no value: step {step} produced no {output}")
