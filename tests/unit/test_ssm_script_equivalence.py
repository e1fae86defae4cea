"""The SSM script's planning and record code agree with the package's, on generated inputs.

The script cannot import the package (it runs in aws:executeScript), so it
carries its own copy of the three-way merge and of the record format; these
properties catch any drift between the two copies without AWS.
"""

import types

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chaosaws_serverless.awslambda import _merge, _record
from chaosaws_serverless.awslambda.contracts import CHAOS_LAMBDA_EXTENSION
from chaosaws_serverless.ssm import document

LAYER = "arn:aws:lambda:us-east-1:123456789012:layer:chaos-lambda-extension:3"
OTHER_VERSION = "arn:aws:lambda:us-east-1:123456789012:layer:chaos-lambda-extension:2"
CHAOS_VARIABLES = list(CHAOS_LAMBDA_EXTENSION.variables)


def load_script() -> types.ModuleType:
    module = types.ModuleType("chaos_layer_automation")
    source = document.script_path().read_text(encoding="utf-8")
    exec(compile(source, "chaos_layer_automation.py", "exec"), module.__dict__)
    return module


SCRIPT = load_script()

names = st.sampled_from([*CHAOS_VARIABLES, "TABLE", "SECRET", "LOG_LEVEL"])
values = st.sampled_from(["", "true", "false", "1", "60", "/opt/bootstrap", "/opt/otel", "x" * 40])
environments = st.dictionaries(names, values, max_size=8)
layers = st.lists(
    st.sampled_from(
        [
            "arn:aws:lambda:us-east-1:123456789012:layer:powertools:1",
            "arn:aws:lambda:us-east-1:123456789012:layer:otel:7",
            "arn:aws:lambda:us-east-1:123456789012:layer:a:1",
            "arn:aws:lambda:us-east-1:123456789012:layer:b:1",
            OTHER_VERSION,
            LAYER,
        ]
    ),
    max_size=5,
    unique=True,
)


def package_plan(env: dict, layer_list: list, fault_env: dict, previous: object) -> object:
    try:
        return _merge.plan_injection(
            env, layer_list, fault_env, LAYER, CHAOS_LAMBDA_EXTENSION, previous
        )
    except _merge.PlanError:
        return None


def script_plan(env: dict, layer_list: list, fault_env: dict, previous: object) -> object:
    try:
        return SCRIPT.plan_injection(env, layer_list, fault_env, LAYER, previous)
    except SCRIPT.ChaosError:
        return None


def script_record(plan: dict) -> dict:
    return {
        "contract": "chaos-lambda-extension",
        "by": "ssm-automation:x",
        "at": "2026-11-29T06:00:00Z",
        "fault": {"kind": "latency", "latency_ms": 2000, "probability": 1.0},
        "alias": None,
        "layers": plan["appended"],
        "env": plan["env"],
    }


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    env=environments,
    layer_list=layers,
    latency_ms=st.integers(1, 900_000),
    probability=st.sampled_from([0.0, 0.25, 0.5, 1.0]),
    someone=environments,
)
def test_inject_then_someone_changes_then_revert_agree(
    env: dict, layer_list: list, latency_ms: int, probability: float, someone: dict
) -> None:
    fault_env = CHAOS_LAMBDA_EXTENSION.latency_environment(latency_ms, probability)
    assert SCRIPT.latency_environment(latency_ms, probability) == fault_env
    ours, theirs = (
        script_plan(env, layer_list, fault_env, None),
        package_plan(env, layer_list, fault_env, None),
    )
    assert (ours is None) == (theirs is None)
    if ours is None or theirs is None:
        return
    assert ours["environment"] == theirs.environment
    assert ours["layers"] == theirs.layers
    assert ours["appended"] == theirs.appended_layers
    assert {k: (e["was"], e["set"]) for k, e in ours["env"].items()} == {
        k: (e.was, e.set) for k, e in theirs.env_entries.items()
    }

    # The records are one format: each side decodes what the other wrote.
    record = script_record(ours)
    tags = SCRIPT.encode(record)
    decoded = _record.decode(tags)
    assert decoded is not None
    assert decoded.to_json() == SCRIPT.record_to_json(record)
    assert SCRIPT.decode(_record.encode(decoded), "f") == {**record}

    # Someone edits the environment during the fault; both merges keep the same things.
    during = {**ours["environment"], **someone}
    script_reverted = SCRIPT.revert(during, ours["layers"], record)
    package_reverted = _merge.revert(during, ours["layers"], decoded)
    assert script_reverted["environment"] == package_reverted.environment
    assert script_reverted["layers"] == package_reverted.layers
    for key in ("removed_layers", "restored_variables", "removed_variables", "kept_variables"):
        assert script_reverted[key] == getattr(package_reverted, key), key

    # A second injection by the same run replaces the fault in place, the same way.
    again_env = CHAOS_LAMBDA_EXTENSION.latency_environment(max(1, latency_ms // 2), probability)
    second_ours = script_plan(during, ours["layers"], again_env, record)
    second_theirs = package_plan(during, ours["layers"], again_env, decoded)
    assert (second_ours is None) == (second_theirs is None)
    if second_ours is not None and second_theirs is not None:
        assert second_ours["environment"] == second_theirs.environment
        assert second_ours["layers"] == second_theirs.layers
        assert second_ours["appended"] == second_theirs.appended_layers
