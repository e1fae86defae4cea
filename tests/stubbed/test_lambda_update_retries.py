"""What moto cannot do: 409 in-progress and 412 revision conflicts, 429 throttling, AccessDenied.

A botocore ``Stubber`` validates each request and response against the Lambda
service model, so these tests cannot assert calls AWS would reject.
"""

import copy
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from chaoslib.exceptions import ActivityFailed

from chaosaws_serverless.awslambda import _engine, _faults, _update, actions
from chaosaws_serverless.awslambda._merge import plan_injection, revert
from chaosaws_serverless.awslambda._record import (
    RECORD_TAG_PREFIX,
    FaultRecord,
    decode,
    digest,
    encode,
)
from chaosaws_serverless.awslambda.contracts import DEFAULT_CONTRACT

REGION = "us-east-1"
LAYER = "arn:aws:lambda:us-east-1:123456789012:layer:chaos-lambda-extension:3"
OTHER = "arn:aws:lambda:us-east-1:123456789012:layer:powertools:7"
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:api-hello"
CONFIGURATION = {"aws_region": REGION, "chaos_layer_arns": {REGION: LAYER}}
WHO, AT = "tester@host", "2026-11-29T06:00:00Z"


def record_of(
    env: dict[str, str], layers: list[str], fault: _faults.Fault
) -> tuple[FaultRecord, dict[str, str]]:
    """Return the record (and its tags) an injection of ``fault`` writes on this state."""
    plan = plan_injection(env, layers, fault.environment, LAYER, DEFAULT_CONTRACT)
    record = FaultRecord(
        contract=DEFAULT_CONTRACT.name,
        by=WHO,
        at=AT,
        fault=fault.params,
        layers=plan.appended_layers,
        env=plan.env_entries,
    )
    return record, encode(record)


def function(
    revision: str,
    env: dict[str, str],
    layers: list[str],
    status: str = "Successful",
    tags: dict[str, str] | None = None,
) -> dict[str, Any]:
    return {
        "Configuration": {
            "FunctionName": "api-hello",
            "FunctionArn": FUNCTION_ARN,
            "RevisionId": revision,
            "State": "Active",
            "LastUpdateStatus": status,
            "Architectures": ["x86_64"],
            "Environment": {"Variables": dict(env)},
            "Layers": [{"Arn": arn, "CodeSize": 1} for arn in layers],
        },
        "Tags": dict(tags or {}),
    }


@pytest.fixture
def stubbed(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Stubber, list[float]]]:
    lam = boto3.client("lambda", region_name=REGION)
    sleeps: list[float] = []
    monkeypatch.setattr(_faults, "client", lambda *args, **kwargs: lam)
    monkeypatch.setattr(_engine, "sleep", sleeps.append)
    monkeypatch.setattr(_faults, "_who", lambda: WHO)
    monkeypatch.setattr(_faults, "_now", lambda: AT)
    with Stubber(lam) as stubber:
        yield stubber, sleeps
        stubber.assert_no_pending_responses()


def expect_get(stubber: Stubber, response: dict[str, Any]) -> None:
    stubber.add_response("get_function", copy.deepcopy(response), {"FunctionName": "api-hello"})


def expect_list_tags(stubber: Stubber, tags: dict[str, str]) -> None:
    """The record is read with ListTags (GetFunction's Tags need that permission anyway)."""
    stubber.add_response("list_tags", {"Tags": dict(tags)}, {"Resource": FUNCTION_ARN})


def test_inject_retries_409_412_and_429_and_passes_the_fresh_revision(
    stubbed: tuple[Stubber, list[float]],
) -> None:
    stubber, sleeps = stubbed
    _, tags = record_of({"A": "1"}, [OTHER], _faults.latency_fault(1000, 1.0))
    expect_get(stubber, function("r1", {"A": "1"}, [OTHER]))
    expect_list_tags(stubber, {})
    stubber.add_response(
        "get_layer_version",
        {"LayerVersionArn": LAYER, "CompatibleArchitectures": ["x86_64", "arm64"]},
        {"LayerName": LAYER.rsplit(":", 1)[0], "VersionNumber": 3},
    )
    stubber.add_response("tag_resource", {}, {"Resource": FUNCTION_ARN, "Tags": tags})
    expect_list_tags(stubber, tags)
    before = function("r1", {"A": "1"}, [OTHER], tags=tags)
    update = {"FunctionName": "api-hello", "Layers": [OTHER, LAYER], "Environment": ANY}
    stubber.add_client_error(
        "update_function_configuration",
        "ResourceConflictException",
        http_status_code=409,
        expected_params={**update, "RevisionId": "r1"},
    )
    expect_get(stubber, before)
    expect_list_tags(stubber, tags)
    stubber.add_client_error(
        "update_function_configuration",
        "PreconditionFailedException",
        http_status_code=412,
        expected_params={**update, "RevisionId": "r1"},
    )
    # Someone deployed in between: the change is recomputed on their revision.
    deployed = function("r2", {"A": "2"}, [OTHER], tags=tags)
    stubber.add_client_error("get_function", "TooManyRequestsException", http_status_code=429)
    expect_get(stubber, deployed)
    expect_list_tags(stubber, tags)
    stubber.add_client_error(
        "update_function_configuration",
        "TooManyRequestsException",
        http_status_code=429,
        expected_params={**update, "RevisionId": "r2"},
    )
    expect_get(stubber, deployed)
    expect_list_tags(stubber, tags)
    stubber.add_response(
        "update_function_configuration",
        {"FunctionName": "api-hello", "RevisionId": "r3", "LastUpdateStatus": "InProgress"},
        {**update, "RevisionId": "r2"},
    )
    expect_get(stubber, function("r3", {"A": "2"}, [OTHER, LAYER], tags=tags))  # the wait

    result = actions.inject_latency("api-hello", 1000, configuration=CONFIGURATION)
    assert result["fault"] == "latency"
    assert len(sleeps) == 5  # 409, 412, 429 on read, 429 on update, one wait poll


def test_a_conflict_that_never_ends_fails_clearly(stubbed: tuple[Stubber, list[float]]) -> None:
    stubber, _ = stubbed
    _, tags = record_of({"A": "1"}, [], _faults.latency_fault(1000, 1.0))
    expect_get(stubber, function("r1", {"A": "1"}, []))
    expect_list_tags(stubber, {})
    stubber.add_response(
        "get_layer_version",
        {"LayerVersionArn": LAYER},
        {"LayerName": LAYER.rsplit(":", 1)[0], "VersionNumber": 3},
    )
    stubber.add_response("tag_resource", {}, {"Resource": FUNCTION_ARN, "Tags": tags})
    expect_list_tags(stubber, tags)
    before = function("r1", {"A": "1"}, [], tags=tags)
    for attempt in range(_update.MAX_ATTEMPTS):
        if attempt:
            expect_get(stubber, before)
            expect_list_tags(stubber, tags)
        stubber.add_client_error(
            "update_function_configuration",
            "ResourceConflictException",
            service_message="The operation cannot be performed at this time.",
            http_status_code=409,
        )
    # The failed injection then runs remove_faults: nothing to merge, the record goes.
    expect_get(stubber, before)
    expect_list_tags(stubber, tags)
    stubber.add_response("untag_resource", {}, {"Resource": FUNCTION_ARN, "TagKeys": sorted(tags)})
    with pytest.raises(
        ActivityFailed,
        match=r"lambda:UpdateFunctionConfiguration .*ResourceConflictException.*another update",
    ):
        actions.inject_latency("api-hello", 1000, configuration=CONFIGURATION)


def test_remove_retries_a_revision_conflict_and_keeps_the_concurrent_change(
    stubbed: tuple[Stubber, list[float]],
) -> None:
    stubber, _ = stubbed
    fault = _faults.latency_fault(2000, 1.0)
    plan = plan_injection({"A": "1"}, [], fault.environment, LAYER, DEFAULT_CONTRACT)
    record, record_tags = record_of({"A": "1"}, [], fault)
    tags = {"team": "a", **record_tags}
    injected = function("r1", plan.environment, plan.layers, tags=tags)
    expect_get(stubber, injected)
    expect_list_tags(stubber, tags)
    stubber.add_client_error(
        "update_function_configuration",
        "PreconditionFailedException",
        http_status_code=412,
        expected_params={
            "FunctionName": "api-hello",
            "Layers": [],
            "Environment": {"Variables": {"A": "1"}},
            "RevisionId": "r1",
        },
    )
    changed = function("r2", {**plan.environment, "A": "9"}, plan.layers, tags=tags)
    expect_get(stubber, changed)
    stubber.add_response(
        "update_function_configuration",
        {"FunctionName": "api-hello", "RevisionId": "r3"},
        {
            "FunctionName": "api-hello",
            "Layers": [],
            "Environment": {"Variables": {"A": "9"}},
            "RevisionId": "r2",
        },
    )
    stubber.add_response(
        "untag_resource", {}, {"Resource": FUNCTION_ARN, "TagKeys": sorted(encode(record))}
    )
    removed = actions.remove_faults("api-hello", configuration=CONFIGURATION)
    assert removed["removed_layers"] == [LAYER]
    assert decode(tags) == record


def test_access_denied_names_the_missing_permission(
    stubbed: tuple[Stubber, list[float]],
) -> None:
    stubber, sleeps = stubbed
    stubber.add_client_error(
        "get_function",
        "AccessDeniedException",
        http_status_code=403,
        service_message="User is not authorized to perform: lambda:GetFunction",
    )
    with pytest.raises(
        ActivityFailed, match="grant the caller the IAM permission 'lambda:GetFunction'"
    ):
        actions.inject_latency("api-hello", 1000, configuration=CONFIGURATION)
    assert sleeps == []


def test_an_earlier_failed_update_does_not_block_but_ours_failing_is_an_error(
    stubbed: tuple[Stubber, list[float]],
) -> None:
    stubber, _ = stubbed
    lam = _faults.client()
    failed_before = function("r1", {"A": "1"}, [], status="Failed")["Configuration"]
    assert _update.wait_until_updated(lam, "api-hello", "f", failed_before, ours=False)
    expect_get(stubber, function("r2", {"A": "1"}, [], status="Failed"))
    with pytest.raises(ActivityFailed, match="the update of f failed in AWS"):
        _update.wait_until_updated(
            lam, "api-hello", "f", {"LastUpdateStatus": "InProgress", "State": "Active"}
        )


def test_a_concurrent_injection_from_another_process_is_absorbed_not_recorded_as_original(
    stubbed: tuple[Stubber, list[float]],
) -> None:
    """Two processes inject at once: the later record must still roll both back."""
    stubber, _ = stubbed
    ours = _faults.latency_fault(5000, 1.0)
    theirs = _faults.latency_fault(9000, 0.5)
    original = {"A": "1"}
    _, first_tags = record_of(original, [OTHER], ours)
    expect_get(stubber, function("r1", original, [OTHER]))
    expect_list_tags(stubber, {})
    stubber.add_response(
        "get_layer_version",
        {"LayerVersionArn": LAYER},
        {"LayerName": LAYER.rsplit(":", 1)[0], "VersionNumber": 3},
    )
    stubber.add_response("tag_resource", {}, {"Resource": FUNCTION_ARN, "Tags": first_tags})
    expect_list_tags(stubber, first_tags)
    stubber.add_client_error(
        "update_function_configuration", "PreconditionFailedException", http_status_code=412
    )
    # The other process won: its fault is on, and its record overwrote ours, with a
    # chunk ours does not have (removed when ours is written again).
    their_record, their_tags = record_of(original, [OTHER], theirs)
    their_tags[f"{RECORD_TAG_PREFIX}7"] = "AAAA"
    their_env = {**original, **theirs.environment}
    expect_get(stubber, function("r2", their_env, [OTHER, LAYER], tags=their_tags))
    expect_list_tags(stubber, their_tags)
    captured: dict[str, Any] = {}
    stubber.add_response("tag_resource", {}, {"Resource": FUNCTION_ARN, "Tags": ANY})
    # The fresh read after writing shows their leftover chunk 7: it must be removed.
    expect_list_tags(stubber, their_tags)
    stubber.add_response("untag_resource", {}, {"Resource": FUNCTION_ARN, "TagKeys": ANY})
    stubber.add_response(
        "update_function_configuration",
        {"FunctionName": "api-hello", "RevisionId": "r3"},
        {
            "FunctionName": "api-hello",
            "Layers": [OTHER, LAYER],
            "Environment": ANY,
            "RevisionId": "r2",
        },
    )
    lam = _faults.client()
    lam.meta.events.register(
        "provide-client-params.lambda.TagResource",
        lambda params, **_: captured.update(params["Tags"]),
    )
    actions.inject_latency("api-hello", 5000, configuration=CONFIGURATION)
    final = decode(captured)
    assert final is not None
    assert final.env[DEFAULT_CONTRACT.latency_value].was is None  # the true original
    assert digest("9") in final.env[DEFAULT_CONTRACT.latency_value].set
    ours_env = {**original, **ours.environment}
    for env in (ours_env, their_env):  # whichever fault is on, rollback restores the original
        reverted = revert(env, [OTHER, LAYER], final)
        assert (reverted.environment, reverted.layers) == (original, [OTHER])
    assert their_record != final
