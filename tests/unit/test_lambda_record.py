"""The fault record format and the three-way merge, without AWS."""

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chaosaws_serverless.awslambda.engine.contracts import CHAOS_LAMBDA_EXTENSION as CONTRACT
from chaosaws_serverless.awslambda.engine.merge import PlanError, plan_injection, revert
from chaosaws_serverless.awslambda.engine.record import (
    MAX_TAG_VALUE,
    RECORD_TAG_PREFIX,
    EnvEntry,
    FaultRecord,
    RecordError,
    check_tag_budget,
    decode,
    digest,
    encode,
)

LAYER = "arn:aws:lambda:us-east-1:123456789012:layer:chaos:3"
OTHER = "arn:aws:lambda:us-east-1:123456789012:layer:powertools:7"
# Lambda's TagValue pattern, from the service model.
TAG_VALUE = re.compile(r"^[\w\s.:/=+\-@]*$")


def record(**kw: object) -> FaultRecord:
    base: dict = {
        "contract": CONTRACT.name,
        "by": "alice@laptop",
        "at": "2026-11-29T06:00:00Z",
        "fault": {"kind": "latency", "latency_ms": 60000, "probability": 1.0},
    }
    return FaultRecord(**{**base, **kw})


@given(
    was=st.dictionaries(
        st.sampled_from(CONTRACT.variables), st.one_of(st.none(), st.text(max_size=60))
    ),
    by=st.text(max_size=100),
)
def test_record_round_trips_through_tags_within_lambda_limits(was: dict, by: str) -> None:
    original = record(
        by=by, layers=[LAYER], env={k: EnvEntry(was=v, set=[digest("x")]) for k, v in was.items()}
    )
    tags = encode(original)
    assert all(k.startswith(RECORD_TAG_PREFIX) and len(k) <= 128 for k in tags)
    assert all(len(v) <= MAX_TAG_VALUE and TAG_VALUE.match(v) for v in tags.values())
    assert decode({"team": "a", **tags}) == original


def test_damaged_or_missing_records() -> None:
    assert decode({"team": "a"}) is None
    tags = encode(record(env={"X": EnvEntry(was="y" * 600, set=[])}))
    assert len(tags) >= 3
    tags.pop(f"{RECORD_TAG_PREFIX}1")
    with pytest.raises(RecordError, match="not contiguous"):
        decode(tags)
    with pytest.raises(RecordError, match="do not decode"):
        decode({f"{RECORD_TAG_PREFIX}0": "!!!"})
    with pytest.raises(RecordError, match="more than 8"):
        encode(record(env={"X": EnvEntry(was="y" * 2000, set=[])}))


def test_tag_budget_counts_the_functions_own_tags() -> None:
    record_tags = {f"{RECORD_TAG_PREFIX}{i}": "x" for i in range(3)}
    check_tag_budget({f"t{i}": "" for i in range(47)}, record_tags)
    with pytest.raises(RecordError, match=r"48 tags .* 51 is over"):
        check_tag_budget({f"t{i}": "" for i in range(48)}, record_tags)


def test_injection_then_revert_is_the_identity() -> None:
    env, layers = {"A": "1", CONTRACT.latency_value: "3"}, [OTHER]
    plan = plan_injection(env, layers, CONTRACT.latency_environment(5000, 1.0), LAYER, CONTRACT)
    assert plan.layers == [OTHER, LAYER] and plan.appended_layers == [LAYER]
    assert plan.env_entries[CONTRACT.latency_value].was == "3"
    assert plan.env_entries[CONTRACT.enable_latency].was is None
    done = record(layers=plan.appended_layers, env=plan.env_entries)
    reverted = revert(plan.environment, plan.layers, done)
    assert (reverted.environment, reverted.layers) == (env, layers)
    # A record whose injection never reached the function reverts nothing.
    untouched = revert(env, layers, done)
    assert not untouched.changed and (untouched.environment, untouched.layers) == (env, layers)


def test_revert_keeps_what_others_changed_or_deleted() -> None:
    plan = plan_injection({"A": "1"}, [], CONTRACT.latency_environment(5000, 1.0), LAYER, CONTRACT)
    done = record(layers=plan.appended_layers, env=plan.env_entries)
    now = dict(plan.environment)
    now["A"] = "2"
    now[CONTRACT.latency_value] = "9"
    del now[CONTRACT.latency_probability]
    reverted = revert(now, [OTHER, LAYER], done)
    assert reverted.environment == {"A": "2", CONTRACT.latency_value: "9"}
    assert reverted.layers == [OTHER]
    assert reverted.kept_variables == [CONTRACT.latency_value]


def test_in_place_replacement_never_stacks() -> None:
    env = {"A": "1"}
    first = plan_injection(env, [], CONTRACT.latency_environment(5000, 1.0), LAYER, CONTRACT)
    first_record = record(layers=first.appended_layers, env=first.env_entries)
    second = plan_injection(
        first.environment,
        first.layers,
        CONTRACT.error_environment(500, None, 1.0),
        LAYER,
        CONTRACT,
        previous=first_record,
    )
    assert second.layers == [LAYER]
    assert CONTRACT.enable_latency not in second.environment
    # The new record still covers the latency variables: a crash before the update
    # (function still carrying the first fault) rolls back completely.
    second_record = record(layers=second.appended_layers, env=second.env_entries)
    crashed = revert(first.environment, first.layers, second_record)
    assert (crashed.environment, crashed.layers) == (env, [])
    done = revert(second.environment, second.layers, second_record)
    assert (done.environment, done.layers) == (env, [])


def test_plan_refusals() -> None:
    fault = CONTRACT.latency_environment(1000, 1.0)
    with pytest.raises(PlanError, match="only one wrapper"):
        plan_injection({"AWS_LAMBDA_EXEC_WRAPPER": "/opt/other"}, [], fault, LAYER, CONTRACT)
    with pytest.raises(PlanError, match="makes 6"):
        plan_injection({}, [f"{OTHER[:-1]}{i}" for i in range(5)], fault, LAYER, CONTRACT)
    with pytest.raises(PlanError, match="4096 bytes"):
        plan_injection({"BIG": "x" * 4000}, [], fault, LAYER, CONTRACT)


def test_another_version_of_the_chaos_layer_is_used_as_attached() -> None:
    older = LAYER[:-1] + "2"
    plan = plan_injection({}, [older], CONTRACT.latency_environment(1000, 1.0), LAYER, CONTRACT)
    assert plan.layers == [older] and plan.appended_layers == []


def test_absorb_concurrent_restores_first_read_values_and_keeps_their_digests() -> None:
    from chaosaws_serverless.awslambda.engine.merge import absorb_concurrent

    first = {"A": "1", CONTRACT.latency_value: "3"}
    theirs = {**first, "A": "2", **CONTRACT.latency_environment(9000, 0.5)}
    absorbed = absorb_concurrent(first, [OTHER], theirs, [OTHER, LAYER], CONTRACT.variables, LAYER)
    # "A" is not a fault variable: a deploy's change is kept as the new base.
    assert absorbed.environment == {"A": "2", CONTRACT.latency_value: "3"}
    assert absorbed.layers == [OTHER] and absorbed.layers_added == [LAYER]
    assert absorbed.digests[CONTRACT.latency_value] == [digest("9")]
    nothing = absorb_concurrent(first, [OTHER], first, [OTHER], CONTRACT.variables, LAYER)
    assert (nothing.environment, nothing.layers, nothing.digests) == (first, [OTHER], {})
