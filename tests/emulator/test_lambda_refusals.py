"""Refusals come before any write: the function, its tags and aliases stay byte-identical.

Sources of the rules (not the package's own modules):
- OS-only runtimes (``provided``, ``provided.al2``, ``provided.al2023``) do not
  run ``AWS_LAMBDA_EXEC_WRAPPER`` (AWS Lambda developer guide, "Modifying the
  runtime environment": wrapper scripts are supported by the managed runtimes
  only), so the extension would never see an invocation;
- container-image functions take no layers ("Working with Lambda layers");
- a qualified name is a version or alias, which the fault targets with ``alias=``;
- Lambda's FunctionName pattern and 64-character name limit (botocore model).
"""

import json
from typing import Any

import botocore.session
import pytest
from chaoslib.exceptions import ActivityFailed

from chaosaws_serverless.awslambda import actions, probes
from tests.support.lambdas import US, World


def snapshot(world: World, name: str = "api-hello") -> str:
    lam = world.aws("lambda", US)
    function = lam.get_function(FunctionName=name)
    parts = {
        "configuration": function["Configuration"],
        "tags": lam.list_tags(Resource=function["Configuration"]["FunctionArn"])["Tags"],
        "aliases": lam.list_aliases(FunctionName=name)["Aliases"],
        "versions": lam.list_versions_by_function(FunctionName=name)["Versions"],
    }
    return json.dumps(parts, sort_keys=True, default=str)


def _inject_both(world: World, function_name: Any, **kw: Any) -> None:
    for inject in (
        lambda: actions.inject_latency(
            function_name, latency_ms=1000, configuration=world.configuration, **kw
        ),
        lambda: actions.inject_error(function_name, configuration=world.configuration, **kw),
    ):
        with pytest.raises(ActivityFailed) as failure:
            inject()
        world.last_error = str(failure.value)  # type: ignore[attr-defined]


@pytest.mark.parametrize("runtime", ["provided", "provided.al2", "provided.al2023"])
def test_os_only_runtimes_are_refused(world: World, runtime: str) -> None:
    botocore_runtimes = botocore.session.get_session().get_service_model("lambda")
    assert runtime in botocore_runtimes.shape_for("Runtime").enum
    world.layer()
    world.function(Runtime=runtime, Handler="bootstrap", tags={"team": "a"})
    before = snapshot(world)
    _inject_both(world, "api-hello")
    assert runtime in world.last_error and "AWS_LAMBDA_EXEC_WRAPPER" in world.last_error  # type: ignore[attr-defined]
    assert snapshot(world) == before


def test_container_image_functions_are_refused(world: World) -> None:
    world.layer()
    lam = world.aws("lambda", US)
    lam.create_function(
        FunctionName="api-hello",
        Role=world.role,
        PackageType="Image",
        Code={"ImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/hello:latest"},
        Tags={"team": "a"},
    )
    before = snapshot(world)
    _inject_both(world, "api-hello")
    assert "container image" in world.last_error  # type: ignore[attr-defined]
    assert snapshot(world) == before


@pytest.mark.parametrize(
    "qualified",
    [
        "api-hello:live",
        "api-hello:3",
        "api-hello:$LATEST",
        "arn:aws:lambda:us-east-1:123456789012:function:api-hello:live",
    ],
)
def test_a_qualified_function_name_points_to_alias(world: World, qualified: str) -> None:
    world.layer()
    world.function(tags={"team": "a"})
    lam = world.aws("lambda", US)
    version = lam.publish_version(FunctionName="api-hello")["Version"]
    lam.create_alias(FunctionName="api-hello", Name="live", FunctionVersion=version)
    before = snapshot(world)
    _inject_both(world, qualified)
    assert "alias=" in world.last_error  # type: ignore[attr-defined]
    with pytest.raises(ActivityFailed, match="alias="):
        actions.remove_faults(qualified, configuration=world.configuration)
    assert snapshot(world) == before


@pytest.mark.parametrize("region", ["", "   ", "us-east", "US-EAST-1", "useast1"])
def test_an_empty_or_malformed_region_is_refused(world: World, region: str) -> None:
    world.layer()
    world.function(tags={"team": "a"})
    before = snapshot(world)
    _inject_both(world, "api-hello", region=region)
    assert "region" in world.last_error  # type: ignore[attr-defined]
    assert snapshot(world) == before


@pytest.mark.parametrize(
    "name",
    ["", "api hello", "api/hello", "a" * 65, "api.hello", None, 42],
)
def test_names_lambda_rejects_are_refused(world: World, name: Any) -> None:
    world.layer()
    world.function(tags={"team": "a"})
    before = snapshot(world)
    _inject_both(world, name)
    assert "function_name" in world.last_error  # type: ignore[attr-defined]
    with pytest.raises(ActivityFailed, match="function_name"):
        probes.get_fault_state(name, configuration=world.configuration)
    assert snapshot(world) == before


def test_an_arn_of_another_region_is_refused(world: World) -> None:
    world.layer()
    world.function(tags={"team": "a"})
    before = snapshot(world)
    _inject_both(world, "arn:aws:lambda:eu-west-1:123456789012:function:api-hello", region=US)
    assert "region='eu-west-1'" in world.last_error  # type: ignore[attr-defined]
    assert snapshot(world) == before
