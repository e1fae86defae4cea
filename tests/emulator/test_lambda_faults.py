"""Lambda fault injection against the moto server: inject, observe, roll back exactly."""

import io
import json
import subprocess
import sys
import zipfile
from collections.abc import Callable
from typing import Any

import pytest

from chaosaws_serverless.awslambda import actions, probes
from chaosaws_serverless.awslambda._record import RECORD_TAG_PREFIX

US, EU = "us-east-1", "eu-west-1"
WRAPPER = "AWS_LAMBDA_EXEC_WRAPPER"
ENABLE_LATENCY = "CHAOS_EXTENSION__LAMBDA__ENABLE_LATENCY"
LATENCY_VALUE = "CHAOS_EXTENSION__LAMBDA__LATENCY_VALUE"


def code_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return {'statusCode': 200}\n")
    return buffer.getvalue()


class World:
    """Arrange functions and layers in moto and read their state back."""

    def __init__(self, aws: Callable[..., Any], configuration: dict[str, Any]) -> None:
        self.aws = aws
        self.configuration = configuration
        self.role = aws("iam").create_role(RoleName="lambda-role", AssumeRolePolicyDocument="{}")[
            "Role"
        ]["Arn"]
        self.layer_arns: dict[str, str] = {}

    def layer(self, region: str = US, name: str = "chaos-lambda-extension", **kw: Any) -> str:
        arn = self.aws("lambda", region).publish_layer_version(
            LayerName=name, Content={"ZipFile": code_zip()}, **kw
        )["LayerVersionArn"]
        if name == "chaos-lambda-extension":
            self.layer_arns[region] = arn
            self.configuration["chaos_layer_arns"] = dict(self.layer_arns)
        return arn

    def function(
        self,
        name: str = "api-hello",
        region: str = US,
        env: dict[str, str] | None = None,
        layers: list[str] | None = None,
        tags: dict[str, str] | None = None,
        **kw: Any,
    ) -> str:
        params: dict[str, Any] = {
            "FunctionName": name,
            "Runtime": "python3.12",
            "Role": self.role,
            "Handler": "app.handler",
            "Code": {"ZipFile": code_zip()},
            **kw,
        }
        if env is not None:
            params["Environment"] = {"Variables": env}
        if layers:
            params["Layers"] = layers
        if tags:
            params["Tags"] = tags
        self.aws("lambda", region).create_function(**params)
        return name

    def config(self, name: str = "api-hello", region: str = US, qualifier: str = "") -> Any:
        params = {"FunctionName": name, **({"Qualifier": qualifier} if qualifier else {})}
        return self.aws("lambda", region).get_function(**params)

    def env(self, name: str = "api-hello", region: str = US, qualifier: str = "") -> dict:
        return dict(
            (self.config(name, region, qualifier)["Configuration"].get("Environment") or {}).get(
                "Variables"
            )
            or {}
        )

    def layers(self, name: str = "api-hello", region: str = US, qualifier: str = "") -> list:
        config = self.config(name, region, qualifier)["Configuration"]
        return [layer["Arn"] for layer in config.get("Layers") or []]

    def tags(self, name: str = "api-hello", region: str = US) -> dict:
        return dict(self.config(name, region).get("Tags") or {})

    def set_env(self, env: dict[str, str], name: str = "api-hello", region: str = US) -> None:
        self.aws("lambda", region).update_function_configuration(
            FunctionName=name, Environment={"Variables": env}
        )


@pytest.fixture
def world(aws: Callable[..., Any], configuration: dict[str, Any]) -> World:
    return World(aws, configuration)


def test_latency_round_trip_keeps_other_layers_and_variables(world: World) -> None:
    other = world.layer(name="powertools")
    chaos = world.layer()
    world.function(env={"TABLE": "orders", "SECRET": "s3cr3t"}, layers=[other], tags={"team": "a"})
    result = actions.inject_latency(
        "api-hello", latency_ms=1500, probability=0.5, configuration=world.configuration
    )
    assert result["fault"] == "latency" and result["latency_ms"] == 1500
    assert "s3cr3t" not in json.dumps(result)
    assert world.layers() == [other, chaos]
    env = world.env()
    assert env[WRAPPER] == "/opt/bootstrap"
    assert env[LATENCY_VALUE] == "2"  # rounded up to whole seconds
    assert env["TABLE"] == "orders" and env["SECRET"] == "s3cr3t"
    assert any(k.startswith(RECORD_TAG_PREFIX) for k in world.tags())
    state = probes.get_fault_state("api-hello", configuration=world.configuration)
    assert state["injected"] is True and state["fault"] == "latency"
    assert state["latency_ms"] == 2000 and state["probability"] == 0.5
    assert state["since"] and "s3cr3t" not in json.dumps(state)
    assert probes.fault_is_injected("api-hello", configuration=world.configuration)

    removed = actions.remove_faults("api-hello", configuration=world.configuration)
    assert removed["removed"] is True and removed["removed_layers"] == [chaos]
    assert "s3cr3t" not in json.dumps(removed)
    assert world.layers() == [other]
    assert world.env() == {"TABLE": "orders", "SECRET": "s3cr3t"}
    assert world.tags() == {"team": "a"}
    assert not probes.fault_is_injected("api-hello", configuration=world.configuration)
    again = actions.remove_faults("api-hello", configuration=world.configuration)
    assert again["removed"] is False
    assert world.env() == {"TABLE": "orders", "SECRET": "s3cr3t"}


def test_error_fault_then_rollback_from_a_new_process(world: World) -> None:
    world.layer(EU)
    world.function(region=EU, env={"A": "1"})
    actions.inject_error(
        "api-hello",
        status_code=503,
        probability=0.25,
        region=EU,
        configuration=world.configuration,
    )
    state = probes.get_fault_state("api-hello", region=EU, configuration=world.configuration)
    assert state["fault"] == "error" and state["status_code"] == 503
    assert state["probability"] == 0.25
    script = (
        "import json, sys\n"
        "from chaosaws_serverless.awslambda.actions import remove_faults\n"
        "print(json.dumps(remove_faults('api-hello', region='eu-west-1',"
        " configuration=json.loads(sys.argv[1]))))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, json.dumps(world.configuration)],
        check=True,
        capture_output=True,
        text=True,
    )
    assert json.loads(out.stdout.strip().splitlines()[-1])["removed"] is True
    assert world.env(region=EU) == {"A": "1"}
    assert world.layers(region=EU) == []
