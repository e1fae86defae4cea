"""The lab's control plane: the package's own SSM and FIS activities, over HTTP, run by the models.

The front (``chaosaws_serverless/lab/control_plane.py``) stands before the fixtures' moto
server, as the lab's endpoint does: every call below is the package's activity or plain
boto3, unaware that automations and experiments are the models' and the rest is moto's.
"""

import io
import time
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from chaosaws_serverless.aws import clear_client_cache
from chaosaws_serverless.fis import actions as fis_actions
from chaosaws_serverless.fis.templates import build_lambda_latency_template
from chaosaws_serverless.lab.control_plane import ControlPlane, serve
from chaosaws_serverless.ssm import actions as ssm_actions
from chaosaws_serverless.ssm import probes as ssm_probes

US = "us-east-1"
SECRETS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@pytest.fixture
def front(configuration: dict[str, Any]) -> Iterator[dict[str, Any]]:
    plane = ControlPlane(configuration["aws_endpoint_url"], regions=(US,), alarm_seconds=0.2)
    server = serve(plane)
    host, port = server.server_address[:2]
    clear_client_cache()
    yield {**configuration, "aws_endpoint_url": f"http://{host}:{port}"}
    server.shutdown()
    plane.close()
    clear_client_cache()


def client(front: dict[str, Any], service: str) -> Any:
    return boto3.client(service, region_name=US, endpoint_url=front["aws_endpoint_url"])


def code_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return {}\n")
    return buffer.getvalue()


@pytest.fixture
def function(front: dict[str, Any]) -> dict[str, str]:
    lam, iam = client(front, "lambda"), client(front, "iam")
    role = iam.create_role(RoleName="automation", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    layer = lam.publish_layer_version(LayerName="chaos", Content={"ZipFile": code_zip()})[
        "LayerVersionArn"
    ]
    lam.create_function(
        FunctionName="hello",
        Runtime="python3.12",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": code_zip()},
        Environment={"Variables": {"TABLE": "orders"}},
    )
    ssm_actions.register_automation_document(configuration=front, secrets=SECRETS)
    return {"role": role, "layer": layer}


def environment(front: dict[str, Any]) -> dict[str, str]:
    config = client(front, "lambda").get_function_configuration(FunctionName="hello")
    return dict(config["Environment"]["Variables"])


def test_start_automation_runs_the_document_and_stop_automation_cancels_it(
    front: dict[str, Any], function: dict[str, str]
) -> None:
    started = ssm_actions.start_automation(
        "chaosaws-serverless-chaos-layer",
        {
            "FunctionName": "hello",
            "LayerArn": function["layer"],
            "AutomationAssumeRole": function["role"],
            "Duration": "PT10M",
        },
        configuration=front,
        secrets=SECRETS,
    )
    deadline = time.monotonic() + 30
    while "CHAOS_EXTENSION__LAMBDA__ENABLE_LATENCY" not in environment(front):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    cancelled = ssm_actions.stop_automation(configuration=front, secrets=SECRETS)
    assert cancelled == [started["execution_id"]]
    deadline = time.monotonic() + 60
    status = ""
    while status not in ("Cancelled", "Success", "Failed"):
        assert time.monotonic() < deadline
        time.sleep(0.2)
        status = ssm_probes.get_automation_status(
            started["execution_id"], configuration=front, secrets=SECRETS
        )
    assert status == "Cancelled"
    deadline = time.monotonic() + 60
    while environment(front) != {"TABLE": "orders"}:  # the restore child runs on
        assert time.monotonic() < deadline
        time.sleep(0.2)


def test_errors_come_back_as_the_services_codes(front: dict[str, Any]) -> None:
    with pytest.raises(ClientError) as missing:
        client(front, "ssm").get_automation_execution(AutomationExecutionId="0" * 36)
    assert missing.value.response["Error"]["Code"] == "AutomationExecutionNotFoundException"
    with pytest.raises(ClientError) as gone:
        client(front, "fis").get_experiment(id="EXPnope")
    assert gone.value.response["Error"]["Code"] == "ResourceNotFoundException"
    # Everything else is moto's.
    assert client(front, "lambda").list_functions()["Functions"] == []


def test_fis_experiments_run_and_stop_through_the_package_s_activities(
    front: dict[str, Any], function: dict[str, str]
) -> None:
    template = build_lambda_latency_template(
        ["hello"],
        5000,
        600,
        "arn:aws:iam::123456789012:role/fis",
        US,
        layer_arn=function["layer"],
        automation_role_arn=function["role"],
        tags={"Name": "lab"},
    )
    fis_actions.create_experiment_template(template, configuration=front, secrets=SECRETS)
    started = fis_actions.start_experiment("lab", wait=False, configuration=front, secrets=SECRETS)
    deadline = time.monotonic() + 30
    while "CHAOS_EXTENSION__LAMBDA__ENABLE_LATENCY" not in environment(front):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    stopped = fis_actions.stop_experiment(configuration=front, secrets=SECRETS)
    assert stopped["stopped"] == [started["experiment_id"]]
    state = client(front, "fis").get_experiment(id=started["experiment_id"])["experiment"]["state"]
    assert state["status"] == "stopped"
    deadline = time.monotonic() + 60
    while environment(front) != {"TABLE": "orders"}:
        assert time.monotonic() < deadline
        time.sleep(0.2)


def test_alarms_are_evaluated_from_the_metrics(
    front: dict[str, Any], aws: Callable[..., Any]
) -> None:
    cloudwatch = client(front, "cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName="errors",
        Namespace="lab",
        MetricName="status_5xx",
        Statistic="Sum",
        Period=10,
        EvaluationPeriods=1,
        Threshold=5,
        ComparisonOperator="GreaterThanThreshold",
        TreatMissingData="notBreaching",
    )

    def state() -> str:
        return str(
            cloudwatch.describe_alarms(AlarmNames=["errors"])["MetricAlarms"][0]["StateValue"]
        )

    deadline = time.monotonic() + 10
    while state() != "OK":  # no data, not breaching
        assert time.monotonic() < deadline
        time.sleep(0.2)
    # Errors in the last complete period: the alarm fires once that period has ended.
    now = time.time()
    start = now - now % 10 - 10
    cloudwatch.put_metric_data(
        Namespace="lab",
        MetricData=[
            {"MetricName": "status_5xx", "Value": 3, "Timestamp": start + 1},
            {"MetricName": "status_5xx", "Value": 4, "Timestamp": start + 5},
        ],
    )
    deadline = time.monotonic() + 10
    while state() != "ALARM":
        assert time.monotonic() < deadline
        time.sleep(0.2)
