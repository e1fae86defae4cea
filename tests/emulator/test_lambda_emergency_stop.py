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
