"""The dead man's switch: armed in EventBridge Scheduler before a fault, fired by Scheduler's model.

State is read with plain boto3 (the scheduler's own GetSchedule/ListSchedules, the
function's tags decoded here from the record format's text, not by the package's code);
the switch is fired by the lab's models of EventBridge Scheduler (``lab/scheduler``) and
SSM Automation (``lab/ssm``), which import nothing from what they judge. moto stores
schedules without checking them, so the schedule's shape is pinned against the Scheduler
API reference and botocore's ``scheduler`` model here.
"""

import base64
import datetime as dt
import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from chaoslib.exceptions import ActivityFailed

from chaosaws_serverless.awslambda import actions, probes
from chaosaws_serverless.lab.scheduler import Scheduler
from chaosaws_serverless.lab.ssm import Automation, AwsAccess, Clock, ScriptRunner
from chaosaws_serverless.ssm.actions import register_automation_document
from tests.support.lambdas import World

US = "us-east-1"
GROUP = "chaosaws-serverless"
DOCUMENT = "chaosaws-serverless-chaos-layer"
ROOT = Path(__file__).resolve().parents[2]
VOLATILE = ("LastModified", "RevisionId", "LastUpdateStatus", "LastUpdateStatusReason")
ORIGINAL_ENV = {"TABLE": "orders", "CHAOS_EXTENSION__LAMBDA__LATENCY_VALUE": "5"}


def trusting(aws: Callable[..., Any], name: str, service: str) -> str:
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
        ],
    }
    return str(
        aws("iam").create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"][
            "Arn"
        ]
    )


@pytest.fixture
def armed(configuration: dict[str, Any], aws: Callable[..., Any]) -> dict[str, Any]:
    """The configuration of an experiment whose faults arm the switch in us-east-1."""
    register_automation_document(region=US, configuration=configuration)
    configuration.update(
        fault_switch="on",
        fault_switch_role_arn=trusting(aws, "chaos-switch", "scheduler.amazonaws.com"),
        automation_role_arn=trusting(aws, "chaos-automation", "ssm.amazonaws.com"),
    )
    return configuration


@pytest.fixture
def hello(world: World) -> str:
    world.layer()
    return world.function(env=dict(ORIGINAL_ENV), tags={"team": "payments"})


@pytest.fixture
def models(
    configuration: dict[str, Any], script_runner: ScriptRunner
) -> Iterator[Callable[[float], tuple[Scheduler, Automation]]]:
    """Scheduler's model on a clock ``ahead`` seconds in the future, starting into SSM's model."""
    made: list[Automation] = []

    def make(ahead: float) -> tuple[Scheduler, Automation]:
        access = AwsAccess(configuration["aws_endpoint_url"])
        automation = Automation(access, script_runner, clock=Clock(0.01))
        made.append(automation)
        scheduler = Scheduler(
            access,
            lambda document, parameters, region: automation.start(
                document, parameters, region=region
            ),
            regions=(US,),
            clock=lambda: time.time() + ahead,
        )
        return scheduler, automation

    yield make
    for automation in made:
        automation.close()


def schedules(aws: Callable[..., Any]) -> list[dict[str, Any]]:
    listed = aws("scheduler").list_schedules(GroupName=GROUP)["Schedules"]
    return [aws("scheduler").get_schedule(Name=s["Name"], GroupName=GROUP) for s in listed]


def record(world: World, name: str = "api-hello") -> dict[str, Any] | None:
    """The fault record, decoded from its documented text (base64url JSON over indexed tags)."""
    tags = world.tags(name)
    chunks = sorted(
        (int(k.rsplit(":", 1)[1]), v)
        for k, v in tags.items()
        if k.startswith("chaosaws-serverless:fault:")
    )
    if not chunks:
        return None
    packed = "".join(v for _, v in chunks)
    return dict(json.loads(base64.urlsafe_b64decode(packed + "=" * (-len(packed) % 4))))


def state(world: World, name: str = "api-hello") -> dict[str, Any]:
    function = world.config(name)
    config = {k: v for k, v in function["Configuration"].items() if k not in VOLATILE}
    return {"configuration": config, "tags": world.tags(name)}


def test_injection_arms_a_one_time_schedule_that_restores_exactly_that_fault(
    armed: dict[str, Any], hello: str, world: World, aws: Callable[..., Any]
) -> None:
    started = dt.datetime.now(dt.UTC).replace(microsecond=0)
    result = actions.inject_latency(
        hello, 60000, region=US, deadline_seconds=900, configuration=armed
    )
    [schedule] = schedules(aws)
    # The record, written after the schedule, names it.
    assert record(world)["switch"] == schedule["Name"] == result["switch"]
    # Scheduler API: at(yyyy-mm-ddThh:mm:ss) in ScheduleExpressionTimezone; no flexible window.
    match = re.fullmatch(r"at\((\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\)", schedule["ScheduleExpression"])
    assert match, schedule["ScheduleExpression"]
    at = dt.datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=dt.UTC)
    # The deadline is when the restore has started at the latest: Scheduler fires within
    # the minute after the schedule's time, so that time is a minute before the deadline.
    assert 840 <= (at - started).total_seconds() <= 845
    assert schedule["ScheduleExpressionTimezone"] == "UTC"
    assert schedule["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert schedule["ActionAfterCompletion"] == "DELETE"
    assert schedule["State"] == "ENABLED"
    assert len(schedule["Description"]) <= 512
    # botocore's model: names are 1..64 of [0-9a-zA-Z-_.]
    shape = botocore.session.get_session().get_service_model("scheduler").shape_for("Name")
    assert re.fullmatch(shape.metadata["pattern"], schedule["Name"])
    assert len(schedule["Name"]) <= shape.metadata["max"]
    target = schedule["Target"]
    assert target["Arn"] == "arn:aws:scheduler:::aws-sdk:ssm:startAutomationExecution"
    assert target["RoleArn"] == armed["fault_switch_role_arn"]
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185}
    request = json.loads(target["Input"])  # StartAutomationExecution's request
    assert request == {
        "DocumentName": DOCUMENT,
        "Parameters": {
            "FunctionName": [hello],
            "ChaosMode": ["DISABLED"],
            "AutomationAssumeRole": [armed["automation_role_arn"]],
            "RestoreSwitch": [schedule["Name"]],
        },
    }
    fault = probes.get_fault_state(hello, region=US, configuration=armed)
    deadline = (at + dt.timedelta(seconds=60)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert fault["deadline"] == deadline == result["deadline"]
    assert fault["switch"] == schedule["Name"]


def test_the_switch_restores_the_function_when_the_process_is_gone(
    armed: dict[str, Any],
    hello: str,
    world: World,
    aws: Callable[..., Any],
    models: Callable[[float], tuple[Scheduler, Automation]],
) -> None:
    before = state(world)
    actions.inject_latency(hello, 60000, region=US, deadline_seconds=120, configuration=armed)
    assert state(world) != before
    early, _ = models(0)
    assert early.tick() == []  # not due yet
    scheduler, automation = models(120 + 60)  # past the deadline's minute
    [fired] = scheduler.tick()
    assert fired.outcome == "started", fired.detail
    assert automation.wait_all(120)
    assert automation.get(str(fired.execution_id))["AutomationExecutionStatus"] == "Success"
    assert state(world) == before
    assert schedules(aws) == []  # ActionAfterCompletion DELETE


def test_a_stale_switch_leaves_a_newer_fault_alone(
    armed: dict[str, Any],
    hello: str,
    world: World,
    aws: Callable[..., Any],
    models: Callable[[float], tuple[Scheduler, Automation]],
) -> None:
    actions.inject_latency(hello, 60000, region=US, deadline_seconds=120, configuration=armed)
    [stale] = schedules(aws)
    actions.remove_faults(hello, region=US, configuration=armed)
    assert schedules(aws) == []
    # A rollback that died after removing the fault and before deleting the schedule.
    kept = {k: stale[k] for k in ("Name", "GroupName", "ScheduleExpression", "Target")}
    aws("scheduler").create_schedule(
        **kept, FlexibleTimeWindow={"Mode": "OFF"}, ActionAfterCompletion="DELETE"
    )
    actions.inject_error(hello, 503, region=US, deadline_seconds=3600, configuration=armed)
    faulty = state(world)
    scheduler, automation = models(120 + 60)
    [fired] = scheduler.tick()
    assert fired.schedule == stale["Name"] and fired.outcome == "started"
    assert automation.wait_all(120)
    assert state(world) == faulty  # the newer fault's record names another switch
    assert [s["Name"] for s in schedules(aws)] == [record(world)["switch"]]


def test_rollback_from_a_fresh_process_deletes_the_switch(
    armed: dict[str, Any], hello: str, world: World, aws: Callable[..., Any]
) -> None:
    before = state(world)
    actions.inject_latency(hello, 60000, region=US, configuration=armed)
    assert len(schedules(aws)) == 1
    fresh = dict(armed)  # the record names the switch: nothing from the injecting process
    report = actions.remove_faults(hello, region=US, configuration=fresh)
    assert report["switch_disarmed"] is True
    assert state(world) == before
    assert schedules(aws) == []
    again = actions.remove_faults(hello, region=US, configuration=fresh)  # idempotent
    assert again["removed"] is False


def test_reinjection_in_place_replaces_the_switch(
    armed: dict[str, Any], hello: str, world: World, aws: Callable[..., Any]
) -> None:
    first = actions.inject_latency(hello, 60000, region=US, configuration=armed)
    second = actions.inject_latency(hello, 30000, region=US, configuration=armed)
    assert first["switch"] != second["switch"]
    assert [s["Name"] for s in schedules(aws)] == [second["switch"]]


def test_default_deadline_and_the_configuration_key(
    armed: dict[str, Any], hello: str, aws: Callable[..., Any]
) -> None:
    started = time.time()
    default = actions.inject_latency(hello, 60000, region=US, configuration=armed)
    at = dt.datetime.strptime(default["deadline"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    assert 4 * 3600 <= at.timestamp() - int(started) <= 4 * 3600 + 5
    actions.remove_faults(hello, region=US, configuration=armed)
    keyed = actions.inject_latency(
        hello, 60000, region=US, configuration={**armed, "fault_deadline_seconds": 600}
    )
    at = dt.datetime.strptime(keyed["deadline"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    assert 600 <= at.timestamp() - int(started) <= 605 + (time.time() - started)


@pytest.mark.parametrize(
    "change, named",
    [
        ({"fault_switch_role_arn": ""}, "fault_switch_role_arn"),
        ({"automation_role_arn": "chaos-automation"}, "automation_role_arn"),
        ({"fault_switch_document": "not-registered"}, "'not-registered' in us-east-1 is not"),
        ({"fault_deadline_seconds": 30}, "fault_deadline_seconds"),
        ({"fault_switch": "maybe"}, "fault_switch"),
    ],
)
def test_a_switch_that_cannot_be_armed_refuses_before_any_change(
    armed: dict[str, Any],
    hello: str,
    world: World,
    aws: Callable[..., Any],
    change: dict[str, Any],
    named: str,
) -> None:
    before = state(world)
    with pytest.raises(ActivityFailed) as refused:
        actions.inject_latency(hello, 60000, region=US, configuration={**armed, **change})
    message = str(refused.value)
    assert named in message and "\n" not in message
    assert "nothing was changed" in message
    assert state(world) == before
    assert schedules(aws) == []


def test_an_old_document_without_restore_mode_is_refused(
    armed: dict[str, Any], hello: str, world: World, aws: Callable[..., Any]
) -> None:
    old = (ROOT / "ssm" / "chaos-layer-automation.yaml").read_text(encoding="utf-8")
    old = old.replace("  RestoreSwitch:\n", "  NotRestoreSwitch:\n")
    aws("ssm").create_document(
        Content=old, Name="old-document", DocumentType="Automation", DocumentFormat="YAML"
    )
    before = state(world)
    with pytest.raises(ActivityFailed, match="has no RestoreSwitch parameter"):
        actions.inject_latency(
            hello,
            60000,
            region=US,
            configuration={**armed, "fault_switch_document": "old-document"},
        )
    assert state(world) == before


def test_a_failed_injection_leaves_no_switch(
    armed: dict[str, Any], world: World, aws: Callable[..., Any]
) -> None:
    world.layer()
    name = world.function(name="too-many-tags", tags={f"t{i}": "x" for i in range(50)})
    before = state(world, name)
    with pytest.raises(ActivityFailed, match="limit of 50 tags"):
        actions.inject_latency(name, 60000, region=US, configuration=armed)
    assert state(world, name) == before
    assert schedules(aws) == []


def test_off_says_explicitly_the_run_has_no_switch(
    configuration: dict[str, Any], hello: str, world: World, aws: Callable[..., Any]
) -> None:
    result = actions.inject_latency(hello, 60000, region=US, configuration=configuration)
    assert "switch" not in result and "switch" not in (record(world) or {})
    assert probes.get_fault_state(hello, region=US, configuration=configuration)["deadline"] is None


def test_tag_targets_arm_one_switch_per_function(
    armed: dict[str, Any], world: World, aws: Callable[..., Any]
) -> None:
    world.layer()
    names = [world.function(name=f"checkout-{i}", tags={"service": "checkout"}) for i in range(3)]
    actions.inject_latency_by_tags(
        {"service": "checkout"}, 3000, region=US, deadline_seconds=600, configuration=armed
    )
    armed_names = sorted(s["Name"] for s in schedules(aws))
    assert armed_names == sorted(str(record(world, n)["switch"]) for n in names)
    actions.remove_faults_by_tags({"service": "checkout"}, region=US, configuration=armed)
    assert schedules(aws) == []


def test_the_emergency_stop_deletes_orphaned_switches(
    armed: dict[str, Any], hello: str, world: World, aws: Callable[..., Any]
) -> None:
    before = state(world)
    actions.inject_latency(hello, 60000, region=US, configuration=armed)
    [first] = schedules(aws)
    actions.remove_faults(hello, region=US, configuration=armed)
    # A switch whose fault is gone (a rollback that died before deleting it) ...
    aws("scheduler").create_schedule(
        **{k: first[k] for k in ("Name", "GroupName", "ScheduleExpression", "Target")},
        FlexibleTimeWindow={"Mode": "OFF"},
    )
    # ... and a fault with its switch: the stop removes the fault, then every switch left.
    actions.inject_latency(hello, 60000, region=US, configuration=armed)
    assert len(schedules(aws)) == 2
    result = actions.remove_all_faults(region=US, configuration=armed)
    assert result["regions"][0]["restored"] == 1
    assert result["regions"][0]["switches_deleted"] == 1
    assert schedules(aws) == []
    assert state(world) == before
