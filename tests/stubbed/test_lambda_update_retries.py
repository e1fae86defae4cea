"""What moto cannot do: 409 in-progress and 412 revision conflicts, 429 throttling, AccessDenied.

A botocore ``Stubber`` validates each request and response against the Lambda
service model, so these tests cannot assert calls AWS would reject. A stubbed
answer skips botocore's own retries, so what reaches the engine here is what
botocore's retries let through: the engine retries 409 and 412 (which botocore
never retries) and nothing else; throttling is botocore's alone
(``tests/resilience/test_resilience_flaky_aws.py`` counts its attempts over HTTP).
"""

import copy
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from chaoslib.exceptions import ActivityFailed

from chaosaws_serverless.awslambda import actions, engine, faults
from chaosaws_serverless.awslambda.engine import calls
from chaosaws_serverless.awslambda.engine.contracts import DEFAULT_CONTRACT
from chaosaws_serverless.awslambda.engine.merge import plan_injection, revert
from chaosaws_serverless.awslambda.engine.record import (
    RECORD_TAG_PREFIX,
    FaultRecord,
    decode,
    digest,
    encode,
)

REGION = "us-east-1"
LAYER = "arn:aws:lambda:us-east-1:123456789012:layer:chaos-lambda-extension:3"
OTHER = "arn:aws:lambda:us-east-1:123456789012:layer:powertools:7"
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:api-hello"
# The switch's calls are not what these tests count: they run without one, explicitly.
CONFIGURATION = {
    "aws_region": REGION,
    "chaos_layer_arns": {REGION: LAYER},
    "fault_switch": "off",
}
WHO, AT = "tester@host", "2026-11-29T06:00:00Z"


def record_of(
    env: dict[str, str], layers: list[str], fault: engine.Fault
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
    monkeypatch.setattr(faults, "client", lambda *args, **kwargs: lam)
    monkeypatch.setattr(calls, "sleep", sleeps.append)
    monkeypatch.setattr(faults, "injector", lambda: WHO)
    monkeypatch.setattr(engine, "now", lambda: AT)
    with Stubber(lam) as stubber:
        yield stubber, sleeps
        stubber.assert_no_pending_responses()


def expect_get(stubber: Stubber, response: dict[str, Any]) -> None:
    stubber.add_response("get_function", copy.deepcopy(response), {"FunctionName": "api-hello"})


def expect_list_tags(stubber: Stubber, tags: dict[str, str]) -> None:
    """The record is read with ListTags (GetFunction's Tags need that permission anyway)."""
    stubber.add_response("list_tags", {"Tags": dict(tags)}, {"Resource": FUNCTION_ARN})


def test_inject_retries_409_and_412_and_passes_the_fresh_revision(
    stubbed: tuple[Stubber, list[float]],
) -> None:
    stubber, sleeps = stubbed
    _, tags = record_of({"A": "1"}, [OTHER], faults.latency_fault(1000, 1.0))
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
    assert len(sleeps) == 3  # 409, 412, one wait poll


def test_a_throttle_past_botocore_s_retries_is_not_retried_again(
    stubbed: tuple[Stubber, list[float]],
) -> None:
    """botocore's adaptive mode already spent its attempts on a 429 that reaches the engine."""
    stubber, sleeps = stubbed
    stubber.add_client_error("get_function", "TooManyRequestsException", http_status_code=429)
    with pytest.raises(ActivityFailed, match=r"TooManyRequestsException.*adaptive retries"):
        actions.inject_latency("api-hello", 1000, configuration=CONFIGURATION)
    assert sleeps == []


def test_a_conflict_that_never_ends_fails_clearly(stubbed: tuple[Stubber, list[float]]) -> None:
    stubber, _ = stubbed
    _, tags = record_of({"A": "1"}, [], faults.latency_fault(1000, 1.0))
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
    for attempt in range(calls.MAX_ATTEMPTS):
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
    fault = faults.latency_fault(2000, 1.0)
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
    lam = faults.client()
    ref = engine.function_ref("api-hello", REGION)
    failed_before = function("r1", {"A": "1"}, [], status="Failed")["Configuration"]
    assert calls.wait_until_updated(lam, ref, failed_before, ours=False)
    expect_get(stubber, function("r2", {"A": "1"}, [], status="Failed"))
    with pytest.raises(
        engine.FaultError, match="the update of function 'api-hello' in us-east-1 f"
    ):
        calls.wait_until_updated(lam, ref, {"LastUpdateStatus": "InProgress", "State": "Active"})


def test_a_concurrent_injection_from_another_process_is_absorbed_not_recorded_as_original(
    stubbed: tuple[Stubber, list[float]],
) -> None:
    """Two processes inject at once: the later record must still roll both back."""
    stubber, _ = stubbed
    ours = faults.latency_fault(5000, 1.0)
    theirs = faults.latency_fault(9000, 0.5)
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
    lam = faults.client()
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
