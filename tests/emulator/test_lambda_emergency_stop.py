"""The emergency stop on the moto server: the tagging API path, its fallback, and the figures."""

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from chaosaws_serverless.aws import client
from chaosaws_serverless.awslambda import actions
from tests.support.lambdas import World

US, EU = "us-east-1", "eu-west-1"


@pytest.fixture
def tagging_denied(configuration: dict[str, Any]) -> Iterator[list[str]]:
    """Deny tag:GetResources to the package's client in us-east-1; record its Lambda calls.

    A botocore hook raises the error AWS answers a caller without the
    permission: moto's IAM enforcement would authorize the call as
    ``tagging:GetResources`` (the request's SigV4 signing name, see
    moto/iam/access_control.py), not IAM's ``tag:GetResources``, so it cannot
    stand in for the real policy here.
    """
    seen: list[str] = []

    def deny(**_: Any) -> None:
        raise ClientError(
            {
                "Error": {
                    "Code": "AccessDeniedException",
                    "Message": "User is not authorized to perform: tag:GetResources",
                }
            },
            "GetResources",
        )

    def record(event_name: str, **_: Any) -> None:
        seen.append(event_name.rsplit(".", 1)[-1])

    tagging = client("resourcegroupstaggingapi", US, configuration).meta.events
    lam = client("lambda", US, configuration).meta.events
    tagging.register("before-call.resource-groups-tagging-api.GetResources", deny)
    lam.register("before-send.lambda.*", record)
    yield seen
    tagging.unregister("before-call.resource-groups-tagging-api.GetResources", deny)
    lam.unregister("before-send.lambda.*", record)


def test_denied_tagging_api_falls_back_to_listing_and_says_so(
    world: World, tagging_denied: list[str]
) -> None:
    world.layer()
    names = [world.function(f"fn-{i}", env={"N": str(i)}, tags={"team": "a"}) for i in range(6)]
    for name in names[:2]:
        actions.inject_latency(name, 1000, configuration=world.configuration)
    tagging_denied.clear()
    result = actions.remove_all_faults(region=US, configuration=world.configuration)
    (summary,) = result["regions"]
    assert summary["path"] == "list-functions"
    assert "tag:GetResources" in summary["fallback_reason"]
    assert (summary["examined"], summary["found"], summary["restored"]) == (6, 2, 2)
    # One ListTags per function examined by the fallback, plus one per restore: the restore reads
    # the record afresh through ListTags (GetFunction's Tags are never trusted).
    assert tagging_denied.count("ListTags") == 6 + 2 and "ListFunctions" in tagging_denied
    for i, name in enumerate(names):
        assert world.env(name) == {"N": str(i)} and world.layers(name) == []
        assert world.tags(name) == {"team": "a"}


def test_the_stop_visits_every_region_and_leaves_unrecorded_functions_alone(
    world: World,
) -> None:
    for region in (US, EU):
        world.layer(region)
        for i in range(5):
            world.function(f"fn-{i}", region, env={"N": str(i)})
        for i in (1, 3):
            actions.inject_error(f"fn-{i}", region=region, configuration=world.configuration)
    # A function with the extension's variables but no record of this package: not ours.
    world.function("foreign", US, env={"AWS_LAMBDA_EXEC_WRAPPER": "/opt/bootstrap"})
    result = actions.remove_all_faults(configuration=world.configuration)
    assert sorted(
        (s["region"], s["path"], s["found"], s["restored"]) for s in result["regions"]
    ) == [
        (EU, "tagging-api", 2, 2),
        (US, "tagging-api", 2, 2),
    ]
    assert sorted((r["region"], r["function_name"]) for r in result["functions"]) == [
        (EU, "fn-1"),
        (EU, "fn-3"),
        (US, "fn-1"),
        (US, "fn-3"),
    ]
    assert world.env("foreign") == {"AWS_LAMBDA_EXEC_WRAPPER": "/opt/bootstrap"}
    for region in (US, EU):
        for i in range(5):
            assert world.env(f"fn-{i}", region) == {"N": str(i)}


# --- the stop never gives up on the rest ---------------------------------------------------

RECORD = "chaosaws-serverless:fault:"


def _faulted(world: World, name: str, region: str = US) -> bool:
    """Read back through boto3: does the function still carry a layer or a fault record?"""
    return bool(world.layers(name, region)) or any(
        k.startswith(RECORD) for k in world.tags(name, region)
    )


def test_a_function_deleted_between_listing_and_reading_does_not_stop_the_region(
    world: World, tagging_denied: list[str], aws: Any
) -> None:
    world.layer()
    names = [world.function(f"fn-{i}", env={"N": str(i)}) for i in range(4)]
    for name in names[:3]:
        actions.inject_latency(name, 1000, configuration=world.configuration)

    def delete_fn_1_first(params: dict[str, Any], **_: Any) -> None:
        # A deploy deletes fn-1 after ListFunctions listed it, before its tags are read.
        if str(params.get("Resource", "")).endswith(":function:fn-1"):
            aws("lambda").delete_function(FunctionName="fn-1")

    events = client("lambda", US, world.configuration).meta.events
    events.register("provide-client-params.lambda.ListTags", delete_fn_1_first)
    try:
        result = actions.remove_all_faults(region=US, configuration=world.configuration)
    finally:
        events.unregister("provide-client-params.lambda.ListTags", delete_fn_1_first)
    assert [(p["function_name"], p["outcome"]) for p in result["problems"]] == [
        ("fn-1", "vanished")
    ]
    (summary,) = result["regions"]
    assert (summary["path"], summary["restored"], summary["failed"], summary["vanished"]) == (
        "list-functions",
        2,
        0,
        1,
    )
    assert [f["FunctionName"] for f in aws("lambda").list_functions()["Functions"]].count(
        "fn-1"
    ) == 0
    for i in (0, 2, 3):
        assert world.env(f"fn-{i}") == {"N": str(i)} and not _faulted(world, f"fn-{i}")


def _only(operation_path: str) -> Any:
    return lambda request: request.method == "PUT" and request.path == operation_path


def test_denied_and_throttled_functions_are_named_while_every_other_is_restored(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    import botocore.retries.standard
    from click.testing import CliRunner

    from chaosaws_serverless.cli import main
    from tests.support.faultproxy import FaultProxy

    # botocore's backoff between its 8 attempts (up to 20 s each) is not what is under test.
    monkeypatch.setattr(botocore.retries.standard.ExponentialBackoff, "delay_amount", lambda *_: 0)
    for region in (US, EU):
        world.layer(region)
        for i in range(4):
            world.function(f"fn-{i}", region, env={"N": str(i)})
            actions.inject_error(f"fn-{i}", region=region, configuration=world.configuration)
    moto = world.configuration["aws_endpoint_url"]
    # Two proxies in a row: fn-1's update is denied, fn-3's is throttled on every attempt.
    throttling = FaultProxy(
        moto,
        fault_rate=1.0,
        kinds=["throttle"],
        only=_only("/2015-03-31/functions/fn-3/configuration"),
    )
    with (
        throttling,
        FaultProxy(
            throttling.url,
            fault_rate=1.0,
            kinds=["denied"],
            only=_only("/2015-03-31/functions/fn-1/configuration"),
        ) as denying,
    ):
        result = CliRunner().invoke(
            main, ["rollback", "--region", US, "--region", EU, "--endpoint-url", denying.url]
        )
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"visited {EU}, {US} (given)"
    rows = {tuple(line.split()[:3]) for line in lines}
    for region in (US, EU):
        assert (region, "fn-1", "denied") in rows and (region, "fn-3", "throttled") in rows
    assert "AccessDeniedException" in result.output and "TooManyRequestsException" in result.output
    assert "4 not restored" in result.output and "run it again" in result.output
    for region in (US, EU):
        for i in (0, 2):
            assert world.env(f"fn-{i}", region) == {"N": str(i)}
            assert not _faulted(world, f"fn-{i}", region)
        for i in (1, 3):
            assert _faulted(world, f"fn-{i}", region)
    # Once the calls go through, the same command restores the rest: it is idempotent.
    again = CliRunner().invoke(
        main, ["rollback", "--region", US, "--region", EU, "--endpoint-url", moto]
    )
    assert again.exit_code == 0, again.output
    for region in (US, EU):
        for i in range(4):
            assert world.env(f"fn-{i}", region) == {"N": str(i)} and not _faulted(
                world, f"fn-{i}", region
            )


# --- which regions the stop visits -----------------------------------------------------------

AP = "ap-southeast-2"


def _rollback(*words: str) -> Any:
    from click.testing import CliRunner

    from chaosaws_serverless.cli import main

    return CliRunner().invoke(main, ["rollback", *words])


def _fault_in(world: World, regions: tuple[str, ...], name: str = "api-hello") -> None:
    for region in regions:
        world.layer(region)
        world.function(name, region, env={"A": "1"})
        actions.inject_latency(name, 1000, region=region, configuration=world.configuration)


def test_without_a_region_named_it_visits_every_region_enabled_for_the_account(
    world: World,
) -> None:
    _fault_in(world, (US, EU, AP))
    # The shell's default region is us-east-1 (conftest); nothing names a region.
    result = _rollback("--endpoint-url", world.configuration["aws_endpoint_url"])
    assert result.exit_code == 0, result.output
    first = result.output.splitlines()[0]
    assert first.startswith("visited ") and "every region enabled for the account" in first
    visited = first.removeprefix("visited ").split(" (")[0].split(", ")
    assert {US, EU, AP} <= set(visited)
    # Only regions of the asking region's partition that the account can use: moto also
    # lists China, GovCloud and regions not opted in, which AWS's DescribeRegions does not.
    assert not {"cn-north-1", "us-gov-west-1", "me-central-1"} & set(visited)
    for region in (US, EU, AP):
        assert world.env(region=region) == {"A": "1"} and not _faulted(world, "api-hello", region)


def test_the_regions_the_var_file_or_the_experiment_name_are_visited(
    world: World, tmp_path: Any
) -> None:
    import json

    _fault_in(world, (EU, AP))
    endpoint = world.configuration["aws_endpoint_url"]
    var_file = tmp_path / "values.json"
    var_file.write_text(json.dumps({"configuration": {"aws_regions": [EU]}}))
    experiment = tmp_path / "experiment.json"
    inject = {
        "type": "action",
        "name": "slow-ap",
        "provider": {
            "type": "python",
            "module": "chaosaws_serverless.awslambda.actions",
            "func": "inject_latency",
            "arguments": {"function_name": "api-hello", "latency_ms": 1000, "region": AP},
        },
    }
    experiment.write_text(
        json.dumps({"title": "t", "description": "d", "method": [inject], "rollbacks": []})
    )
    only_var_file = _rollback("--var-file", str(var_file), "--endpoint-url", endpoint)
    assert only_var_file.exit_code == 0, only_var_file.output
    assert only_var_file.output.splitlines()[0] == f"visited {EU} (named by the configuration)"
    assert not _faulted(world, "api-hello", EU) and _faulted(world, "api-hello", AP)
    both = _rollback(str(experiment), "--var-file", str(var_file), "--endpoint-url", endpoint)
    assert both.exit_code == 0, both.output
    assert both.output.splitlines()[0] == f"visited {AP}, {EU} (named by the configuration)"
    assert not _faulted(world, "api-hello", AP)


def test_a_function_arn_is_restored_in_its_own_region(world: World) -> None:
    _fault_in(world, (EU,))
    arn = world.config(region=EU)["Configuration"]["FunctionArn"]
    result = _rollback("--function", arn, "--endpoint-url", world.configuration["aws_endpoint_url"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == f"visited {EU} (given)"
    assert world.env(region=EU) == {"A": "1"} and not _faulted(world, "api-hello", EU)
    refused = _rollback("--function", arn, "--region", US, "--endpoint-url", "http://127.0.0.1:9")
    assert refused.exit_code == 1 and f"add --region {EU}" in refused.output
    assert "Traceback" not in refused.output


def test_one_function_is_looked_for_in_every_region_given(world: World) -> None:
    _fault_in(world, (EU,), name="only-in-eu")
    endpoint = world.configuration["aws_endpoint_url"]
    result = _rollback(
        "--function", "only-in-eu", "--region", US, "--region", EU, "--endpoint-url", endpoint
    )
    assert result.exit_code == 0, result.output
    rows = {tuple(line.split()[:4]) for line in result.output.splitlines()}
    assert (US, "function", "0", "0") in rows and (EU, "function", "1", "1") in rows
    assert not _faulted(world, "only-in-eu", EU)
    nowhere = _rollback(
        "--function", "nowhere", "--region", US, "--region", EU, "--endpoint-url", endpoint
    )
    assert nowhere.exit_code == 1 and "exists in none of" in nowhere.output


def test_when_the_enabled_regions_cannot_be_listed_it_says_so_and_visits_the_default(
    world: World,
) -> None:
    from botocore.exceptions import ClientError

    _fault_in(world, (US,))
    endpoint = world.configuration["aws_endpoint_url"]

    def deny(**_: Any) -> None:
        raise ClientError(
            {"Error": {"Code": "UnauthorizedOperation", "Message": "not authorized"}},
            "DescribeRegions",
        )

    events = client("ec2", US, {"aws_endpoint_url": endpoint}).meta.events
    events.register("before-call.ec2.DescribeRegions", deny)
    try:
        result = _rollback("--endpoint-url", endpoint)
    finally:
        events.unregister("before-call.ec2.DescribeRegions", deny)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"visited {US} (the environment's region)"
    assert lines[1].startswith("warning: could not list the account's enabled regions")
    assert "grant ec2:DescribeRegions" in lines[1] and "pass --region" in lines[1]
    assert not _faulted(world, "api-hello", US)
