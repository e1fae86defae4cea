"""The SSM document's script against the moto server: it behaves exactly like the package.

moto does not run automations, so the script itself is the unit under test: its
``handler`` gets the InputPayload the document passes. The script is generated
from the package's engine; it runs here both as the package's module
(``ssm.automation_step``) and as the text the document holds. Each scenario is
checked against ``inject_latency``/``remove_faults`` on a twin function, and
across: the script's fault is removed by ``remove_faults`` and
``inject_latency``'s by the script's DISABLED mode.
"""

import contextlib
import json
import types
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from chaoslib.exceptions import ActivityFailed

from chaosaws_serverless.awslambda import actions
from chaosaws_serverless.awslambda.engine import calls
from chaosaws_serverless.awslambda.engine.record import RECORD_TAG_PREFIX, decode
from chaosaws_serverless.ssm import automation_step, document
from tests.support.lambdas import code_zip

US = "us-east-1"
ORIGINAL_ENV = {
    "TABLE": "orders",
    "SECRET": "s3cr3t",
    "CHAOS_EXTENSION__LAMBDA__LATENCY_VALUE": "5",
}


def load(source: str, name: str) -> types.ModuleType:
    module = types.ModuleType(name)
    exec(compile(source, name, "exec"), module.__dict__)
    module.sleep = lambda seconds: None  # no real backoff in tests
    return module


@pytest.fixture(params=["package", "document"])
def script(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    """The step's handler as the package's module and as the script the document holds."""
    if request.param == "package":
        monkeypatch.setattr(calls, "sleep", lambda seconds: None)
        return automation_step
    scripts = document.embedded_scripts(document.document_path().read_text(encoding="utf-8"))
    assert len(scripts) == 1
    return load(scripts[0], "document_script")


@pytest.fixture
def env_endpoint(configuration: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # The script builds plain boto3 clients, as in AWS; boto3 honours AWS_ENDPOINT_URL.
    monkeypatch.setenv("AWS_ENDPOINT_URL", configuration["aws_endpoint_url"])
    monkeypatch.setenv("AWS_DEFAULT_REGION", US)
    yield


class Stack:
    """Functions, a layer and an alias in moto, and the state the assertions compare."""

    def __init__(self, aws: Callable[..., Any], configuration: dict[str, Any]) -> None:
        self.lam = aws("lambda")
        self.configuration = configuration
        self.role = aws("iam").create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"][
            "Arn"
        ]
        self.other_layer = self._layer("powertools")
        self.layer = self._layer("chaos-lambda-extension")
        configuration["chaos_layer_arns"] = {US: self.layer}

    def _layer(self, name: str) -> str:
        return self.lam.publish_layer_version(LayerName=name, Content={"ZipFile": code_zip()})[
            "LayerVersionArn"
        ]

    def function(self, name: str, alias: bool = False) -> str:
        self.lam.create_function(
            FunctionName=name,
            Runtime="python3.11",
            Role=self.role,
            Handler="app.handler",
            Code={"ZipFile": code_zip()},
            Environment={"Variables": dict(ORIGINAL_ENV)},
            Layers=[self.other_layer],
            Tags={"team": "payments"},
        )
        if alias:
            version = self.lam.publish_version(FunctionName=name)["Version"]
            self.lam.create_alias(FunctionName=name, Name="live", FunctionVersion=version)
        return name

    def state(self, name: str, alias: bool = False) -> dict[str, Any]:
        """What rollback must restore: $LATEST, tags, alias target and versions."""
        function = self.lam.get_function(FunctionName=name)
        config = function["Configuration"]
        state = {
            "env": (config.get("Environment") or {}).get("Variables") or {},
            "layers": [layer["Arn"] for layer in config.get("Layers") or []],
            "tags": function.get("Tags") or {},
        }
        if alias:
            state["alias"] = self.lam.get_alias(FunctionName=name, Name="live")["FunctionVersion"]
            state["versions"] = [
                v["Version"]
                for v in self.lam.list_versions_by_function(FunctionName=name)["Versions"]
            ]
        return state

    def faulty(self, name: str, alias: bool) -> dict[str, Any]:
        """The configuration the fault runs with (the alias's version, else $LATEST)."""
        qualifier = {"Qualifier": "live"} if alias else {}
        config = self.lam.get_function(FunctionName=name, **qualifier)["Configuration"]
        return {
            "env": (config.get("Environment") or {}).get("Variables") or {},
            "layers": [layer["Arn"] for layer in config.get("Layers") or []],
        }

    def record(self, name: str) -> Any:
        return decode(self.lam.get_function(FunctionName=name).get("Tags") or {})

    def payload(self, name: str, mode: str, alias: bool, **extra: str) -> dict[str, str]:
        return {
            "FunctionName": name,
            "LayerArn": self.layer,
            "ChaosMode": mode,
            "AliasName": "live" if alias else "",
            "LatencyMs": "60000",
            "Probability": "0.5",
            "ExecutionId": "0123abcd-0123-abcd-0123-0123456789ab",
            **extra,
        }


def comparable(record: Any) -> dict[str, Any]:
    """A record without who, when and the faulty version's number."""
    data = {**record.to_json(), "by": "", "at": ""}
    if data["alias"]:
        data["alias"] = {**data["alias"], "faulty_version": "n"}
    return data


@pytest.fixture
def stack(aws: Callable[..., Any], configuration: dict[str, Any], env_endpoint: None) -> Stack:
    return Stack(aws, configuration)


@pytest.mark.parametrize("alias", [False, True], ids=["latest", "alias"])
def test_enabled_then_disabled_matches_inject_latency_then_remove_faults(
    stack: Stack, script: types.ModuleType, alias: bool
) -> None:
    ours, twin = stack.function("by-script", alias), stack.function("by-package", alias)
    before = stack.state(ours, alias)

    output = script.handler(stack.payload(ours, "ENABLED", alias), {})
    assert output["result"] == f"latency fault injected on {'live' if alias else '$LATEST'}"
    actions.inject_latency(
        twin, 60000, 0.5, alias="live" if alias else None, configuration=stack.configuration
    )
    # The same faulty configuration, the same record (but who and when).
    assert stack.faulty(ours, alias) == stack.faulty(twin, alias)
    assert stack.faulty(ours, alias)["layers"] == [stack.other_layer, stack.layer]
    ours_record = stack.record(ours)
    assert ours_record.by == "ssm-automation:0123abcd-0123-abcd-0123-0123456789ab"
    assert comparable(ours_record) == comparable(stack.record(twin))
    if alias:
        assert stack.state(ours)["env"] == ORIGINAL_ENV  # $LATEST untouched

    removed = script.handler(stack.payload(ours, "DISABLED", alias), {})
    assert removed["result"] == f"latency fault on {'live' if alias else '$LATEST'} removed"
    actions.remove_faults(twin, configuration=stack.configuration)
    assert stack.state(ours, alias) == before
    assert stack.state(twin, alias) == before
    # Idempotent, like remove_faults.
    assert script.handler(stack.payload(ours, "DISABLED", alias), {})["result"] == (
        "no fault recorded"
    )


@pytest.mark.parametrize("alias", [False, True], ids=["latest", "alias"])
def test_remove_faults_rolls_back_the_script_s_injection(
    stack: Stack, script: types.ModuleType, alias: bool
) -> None:
    name = stack.function("hello", alias)
    before = stack.state(name, alias)
    script.handler(stack.payload(name, "ENABLED", alias), {})
    removed = actions.remove_faults(name, configuration=stack.configuration)
    assert removed["removed"] and removed["injected_by"].startswith("ssm-automation:")
    assert stack.state(name, alias) == before


@pytest.mark.parametrize("alias", [False, True], ids=["latest", "alias"])
def test_the_script_rolls_back_inject_latency(
    stack: Stack, script: types.ModuleType, alias: bool
) -> None:
    name = stack.function("hello", alias)
    before = stack.state(name, alias)
    actions.inject_latency(
        name, 2000, alias="live" if alias else None, configuration=stack.configuration
    )
    script.handler(stack.payload(name, "DISABLED", alias), {})
    assert stack.state(name, alias) == before


def test_a_change_made_during_the_fault_survives_the_rollback(
    stack: Stack, script: types.ModuleType
) -> None:
    name = stack.function("hello")
    script.handler(stack.payload(name, "ENABLED", False), {})
    env = stack.faulty(name, False)["env"]
    env["TABLE"] = "orders-v2"  # someone else's deploy
    env["CHAOS_EXTENSION__LAMBDA__LATENCY_VALUE"] = "7"  # someone tuned the fault by hand
    stack.lam.update_function_configuration(FunctionName=name, Environment={"Variables": env})
    script.handler(stack.payload(name, "DISABLED", False), {})
    assert stack.state(name)["env"] == {
        **ORIGINAL_ENV,
        "TABLE": "orders-v2",
        "CHAOS_EXTENSION__LAMBDA__LATENCY_VALUE": "7",
    }
    assert stack.state(name)["layers"] == [stack.other_layer]


def test_a_second_enabled_updates_in_place_only_for_the_same_execution(
    stack: Stack, script: types.ModuleType
) -> None:
    name = stack.function("hello")
    before = stack.state(name)
    script.handler(stack.payload(name, "ENABLED", False), {})
    output = script.handler(stack.payload(name, "ENABLED", False, LatencyMs="3000"), {})
    assert output["replaced_previous_fault"] is True
    faulty = stack.faulty(name, False)
    assert faulty["env"]["CHAOS_EXTENSION__LAMBDA__LATENCY_VALUE"] == "3"
    assert faulty["layers"] == [stack.other_layer, stack.layer]  # never stacked
    # Another execution (another experiment) is refused, naming the first, like inject_latency.
    other = stack.payload(
        name, "ENABLED", False, ExecutionId="fedcba98-0000-0000-0000-000000000000"
    )
    with pytest.raises(script.FaultError, match="injected by ssm-automation:0123abcd"):
        script.handler(other, {})
    with pytest.raises(ActivityFailed, match="injected by ssm-automation:0123abcd"):
        actions.inject_latency(name, 1000, configuration=stack.configuration)
    actions.remove_faults(name, configuration=stack.configuration)
    assert stack.state(name) == before


def test_the_script_refuses_a_fault_inject_latency_made(
    stack: Stack, script: types.ModuleType
) -> None:
    name = stack.function("hello")
    actions.inject_latency(name, 1000, configuration=stack.configuration)
    injected = stack.state(name)
    with pytest.raises(script.FaultError, match="faults never stack"):
        script.handler(stack.payload(name, "ENABLED", False), {})
    assert stack.state(name) == injected


def test_refusals_change_nothing(stack: Stack, script: types.ModuleType) -> None:
    name = stack.function("hello")
    stack.lam.update_function_configuration(
        FunctionName=name,
        Environment={"Variables": {**ORIGINAL_ENV, "AWS_LAMBDA_EXEC_WRAPPER": "/opt/otel"}},
    )
    before = stack.state(name)
    with pytest.raises(script.FaultError, match="already has AWS_LAMBDA_EXEC_WRAPPER='/opt/otel'"):
        script.handler(stack.payload(name, "ENABLED", False), {})
    with pytest.raises(script.FaultError, match=r"LatencyMs must be a whole number .* got '0'"):
        script.handler(stack.payload(name, "ENABLED", False, LatencyMs="0"), {})
    other_region = stack.layer.replace(US, "eu-west-1")
    with pytest.raises(script.FaultError, match="is in eu-west-1 but the function is in us-east-1"):
        script.handler(stack.payload(name, "ENABLED", False, LayerArn=other_region), {})
    with pytest.raises(script.FaultError, match="ChaosMode must be ENABLED or DISABLED"):
        script.handler(stack.payload(name, "PAUSED", False), {})
    with pytest.raises(script.FaultError, match="ResourceNotFoundException"):
        script.handler(stack.payload("nope", "ENABLED", False), {})
    assert stack.state(name) == before


def test_restore_of_an_execution_removes_only_that_execution_s_fault(
    stack: Stack, script: types.ModuleType
) -> None:
    name = stack.function("hello")
    before = stack.state(name)
    script.handler(stack.payload(name, "ENABLED", False), {})
    faulty = stack.state(name)
    other = script.handler(stack.payload(name, "DISABLED", False, RestoreOf="fedcba98"), {})
    assert other["removed"] is False and "left as it is" in other["result"]
    assert stack.state(name) == faulty
    own = script.handler(
        stack.payload(name, "DISABLED", False, RestoreOf="0123abcd-0123-abcd-0123-0123456789ab"),
        {},
    )
    assert own["result"] == "latency fault on $LATEST removed"
    assert stack.state(name) == before
    assert not any(k.startswith(RECORD_TAG_PREFIX) for k in stack.state(name)["tags"])
    # Nothing recorded: a restore of any execution is a no-op.
    assert (
        script.handler(stack.payload(name, "DISABLED", False, RestoreOf="x"), {})["result"]
        == "no fault recorded"
    )


def test_another_version_of_the_chaos_layer_is_used_as_it_is(
    stack: Stack, script: types.ModuleType
) -> None:
    old = stack.layer
    stack.layer = stack._layer("chaos-lambda-extension")  # version 2 of the same layer
    name = stack.function("hello")
    stack.lam.update_function_configuration(FunctionName=name, Layers=[stack.other_layer, old])
    twin = stack.function("twin")
    stack.lam.update_function_configuration(FunctionName=twin, Layers=[stack.other_layer, old])
    before = stack.state(name)
    script.handler(stack.payload(name, "ENABLED", False), {})
    actions.inject_latency(
        twin, 60000, 0.5, layer_arn=stack.layer, configuration=stack.configuration
    )
    assert stack.faulty(name, False) == stack.faulty(twin, False)
    assert stack.faulty(name, False)["layers"] == [stack.other_layer, old]
    script.handler(stack.payload(name, "DISABLED", False), {})
    assert stack.state(name) == before


def test_a_concurrent_injection_by_the_package_is_absorbed_then_rolled_back(
    stack: Stack, script: types.ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race made deterministic: the script reads the clean function, the package
    injects an error fault, then the script's update meets a 409 and re-reads."""
    name = stack.function("hello")
    before = stack.state(name)
    lam = boto3.client("lambda", region_name=US)
    stale = json.loads(json.dumps(lam.get_function(FunctionName=name), default=str))
    stale_tags = stack.state(name)["tags"]
    actions.inject_error(name, 500, "x" * 300, 1.0, configuration=stack.configuration)
    # The first GetFunction and ListTags answer what was there before the package's fault.
    real_get, real_tags = lam.get_function, lam.list_tags
    reads = {"n": 0}
    tag_reads = {"n": 0}

    def first_read_is_stale(**params: Any) -> Any:
        reads["n"] += 1
        return json.loads(json.dumps(stale)) if reads["n"] == 1 else real_get(**params)

    def first_tags_are_stale(**params: Any) -> Any:
        tag_reads["n"] += 1
        return {"Tags": dict(stale_tags)} if tag_reads["n"] == 1 else real_tags(**params)

    monkeypatch.setattr(lam, "get_function", first_read_is_stale)
    monkeypatch.setattr(lam, "list_tags", first_tags_are_stale)
    real_update = lam.update_function_configuration
    answered = {"n": 0}

    def conflict_once(**params: Any) -> Any:
        answered["n"] += 1
        if answered["n"] == 1:
            raise ClientError(
                {"Error": {"Code": "ResourceConflictException", "Message": "in progress"}},
                "UpdateFunctionConfiguration",
            )
        return real_update(**params)

    monkeypatch.setattr(lam, "update_function_configuration", conflict_once)
    monkeypatch.setattr(
        boto3, "client", lambda *args, **kwargs: lam
    )  # the handler's client is this one
    # Refusing is right too: what matters is what the rollback leaves.
    with contextlib.suppress(script.FaultError):
        script.handler(stack.payload(name, "ENABLED", False), {})
    assert answered["n"] >= 1 and reads["n"] >= 1
    monkeypatch.undo()
    faulty = stack.faulty(name, False)
    assert faulty["layers"].count(stack.layer) == 1  # never stacked
    actions.remove_faults(name, configuration=stack.configuration)
    actions.remove_faults(name, configuration=stack.configuration)
    assert stack.state(name) == before
