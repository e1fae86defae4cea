"""The package's FIS templates, run by the FIS model (and the SSM model) on the moto server.

The judges are ``chaosaws_serverless/lab/fis/`` and ``lab/ssm/``
(the FIS and SSM user guides, no import of the package's FIS, SSM or Lambda code); the
templates are ``fis.templates``' output, stored in moto as ``create_experiment_template``
stores them. Durations run 2 % of their length.
"""

import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from chaosaws_serverless.fis.faults import LambdaFault
from chaosaws_serverless.fis.templates import build_lambda_fault_template
from chaosaws_serverless.lab.fis import ExperimentError, Experiments
from chaosaws_serverless.lab.ssm import Automation, AwsAccess, Clock, ScriptRunner
from tests.support.lambdas import code_zip

US = "us-east-1"
ACCOUNT = "123456789012"
FIS_ROLE = f"arn:aws:iam::{ACCOUNT}:role/fis-experiment"
DOCUMENT = "chaosaws-serverless-chaos-layer"
ROOT = Path(__file__).resolve().parents[2]
VOLATILE = ("LastModified", "RevisionId", "LastUpdateStatus", "LastUpdateStatusReason")


class Lab:
    def __init__(self, aws: Callable[..., Any], endpoint: str, runner: ScriptRunner) -> None:
        self.aws = aws
        self.lam = aws("lambda")
        self.role = aws("iam").create_role(RoleName="automation", AssumeRolePolicyDocument="{}")[
            "Role"
        ]["Arn"]
        self.layer = self.lam.publish_layer_version(
            LayerName="chaos-lambda-extension", Content={"ZipFile": code_zip()}
        )["LayerVersionArn"]
        aws("ssm").create_document(
            Content=(ROOT / "ssm" / "chaos-layer-automation.yaml").read_text(encoding="utf-8"),
            Name=DOCUMENT,
            DocumentType="Automation",
            DocumentFormat="YAML",
        )
        access = AwsAccess(endpoint)
        self.automation = Automation(access, runner, clock=Clock(wait_scale=0.02))
        self.fis = Experiments(access, self.automation, alarm_poll_seconds=0.2)

    def function(self, env: dict[str, str] | None = None) -> str:
        name = f"fn-{uuid.uuid4().hex[:8]}"
        self.lam.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=self.role,
            Handler="app.handler",
            Code={"ZipFile": code_zip()},
            Environment={"Variables": {"TABLE": "orders", **(env or {})}},
            Tags={"team": "payments"},
        )
        return name

    def state(self, name: str) -> dict[str, Any]:
        function = self.lam.get_function(FunctionName=name)
        config = {k: v for k, v in function["Configuration"].items() if k not in VOLATILE}
        return {"configuration": config, "tags": function.get("Tags") or {}}

    def faulty(self, name: str) -> bool:
        env = self.lam.get_function(FunctionName=name)["Configuration"]["Environment"]["Variables"]
        return env.get("CHAOS_EXTENSION__LAMBDA__ENABLE_LATENCY") == "true"

    def template(self, names: list[str], mode: str = "ssm-automation", **options: Any) -> str:
        faults = [LambdaFault(n, "latency", latency_ms=5000) for n in names]
        built = build_lambda_fault_template(
            faults,
            60,
            FIS_ROLE,
            US,
            mode=mode,
            layer_arn=self.layer,
            automation_role_arn=self.role,
            **options,
        )
        return self.store(built)

    def store(self, template: dict[str, Any]) -> str:
        created = self.aws("fis").create_experiment_template(
            clientToken=str(uuid.uuid4()), **template
        )
        return str(created["experimentTemplate"]["id"])

    def settle(self) -> None:
        assert self.automation.wait_all(60), "an automation never ended"

    def wait_for(self, check: Callable[[], bool], timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            assert time.monotonic() < deadline, "condition never met"
            time.sleep(0.05)


@pytest.fixture
def lab(
    aws: Callable[..., Any], configuration: dict[str, Any], script_runner: ScriptRunner
) -> Iterator[Lab]:
    made = Lab(aws, configuration["aws_endpoint_url"], script_runner)
    yield made
    made.fis.close()
    made.automation.close()


def test_an_ssm_automation_template_completes_and_leaves_the_functions_as_they_were(
    lab: Lab,
) -> None:
    names = [lab.function(), lab.function()]
    before = [lab.state(n) for n in names]
    experiment = lab.fis.start(lab.template(names), region=US)
    lab.wait_for(lambda: all(lab.faulty(n) for n in names))
    assert lab.fis.wait(experiment["id"], 60) == "completed"
    lab.settle()
    assert [lab.state(n) for n in names] == before
    assert lab.automation.started_count() == 4  # a run and its restore per function
    actions = lab.fis.get(experiment["id"])["actions"]
    assert {a["state"]["status"] for a in actions.values()} == {"completed"}


@pytest.mark.parametrize("how", ["stop_experiment", "stop_condition"])
def test_a_stopped_experiment_restores_its_functions_by_itself(
    lab: Lab, aws: Callable[..., Any], how: str
) -> None:
    """No package rollback runs here: the template alone must leave nothing behind."""
    cloudwatch = aws("cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName="customers-errors",
        MetricName="status_5xx",
        Namespace="test",
        Statistic="Sum",
        Period=10,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanThreshold",
    )
    alarm = f"arn:aws:cloudwatch:{US}:{ACCOUNT}:alarm:customers-errors"
    name = lab.function()
    before = lab.state(name)
    experiment = lab.fis.start(lab.template([name], stop_alarm_arns=[alarm]), region=US)
    lab.wait_for(lambda: lab.faulty(name))
    if how == "stop_experiment":
        lab.fis.stop(experiment["id"])
        reason = "by request"
    else:
        cloudwatch.set_alarm_state(
            AlarmName="customers-errors", StateValue="ALARM", StateReason="t"
        )
        reason = "stop condition"
    assert lab.fis.wait(experiment["id"], 60) == "stopped"
    assert reason in lab.fis.get(experiment["id"])["state"]["reason"]
    lab.settle()
    assert lab.state(name) == before


def test_the_earlier_three_action_template_left_the_fault_on_when_stopped(lab: Lab) -> None:
    """The shape the package shipped before: enable -> aws:fis:wait -> disable. The model
    finds its defect: stopped during the wait, the disable action is cancelled."""
    name = lab.function()
    params = {
        "FunctionName": name,
        "LayerArn": lab.layer,
        "AutomationAssumeRole": lab.role,
        "LatencyMs": "5000",
    }
    document = f"arn:aws:ssm:{US}:{ACCOUNT}:document/{DOCUMENT}"

    def automation(mode: str) -> dict[str, Any]:
        return {
            "actionId": "aws:ssm:start-automation-execution",
            "parameters": {
                "documentArn": document,
                "documentParameters": json.dumps({**params, "ChaosMode": mode}),
                "maxDuration": "PT10M",
            },
        }

    template = {
        "description": "enable, wait, disable",
        "targets": {},
        "actions": {
            "enable": automation("ENABLED"),
            "wait": {
                "actionId": "aws:fis:wait",
                "parameters": {"duration": "PT1M"},
                "startAfter": ["enable"],
            },
            "disable": {**automation("DISABLED"), "startAfter": ["wait"]},
        },
        "stopConditions": [{"source": "none"}],
        "roleArn": FIS_ROLE,
    }
    experiment = lab.fis.start(lab.store(template), region=US)
    lab.wait_for(
        lambda: lab.fis.get(experiment["id"])["actions"]["wait"]["state"]["status"] == "running"
    )
    lab.fis.stop(experiment["id"])
    assert lab.fis.wait(experiment["id"], 60) == "stopped"
    actions = lab.fis.get(experiment["id"])["actions"]
    assert actions["disable"]["state"]["status"] == "cancelled"
    lab.settle()
    assert lab.faulty(name)  # nothing restored it


def test_fis_extension_actions_hand_the_fault_to_the_functions_for_their_duration(
    lab: Lab, aws: Callable[..., Any]
) -> None:
    aws("s3").create_bucket(Bucket="fis-configs")
    location = "arn:aws:s3:::fis-configs/FisConfigs/"
    name = lab.function({"AWS_FIS_CONFIGURATION_LOCATION": location})
    experiment = lab.fis.start(lab.template([name], mode="fis-extension"), region=US)

    def objects() -> list[dict[str, Any]]:
        listed = aws("s3").list_objects_v2(Bucket="fis-configs", Prefix=f"FisConfigs/{name}/")
        return [
            json.loads(aws("s3").get_object(Bucket="fis-configs", Key=o["Key"])["Body"].read())
            for o in listed.get("Contents", [])
        ]

    lab.wait_for(lambda: bool(objects()))
    (fault,) = objects()
    assert fault["actionId"] == "aws:lambda:invocation-add-delay"
    assert fault["parameters"]["startupDelayMilliseconds"] == "5000"
    assert fault["parameters"]["invocationPercentage"] == "100"
    assert lab.fis.wait(experiment["id"], 60) == "completed"
    assert objects() == []


def test_a_function_without_the_fis_extension_fails_the_action(lab: Lab) -> None:
    name = lab.function()
    experiment = lab.fis.start(lab.template([name], mode="fis-extension"), region=US)
    assert lab.fis.wait(experiment["id"], 60) == "failed"
    assert "AWS_FIS_CONFIGURATION_LOCATION" in lab.fis.get(experiment["id"])["state"]["reason"]


def test_templates_fis_would_refuse_are_refused(lab: Lab) -> None:
    template = {
        "description": "too short",
        "targets": {},
        "actions": {"wait": {"actionId": "aws:fis:wait", "parameters": {"duration": "PT30S"}}},
        "stopConditions": [{"source": "none"}],
        "roleArn": FIS_ROLE,
    }
    with pytest.raises(ExperimentError, match="1 minute to 12 hours"):
        lab.fis.start(lab.store(template), region=US)
