"""The package's one walk over an experiment's activities is chaoslib's, safe on raw JSON."""

import json
from pathlib import Path

import pytest
from chaoslib.activity import get_all_activities_in_experiment

from chaosaws_serverless.experiment import activities, package_provider

EXPERIMENTS = sorted((Path(__file__).parents[2] / "experiments").glob("*.json"))
PROBE = {"type": "probe", "name": "p", "provider": {"type": "python", "module": "m", "func": "f"}}
ACTION = {"type": "action", "name": "a", "provider": {"type": "python", "module": "m", "func": "g"}}


@pytest.mark.parametrize("path", EXPERIMENTS, ids=lambda p: p.name)
def test_on_every_shipped_experiment_it_is_chaoslib_s_walk(path: Path) -> None:
    experiment = json.loads(path.read_text(encoding="utf-8"))
    assert activities(experiment) == get_all_activities_in_experiment(experiment)


def test_null_or_missing_sections_are_empty_where_chaoslib_s_walk_fails() -> None:
    experiment = {"steady-state-hypothesis": None, "method": [ACTION], "rollbacks": None}
    with pytest.raises(TypeError):
        get_all_activities_in_experiment(experiment)
    assert activities(experiment) == [ACTION]
    assert activities({}) == []
    assert activities({"steady-state-hypothesis": {"probes": None}, "method": None}) == []


def test_order_is_hypothesis_method_rollbacks_and_references_are_skipped() -> None:
    rollback = {**ACTION, "name": "r"}
    experiment = {
        "rollbacks": [rollback],
        "method": [ACTION, "p"],  # "p": a reference to the probe declared in the hypothesis
        "steady-state-hypothesis": {"title": "t", "probes": [PROBE]},
    }
    assert activities(experiment) == [PROBE, ACTION, rollback]


def test_package_provider_is_a_python_function_of_this_package_only() -> None:
    ours = {"type": "python", "module": "chaosaws_serverless.awslambda.actions", "func": "x"}
    assert package_provider({"provider": ours}) == ours
    assert package_provider({"provider": {**ours, "module": "chaosaws.awslambda.actions"}}) == {}
    assert package_provider({"provider": {"type": "process", "path": "ls"}}) == {}
    assert package_provider({"provider": None}) == {}
