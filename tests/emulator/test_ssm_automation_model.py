"""The SSM Automation model's rules, on small runbooks stored in the moto server.

Each test pins one rule of the Systems Manager User Guide as the model
(``chaosaws_serverless/lab/ssm/``) transcribes it; scripts run on
python3.11 against the moto server. These runbooks are written here, not taken from
the package: the model must be able to fail a runbook before it judges the shipped one.
"""

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from chaosaws_serverless.lab.ssm import (
    Automation,
    AutomationError,
    AwsAccess,
    Clock,
    Fault,
    Readings,
    ScriptRunner,
)

US = "us-east-1"
SCRIPT_STEP = """
- name: {name}
  action: aws:executeScript
  {extra}
  inputs:
    Runtime: python3.11
    Handler: handler
    InputPayload: {{Value: '{{{{ Value }}}}'}}
    Script: |
      import sys, boto3
      def handler(events, context):
          {body}
          return {{"version": list(sys.version_info[:2]), "value": events["Value"]}}
  outputs:
  - {{Name: Value, Selector: $.Payload.value, Type: String}}
"""
HEAD = """
schemaVersion: '0.3'
parameters:
  Value: {type: String, default: v}
mainSteps:
"""


def script_step(name: str, body: str = "pass", extra: str = "") -> str:
    return SCRIPT_STEP.format(name=name, body=body, extra=extra or "description: s")


@pytest.fixture
def run(
    configuration: dict[str, Any], aws: Callable[..., Any], script_runner: ScriptRunner
) -> Iterator[Callable[..., Automation]]:
    """Store a runbook in moto, start it in a fresh model; returns the model."""
    made: list[Automation] = []

    def start(body: str, *, parameters: dict[str, Any] | None = None, **options: Any) -> Automation:
        name = f"doc{len(made)}"
        aws("ssm").create_document(
            Content=HEAD + body, Name=name, DocumentType="Automation", DocumentFormat="YAML"
        )
        options.setdefault("clock", Clock(wait_scale=0.01))
        automation = Automation(
            AwsAccess(configuration["aws_endpoint_url"]), script_runner, **options
        )
        made.append(automation)
        automation.first = automation.start(name, parameters, region=US)  # type: ignore[attr-defined]
        return automation

    yield start
    for automation in made:
        automation.close()


def steps(automation: Automation, execution: str | None = None) -> list[tuple[str, str]]:
    answer = automation.get(execution or automation.first)  # type: ignore[attr-defined]
    return [(s["StepName"], s["StepStatus"]) for s in answer["StepExecutions"]]


def finish(automation: Automation) -> str:
    assert automation.wait_all(60)
    return str(automation.get(automation.first)["AutomationExecutionStatus"])  # type: ignore[attr-defined]


def test_steps_run_in_order_and_scripts_run_on_python_3_11(run: Callable[..., Automation]) -> None:
    automation = run(script_step("One") + script_step("Two"), parameters={"Value": ["x"]})
    assert finish(automation) == "Success"
    assert steps(automation) == [("One", "Success"), ("Two", "Success")]
    payload = automation.get(automation.first)["StepExecutions"][0]["Outputs"]  # type: ignore[attr-defined]
    assert payload["Value"] == ["x"]
    assert '"version": [3, 11]' in payload["OutputPayload"][0]


def test_on_failure_abort_continue_and_jump(run: Callable[..., Automation]) -> None:
    fail = "raise RuntimeError('no')"
    aborted = run(script_step("Bad", fail) + script_step("Never"))
    assert finish(aborted) == "Failed"
    assert steps(aborted) == [("Bad", "Failed")]  # [A] onFailure: default abort
    assert "RuntimeError: no" in aborted.get(aborted.first)["FailureMessage"]  # type: ignore[attr-defined]

    went_on = run(script_step("Bad", fail, "onFailure: Continue") + script_step("Next"))
    assert finish(went_on) == "Success"  # not critical: it recovered
    assert steps(went_on) == [("Bad", "Failed"), ("Next", "Success")]

    jumped = run(
        script_step("Bad", fail, "onFailure: step:Fix\n  isCritical: true")
        + script_step("Skipped")
        + script_step("Fix")
    )
    assert finish(jumped) == "Failed"  # [A] isCritical: a critical failure fails the automation
    assert steps(jumped) == [("Bad", "Failed"), ("Fix", "Success")]


def test_next_step_is_end_and_branch(run: Callable[..., Automation]) -> None:
    body = (
        script_step("First", extra="nextStep: Choose")
        + script_step("Skipped")
        + """
- name: Choose
  action: aws:branch
  inputs:
    Choices:
    - Variable: '{{ First.Value }}'
      StringEquals: other
      NextStep: Skipped
    Default: Last
"""
        + script_step("Last", extra="isEnd: true")
        + script_step("AfterEnd")
    )
    automation = run(body)
    assert finish(automation) == "Success"
    assert steps(automation) == [("First", "Success"), ("Choose", "Success"), ("Last", "Success")]


def test_max_attempts_retries_a_failed_step(run: Callable[..., Automation]) -> None:
    automation = run(
        script_step("Flaky", extra="maxAttempts: 2"), faults=(Fault(0, "Flaky", "fail"),)
    )
    assert finish(automation) == "Success"
    persistent = run(
        script_step("Flaky", extra="maxAttempts: 2"),
        faults=(Fault(0, "Flaky", "fail", persistent=True),),
    )
    assert finish(persistent) == "Failed"


def test_cancel_runs_the_on_cancel_workflow(run: Callable[..., Automation]) -> None:
    body = (
        "- {name: Hold, action: aws:sleep, onCancel: 'step:Undo', inputs: {Duration: PT10M}}\n"
        + script_step("Never")
        + script_step("Undo", extra="isEnd: true")
    )
    automation = run(body, clock=Clock(wait_scale=1.0))
    time.sleep(0.5)
    assert automation.get(automation.first)["AutomationExecutionStatus"] == "InProgress"  # type: ignore[attr-defined]
    automation.stop(automation.first)  # type: ignore[attr-defined]
    assert finish(automation) == "Cancelled"  # [T]
    assert steps(automation) == [("Hold", "Cancelled"), ("Undo", "Success")]


def test_the_cancellation_workflow_is_cut_off_at_its_limit(run: Callable[..., Automation]) -> None:
    body = (
        script_step("Work", extra="onCancel: step:Slow")
        + script_step("Slow", extra="nextStep: Wait")
        + "- {name: Wait, action: aws:sleep, inputs: {Duration: PT10M}}\n"
        + script_step("TooLate")
    )
    automation = run(
        body,
        clock=Clock(wait_scale=1.0),
        faults=(Fault(0, "Work", "cancel"),),
        cancel_workflow_seconds=2.0,  # [A] two minutes, shortened to see the cut-off
    )
    started = time.monotonic()
    assert finish(automation) == "Cancelled"
    assert time.monotonic() - started < 10
    assert steps(automation) == [
        ("Work", "Cancelled"),
        ("Slow", "Success"),
        ("Wait", "Cancelled"),
    ]


def test_a_killed_script_stops_at_its_call(run: Callable[..., Automation]) -> None:
    calls = "boto3.client('sts').get_caller_identity(); boto3.client('sts').get_caller_identity()"
    automation = run(
        script_step("Work", body=calls, extra="onCancel: step:Undo") + script_step("Undo"),
        faults=(Fault(0, "Work", "kill", call=2),),
    )
    assert finish(automation) == "Cancelled"
    record = automation.executions[automation.first].steps[0]  # type: ignore[attr-defined]
    assert record.calls == ["sts:GetCallerIdentity", "sts:GetCallerIdentity"]
    assert steps(automation) == [("Work", "Cancelled"), ("Undo", "Success")]


def test_a_script_that_outlives_its_timeout_times_out(run: Callable[..., Automation]) -> None:
    automation = run(script_step("Slow", "import time; time.sleep(30)", "timeoutSeconds: 1"))
    assert finish(automation) == "TimedOut"  # [S] timeoutSeconds, [T] TimedOut


CHILD_DOC = """
- name: Child
  action: aws:executeAutomation
  inputs:
    DocumentName: {child}
    RuntimeParameters: {{Value: '{{{{ Value }}}}'}}
- name: Check
  action: aws:branch
  inputs:
    Choices:
    - {{Variable: '{{{{ Child.Status }}}}', StringEquals: Success, NextStep: Fine}}
    Default: Bad
- {{name: Fine, action: aws:sleep, isEnd: true, inputs: {{Duration: PT0S}}}}
- {{name: Bad, action: aws:sleep, isEnd: true, inputs: {{Duration: PT0S}}}}
"""


@pytest.mark.parametrize("reading", Readings.all(), ids=str)
def test_execute_automation_waits_for_its_child(
    run: Callable[..., Automation], aws: Callable[..., Any], reading: Readings
) -> None:
    aws("ssm").create_document(
        Content=HEAD + script_step("Fails", "raise ValueError('child')"),
        Name="child",
        DocumentType="Automation",
        DocumentFormat="YAML",
    )
    automation = run(CHILD_DOC.format(child="child"), readings=reading)
    status = finish(automation)
    assert automation.started_count() == 2
    if reading.child_failure_fails_step:
        assert (status, steps(automation)) == ("Failed", [("Child", "Failed")])
    else:
        assert status == "Success"
        assert steps(automation) == [("Child", "Success"), ("Check", "Success"), ("Bad", "Success")]


def test_executions_beyond_the_quota_wait_and_a_chain_that_waits_on_itself_never_ends(
    run: Callable[..., Automation], aws: Callable[..., Any]
) -> None:
    """The shape of the document's first rollback: each run starts itself again and waits."""
    aws("ssm").create_document(
        Content=HEAD + CHILD_DOC.format(child="self"),
        Name="self",
        DocumentType="Automation",
        DocumentFormat="YAML",
    )
    automation = run(CHILD_DOC.format(child="self"), concurrency=5)
    assert automation.wait_all(30) is False  # blocked for good
    statuses = [e["AutomationExecutionStatus"] for e in automation.describe()]
    assert statuses.count("InProgress") == 5 and statuses.count("Pending") == 1


def test_start_refuses_what_ssm_refuses(run: Callable[..., Automation]) -> None:
    automation = run(script_step("One"))
    with pytest.raises(AutomationError) as missing:
        automation.start("nope", region=US)
    assert missing.value.code == "AutomationDefinitionNotFoundException"
    with pytest.raises(AutomationError) as unknown:
        automation.start("doc0", {"Nope": ["x"]}, region=US)
    assert unknown.value.code == "InvalidAutomationExecutionParametersException"
    with pytest.raises(AutomationError) as gone:
        automation.get("0000")
    assert gone.value.code == "AutomationExecutionNotFoundException"
