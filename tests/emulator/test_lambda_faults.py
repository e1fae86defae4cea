"""Lambda fault injection against the moto server: inject, observe, roll back exactly."""

import json
import subprocess
import sys
from typing import Any

import pytest
from botocore.exceptions import ClientError
from chaoslib.exceptions import ActivityFailed

from chaosaws_serverless import aws
from chaosaws_serverless.awslambda import actions, probes
from chaosaws_serverless.awslambda.engine.record import RECORD_TAG_PREFIX
from tests.support.lambdas import EU, US, World

WRAPPER = "AWS_LAMBDA_EXEC_WRAPPER"
ENABLE_LATENCY = "CHAOS_EXTENSION__LAMBDA__ENABLE_LATENCY"
LATENCY_VALUE = "CHAOS_EXTENSION__LAMBDA__LATENCY_VALUE"


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


def test_a_change_made_during_the_fault_survives_rollback(world: World) -> None:
    world.layer()
    world.function(env={"A": "1", "B": "2"})
    actions.inject_latency("api-hello", 60000, configuration=world.configuration)
    during = world.env()
    during["B"] = "changed-by-a-deploy"
    during["NEW"] = "added-by-a-deploy"
    during[LATENCY_VALUE] = "7"  # someone tuned the fault by hand: theirs wins too
    world.set_env(during)
    removed = actions.remove_faults("api-hello", configuration=world.configuration)
    assert removed["kept_variables"] == [LATENCY_VALUE]
    assert world.env() == {
        "A": "1",
        "B": "changed-by-a-deploy",
        "NEW": "added-by-a-deploy",
        LATENCY_VALUE: "7",
    }
    assert world.layers() == []


def test_a_layer_added_during_the_fault_survives_rollback(world: World) -> None:
    chaos = world.layer()
    other = world.layer(name="later")
    world.function()
    actions.inject_latency("api-hello", 1000, configuration=world.configuration)
    world.aws("lambda").update_function_configuration(
        FunctionName="api-hello", Layers=[chaos, other]
    )
    actions.remove_faults("api-hello", configuration=world.configuration)
    assert world.layers() == [other]


def test_second_injection_replaces_the_fault_in_place(world: World) -> None:
    chaos = world.layer()
    world.function(env={"A": "1", LATENCY_VALUE: "3"})
    actions.inject_latency("api-hello", 60000, configuration=world.configuration)
    second = actions.inject_error("api-hello", 500, configuration=world.configuration)
    assert second["replaced_previous_fault"] is True
    assert world.layers() == [chaos]  # one chaos layer, not two
    state = probes.get_fault_state("api-hello", configuration=world.configuration)
    assert state["fault"] == "error"
    assert world.env()[LATENCY_VALUE] == "3" and ENABLE_LATENCY not in world.env()
    actions.remove_faults("api-hello", configuration=world.configuration)
    assert world.env() == {"A": "1", LATENCY_VALUE: "3"}
    assert world.layers() == []


def test_function_already_wrapped_by_the_extension_keeps_its_wrapper(world: World) -> None:
    chaos = world.layer()
    world.function(env={WRAPPER: "/opt/bootstrap", ENABLE_LATENCY: "false"}, layers=[chaos])
    actions.inject_latency("api-hello", 2000, configuration=world.configuration)
    assert world.layers() == [chaos]
    assert world.env()[ENABLE_LATENCY] == "true"
    actions.remove_faults("api-hello", configuration=world.configuration)
    assert world.layers() == [chaos]
    assert world.env() == {WRAPPER: "/opt/bootstrap", ENABLE_LATENCY: "false"}


def test_alias_flow_faults_only_the_alias_and_rolls_back(world: World) -> None:
    world.layer()
    world.function(env={"A": "1"})
    lam = world.aws("lambda")
    version = lam.publish_version(FunctionName="api-hello")["Version"]
    lam.create_alias(FunctionName="api-hello", Name="live", FunctionVersion=version)
    result = actions.inject_latency(
        "api-hello", 5000, alias="live", configuration=world.configuration
    )
    faulty = result["faulty_version"]
    assert faulty != version and result["original_version"] == version
    assert lam.get_alias(FunctionName="api-hello", Name="live")["FunctionVersion"] == faulty
    assert world.env(qualifier="live")[LATENCY_VALUE] == "5"
    assert world.env() == {"A": "1"} and world.layers() == []  # $LATEST untouched
    assert probes.fault_is_injected("api-hello", alias="live", configuration=world.configuration)
    assert not probes.fault_is_injected("api-hello", configuration=world.configuration)
    with pytest.raises(ActivityFailed, match="already carries a latency fault on live"):
        actions.inject_latency("api-hello", 1000, configuration=world.configuration)

    removed = actions.remove_faults("api-hello", alias="live", configuration=world.configuration)
    assert removed["alias_restored_to"] == version and removed["deleted_version"] == faulty
    assert lam.get_alias(FunctionName="api-hello", Name="live")["FunctionVersion"] == version
    versions = [
        v["Version"] for v in lam.list_versions_by_function(FunctionName="api-hello")["Versions"]
    ]
    assert faulty not in versions
    assert not any(k.startswith(RECORD_TAG_PREFIX) for k in world.tags())
    assert actions.remove_faults("api-hello", configuration=world.configuration)["removed"] is False


def test_alias_on_a_version_that_differs_from_latest_is_refused(world: World) -> None:
    world.layer()
    world.function(env={"A": "1"})
    lam = world.aws("lambda")
    version = lam.publish_version(FunctionName="api-hello")["Version"]
    lam.create_alias(FunctionName="api-hello", Name="live", FunctionVersion=version)
    world.set_env({"A": "2"})
    with pytest.raises(ActivityFailed, match="differs from \\$LATEST in Environment"):
        actions.inject_latency("api-hello", 1000, alias="live", configuration=world.configuration)
    assert world.tags() == {}


def test_remove_all_faults_restores_every_injected_function_in_every_region(
    world: World,
) -> None:
    for region in (US, EU):
        world.layer(region)
        for name in ("api-hello", "api-health", "untouched"):
            world.function(name, region, env={"N": name})
        actions.inject_latency("api-hello", 1000, region=region, configuration=world.configuration)
        actions.inject_error("api-health", region=region, configuration=world.configuration)
    result = actions.remove_all_faults(configuration=world.configuration)
    reports = result["functions"]
    assert sorted((r["region"], r["function_name"]) for r in reports) == [
        (EU, "api-health"),
        (EU, "api-hello"),
        (US, "api-health"),
        (US, "api-hello"),
    ]
    for region in (US, EU):
        for name in ("api-hello", "api-health", "untouched"):
            assert world.env(name, region) == {"N": name}
            assert world.layers(name, region) == []
    # Per region: which path found them, how many examined, found, restored.
    assert sorted(result["regions"], key=lambda s: s["region"]) == [
        {
            "region": region,
            "path": "tagging-api",
            "examined": 2,
            "found": 2,
            "restored": 2,
            "failed": 0,
            "vanished": 0,
            "switches_deleted": 0,
        }
        for region in (EU, US)
    ]
    again = actions.remove_all_faults(region=US, configuration=world.configuration)
    assert again == {
        "visited": [US],
        "regions_from": "given",
        "regions": [
            {
                "region": US,
                "path": "tagging-api",
                "examined": 0,
                "found": 0,
                "restored": 0,
                "failed": 0,
                "vanished": 0,
                "switches_deleted": 0,
            }
        ],
        "functions": [],
        "problems": [],
    }


# --- bad input: ActivityFailed naming the value and the fix, nothing changed ------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"latency_ms": 0}, "latency_ms must be .* in 1..900000, got 0"),
        ({"latency_ms": 900001}, "got 900001"),
        ({"latency_ms": "soon"}, "latency_ms must be a number, got 'soon'"),
        ({"latency_ms": 1000, "probability": 1.5}, "probability must be in 0..1.*got 1.5"),
        ({"latency_ms": 1000, "probability": -0.1}, "got -0.1"),
        ({"latency_ms": 1000, "layer_arn": "arn:aws:lambda:us-east-1:layer"}, "not a Lambda layer"),
        (
            {
                "latency_ms": 1000,
                "layer_arn": "arn:aws:lambda:eu-west-1:123456789012:layer:chaos:1",
            },
            "is in eu-west-1 but the function is in us-east-1",
        ),
        ({"latency_ms": 1000, "alias": "nope"}, "lambda:GetAlias on alias 'nope'"),
        ({"latency_ms": 1000, "alias": "12"}, "alias must be a Lambda alias name"),
        (
            {"latency_ms": 1000, "function_name": "missing"},
            "lambda:GetFunction on function 'missing'.*ResourceNotFoundException",
        ),
    ],
)
def test_bad_latency_input_changes_nothing(world: World, kwargs: dict, match: str) -> None:
    world.layer()
    world.function(env={"A": "1"})
    kwargs = {"function_name": "api-hello", **kwargs}
    with pytest.raises(ActivityFailed, match=match):
        actions.inject_latency(configuration=world.configuration, **kwargs)
    assert world.env() == {"A": "1"} and world.layers() == [] and world.tags() == {}


@pytest.mark.parametrize("status_code", [99, 600, "x"])
def test_bad_status_code_is_refused(world: World, status_code: Any) -> None:
    with pytest.raises(ActivityFailed, match=f"status_code must be .*{status_code!r}"):
        actions.inject_error("api-hello", status_code, configuration=world.configuration)


def test_a_region_without_a_published_layer_names_the_configuration_key(world: World) -> None:
    # upstream LAYERS.md publishes no layer in af-south-1
    world.function(region="af-south-1")
    with pytest.raises(ActivityFailed, match=r"no x86_64 layer in af-south-1.*chaos_layer_arns"):
        actions.inject_latency(
            "api-hello", 1000, region="af-south-1", configuration=world.configuration
        )
    assert world.layers(region="af-south-1") == [] and world.tags(region="af-south-1") == {}


def test_an_attached_chaos_layer_version_is_the_one_named_and_checked(world: World) -> None:
    older = world.layer(CompatibleArchitectures=["x86_64"])
    world.layer(CompatibleArchitectures=["arm64"])  # the configured one: arm64 only
    world.function(layers=[older], Architectures=["x86_64"])
    result = actions.inject_error("api-hello", configuration=world.configuration)
    assert result["layer_arn"] == older and world.layers() == [older]
    actions.remove_faults("api-hello", configuration=world.configuration)
    assert world.layers() == [older]  # it was there before: kept


def test_aws_tags_do_not_count_toward_the_tag_limit(world: World) -> None:
    world.layer()
    world.function(tags={f"t{i}": "v" for i in range(47)})
    arn = world.config()["Configuration"]["FunctionArn"]
    try:
        world.aws("lambda", US).tag_resource(
            Resource=arn, Tags={"aws:cloudformation:stack-name": "s", "aws:x": "y"}
        )
    except Exception:  # AWS reserves aws: keys for itself; moto may too
        pytest.skip("the emulator refuses aws: tags")
    actions.inject_latency("api-hello", 1000, configuration=world.configuration)
    assert actions.remove_faults("api-hello", configuration=world.configuration)["removed"]


def test_another_wrapper_is_refused(world: World) -> None:
    world.layer()
    world.function(env={WRAPPER: "/opt/otel-instrument"})
    with pytest.raises(ActivityFailed, match=r"'/opt/otel-instrument'.*only one wrapper"):
        actions.inject_latency("api-hello", 1000, configuration=world.configuration)
    assert world.env() == {WRAPPER: "/opt/otel-instrument"} and world.tags() == {}


def test_a_sixth_layer_is_refused(world: World) -> None:
    world.layer()
    others = [world.layer(name=f"other{i}") for i in range(5)]
    world.function(layers=others)
    with pytest.raises(ActivityFailed, match="makes 6, over Lambda's limit of 5"):
        actions.inject_latency("api-hello", 1000, configuration=world.configuration)
    assert world.layers() == others and world.tags() == {}


def test_an_environment_over_4_kb_is_refused(world: World) -> None:
    world.layer()
    world.function(env={"BIG": "x" * 3950})
    with pytest.raises(ActivityFailed, match="over Lambda's limit of 4096 bytes"):
        actions.inject_latency("api-hello", 1000, configuration=world.configuration)
    assert world.env() == {"BIG": "x" * 3950} and world.tags() == {}


def test_a_layer_of_another_architecture_is_refused(world: World) -> None:
    world.layer(CompatibleArchitectures=["arm64"])
    world.function(Architectures=["x86_64"])
    with pytest.raises(ActivityFailed, match=r"built for arm64 but .* runs on x86_64"):
        actions.inject_latency("api-hello", 1000, configuration=world.configuration)
    assert world.layers() == [] and world.tags() == {}


def test_a_function_with_too_many_tags_is_refused(world: World) -> None:
    world.layer()
    world.function(tags={f"t{i}": "v" for i in range(49)})
    with pytest.raises(ActivityFailed, match="over Lambda's limit of 50 tags"):
        actions.inject_latency("api-hello", 1000, configuration=world.configuration)
    assert world.layers() == [] and len(world.tags()) == 49


def test_rollback_cli_restores_everything_and_prints_a_table(world: World) -> None:
    from click.testing import CliRunner

    from chaosaws_serverless.cli import main

    for region in (US, EU):
        world.layer(region)
        world.function(region=region, env={"A": "1"})
        actions.inject_latency("api-hello", 1000, region=region, configuration=world.configuration)
    endpoint = world.configuration["aws_endpoint_url"]
    result = CliRunner().invoke(
        main, ["rollback", "--region", US, "--region", EU, "--endpoint-url", endpoint]
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines.pop(0) == f"visited {EU}, {US} (given)"
    assert lines[0].split() == [
        "region",
        "found",
        "by",
        "examined",
        "with",
        "a",
        "fault",
        "restored",
        "failed",
    ]
    assert {tuple(line.split()) for line in lines[2:4]} == {
        (region, "tagging-api", "1", "1", "1", "0") for region in (US, EU)
    }
    assert lines[5].split()[:3] == ["region", "function", "fault"]
    assert any(line.startswith(f"{US}  api-hello  latency") for line in lines)
    assert any(line.startswith(f"{EU}  api-hello  latency") for line in lines)
    assert "2 function(s) restored" in result.output
    assert world.env(region=US) == {"A": "1"} and world.env(region=EU) == {"A": "1"}
    again = CliRunner().invoke(
        main, ["rollback", "--region", US, "--function", "api-hello", "--endpoint-url", endpoint]
    )
    assert again.exit_code == 0 and "nothing recorded" in again.output


def test_concurrent_background_injections_and_rollbacks(world: World) -> None:
    from concurrent.futures import ThreadPoolExecutor

    world.layer()
    names = [world.function(f"fn-{i}", env={"N": str(i)}) for i in range(6)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        list(
            pool.map(
                lambda n: actions.inject_latency(n, 1000, configuration=world.configuration), names
            )
        )
        assert all(probes.fault_is_injected(n, configuration=world.configuration) for n in names)
        list(pool.map(lambda n: actions.remove_faults(n, configuration=world.configuration), names))
    for i, name in enumerate(names):
        assert world.env(name) == {"N": str(i)} and world.layers(name) == []
        assert world.tags(name) == {}


def test_a_crash_between_record_and_update_rolls_back_as_a_no_op(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chaosaws_serverless.aws import client

    world.layer()
    world.function(env={"A": "1"})

    def crash(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt  # the process dies: no cleanup runs

    lam = client("lambda", US, world.configuration)
    with monkeypatch.context() as patch:
        patch.setattr(lam, "update_function_configuration", crash)
        with pytest.raises(KeyboardInterrupt):
            actions.inject_latency("api-hello", 1000, configuration=world.configuration)
    assert any(k.startswith(RECORD_TAG_PREFIX) for k in world.tags())  # record first
    assert world.env() == {"A": "1"}
    removed = actions.remove_faults("api-hello", configuration=world.configuration)
    assert removed["removed"] is True and removed["removed_layers"] == []
    assert world.env() == {"A": "1"} and world.tags() == {}


def test_a_failed_injection_leaves_nothing_behind(world: World) -> None:

    world.layer()
    world.function(env={"A": "1"})
    lam = world.aws("lambda")
    version = lam.publish_version(FunctionName="api-hello")["Version"]
    lam.create_alias(FunctionName="api-hello", Name="live", FunctionVersion=version)

    def denied(**kwargs: Any) -> Any:
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "UpdateAlias")

    # The last step of the alias flow is denied, on the client the activities use.
    package_client = aws.client("lambda", US, world.configuration)
    package_client.meta.events.register("before-call.lambda.UpdateAlias", denied)
    with pytest.raises(ActivityFailed, match="lambda:UpdateAlias"):
        actions.inject_latency("api-hello", 1000, alias="live", configuration=world.configuration)
    assert lam.get_alias(FunctionName="api-hello", Name="live")["FunctionVersion"] == version
    versions = lam.list_versions_by_function(FunctionName="api-hello")["Versions"]
    assert [v["Version"] for v in versions] == ["$LATEST", version]
    assert world.env() == {"A": "1"} and world.layers() == [] and world.tags() == {}


def test_concurrent_faults_on_one_function_never_stack(world: World) -> None:
    from concurrent.futures import ThreadPoolExecutor

    chaos = world.layer()
    world.function(env={"A": "1"})
    with ThreadPoolExecutor(max_workers=2) as pool:
        done = [
            pool.submit(
                actions.inject_latency, "api-hello", 2000, configuration=world.configuration
            ),
            pool.submit(actions.inject_error, "api-hello", 503, configuration=world.configuration),
        ]
        results = [future.result() for future in done]
    assert sorted(r["replaced_previous_fault"] for r in results) == [False, True]
    assert world.layers() == [chaos]
    actions.remove_faults("api-hello", configuration=world.configuration)
    assert world.env() == {"A": "1"} and world.layers() == [] and world.tags() == {}
