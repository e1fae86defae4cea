"""Concurrency: two experiments on one function, and many functions injected in parallel.

The second experiment on a function is refused with a message naming the
first (who, since when), or, when the two race, the function still ends exactly
as it was: never a stacked fault, never a lost original state.
"""

import contextlib
import json
import subprocess
import sys
import threading
from typing import Any

import pytest
from chaoslib.exceptions import ActivityFailed

from chaosaws_serverless import aws
from chaosaws_serverless.awslambda.actions import (
    inject_error,
    inject_latency,
    remove_all_faults,
    remove_faults,
)
from tests.support.faultproxy import FaultProxy
from tests.support.flaky import REGION, create_fleet
from tests.support.interruption import environment
from tests.support.snapshots import differences, snapshot


def _inject_in_another_process(endpoint_url: str, name: str, layer: str) -> None:
    """Experiment one: a separate `chaos run`-like process injects and exits (fault left on)."""
    code = (
        "from chaosaws_serverless.awslambda.actions import inject_latency as i;"
        f"i({name!r}, 60000, 1.0, {REGION!r}, None, {layer!r},"
        f" configuration={{'aws_endpoint_url': {endpoint_url!r}, 'fault_switch': 'off'}})"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env=environment(endpoint_url))


def test_second_experiment_on_a_function_is_refused_naming_the_first(
    configuration: dict[str, Any],
) -> None:
    url = configuration["aws_endpoint_url"]
    fleet = create_fleet(url, 1, secret="s")
    name = fleet.names[0]
    _inject_in_another_process(url, name, fleet.chaos_layer)
    with pytest.raises(ActivityFailed, match=r"injected by .*@.* at \d{4}-"):
        inject_error(
            name, 500, None, 1.0, REGION, None, fleet.chaos_layer, configuration=configuration
        )


def test_second_experiment_never_stacks_nor_loses_the_original(
    configuration: dict[str, Any],
) -> None:
    url = configuration["aws_endpoint_url"]
    fleet = create_fleet(url, 1, secret="s")
    name = fleet.names[0]
    before = snapshot(url, [REGION])
    _inject_in_another_process(url, name, fleet.chaos_layer)
    with contextlib.suppress(ActivityFailed):
        inject_error(
            name, 500, None, 1.0, REGION, None, fleet.chaos_layer, configuration=configuration
        )
    layers = snapshot(url, [REGION])[f"{REGION}/{name}"]["Layers"]
    assert layers.count(fleet.chaos_layer) == 1
    remove_faults(name, REGION, configuration=configuration)  # experiment two's rollback
    remove_faults(name, REGION, configuration=configuration)  # experiment one's rollback
    assert differences(before, snapshot(url, [REGION])) == {}


@pytest.mark.parametrize("fault_rate", [0.0, 0.3])
def test_two_racing_injections_into_one_function_roll_back_exactly(
    configuration: dict[str, Any], fault_rate: float
) -> None:
    url = configuration["aws_endpoint_url"]
    fleet = create_fleet(url, 1, secret="s")
    name = fleet.names[0]
    before = snapshot(url, [REGION])
    with FaultProxy(url, fault_rate=fault_rate, seed=5, kinds=["conflict", "throttle"]) as proxy:
        config = {**configuration, "aws_endpoint_url": proxy.url}
        aws.clear_client_cache()
        barrier = threading.Barrier(2)
        outcomes: list[str] = []

        def latency() -> None:
            barrier.wait()
            try:
                inject_latency(
                    name, 3000, 1.0, REGION, None, fleet.chaos_layer, configuration=config
                )
                outcomes.append("latency")
            except ActivityFailed as error:
                outcomes.append(f"refused: {error}")

        def error() -> None:
            barrier.wait()
            try:
                inject_error(
                    name, 502, None, 1.0, REGION, None, fleet.chaos_layer, configuration=config
                )
                outcomes.append("error")
            except ActivityFailed as error:
                outcomes.append(f"refused: {error}")

        threads = [threading.Thread(target=latency), threading.Thread(target=error)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        picture = snapshot(url, [REGION])[f"{REGION}/{name}"]
        assert picture["Layers"].count(fleet.chaos_layer) <= 1, outcomes
        remove_faults(name, REGION, configuration=config)
        remove_faults(name, REGION, configuration=config)
    aws.clear_client_cache()
    assert differences(before, snapshot(url, [REGION])) == {}, outcomes


def test_many_functions_injected_by_background_activities_are_all_restored(
    configuration: dict[str, Any], tmp_path: Any
) -> None:
    """A `chaos run` whose method injects into 12 functions as background activities."""
    url = configuration["aws_endpoint_url"]
    fleet = create_fleet(url, 12, secret="s")
    before = snapshot(url, [REGION])
    provider = {"type": "python", "module": "chaosaws_serverless.awslambda.actions"}
    experiment = {
        "version": "1.0.0",
        "title": "every function at once",
        "description": "background injections, one rollback per function",
        "configuration": {"aws_region": REGION, "aws_endpoint_url": url, "fault_switch": "off"},
        "method": [
            {
                "type": "action",
                "name": f"inject-{name}",
                "background": True,
                "provider": {
                    **provider,
                    "func": "inject_latency",
                    "arguments": {
                        "function_name": name,
                        "latency_ms": 2000,
                        "layer_arn": fleet.chaos_layer,
                    },
                },
            }
            for name in fleet.names
        ],
        "rollbacks": [
            {
                "type": "action",
                "name": f"remove-{name}",
                "background": True,
                "provider": {
                    **provider,
                    "func": "remove_faults",
                    "arguments": {"function_name": name},
                },
            }
            for name in fleet.names
        ],
        "runtime": {"rollbacks": {"strategy": "always"}},
    }
    path = tmp_path / "parallel.json"
    path.write_text(json.dumps(experiment))
    journal = tmp_path / "journal.json"
    chaos = str(sys.executable).rsplit("/", 1)[0] + "/chaos"
    subprocess.run(
        [
            chaos,
            "--no-version-check",
            "--settings",
            str(tmp_path / "none.yaml"),
            "run",
            "--journal-path",
            str(journal),
            str(path),
        ],
        cwd=tmp_path,
        env=environment(url),
        capture_output=True,
        text=True,
        timeout=120,
    )
    data = json.loads(journal.read_text())
    assert [r["status"] for r in data["run"]] == ["succeeded"] * 12, data["run"]
    assert [r["status"] for r in data["rollbacks"]] == ["succeeded"] * 12
    assert differences(before, snapshot(url, [REGION])) == {}
    assert remove_all_faults(configuration=configuration)["functions"] == []


@pytest.mark.parametrize(
    "b_conflicts",
    # False: without a RevisionId (moto) nothing tells B its read was stale; B's shorter
    # record must still leave no chunk of A's behind (stale chunks come from a fresh read).
    [False, True],
)
def test_injection_planned_on_a_stale_read_still_rolls_back_exactly(
    configuration: dict[str, Any], monkeypatch: pytest.MonkeyPatch, b_conflicts: bool
) -> None:
    """The race made deterministic: B reads the clean function, A injects, then B writes.

    With ``b_conflicts`` B's first update is answered 409 (an update in
    progress), so B re-reads the function and finds A's fault in it.
    """
    from chaosaws_serverless.awslambda.engine import calls as engine_calls

    url = configuration["aws_endpoint_url"]
    fleet = create_fleet(url, 1, secret="s")
    name = fleet.names[0]
    before = snapshot(url, [REGION])
    lam = aws.client("lambda", REGION, configuration)
    stale = lam.get_function(FunctionName=name)
    inject_error(
        name, 500, "x" * 300, 1.0, REGION, None, fleet.chaos_layer, configuration=configuration
    )
    real_get = lam.get_function
    calls = {"n": 0}

    def first_read_is_stale(**params: Any) -> Any:
        calls["n"] += 1
        return json.loads(json.dumps(stale, default=str)) if calls["n"] == 1 else real_get(**params)

    monkeypatch.setattr(lam, "get_function", first_read_is_stale)
    monkeypatch.setattr(engine_calls, "sleep", lambda seconds: None)
    if b_conflicts:
        real_update = lam.update_function_configuration
        answered = {"n": 0}

        def conflict_once(**params: Any) -> Any:
            answered["n"] += 1
            if answered["n"] == 1:
                from botocore.exceptions import ClientError

                raise ClientError(
                    {"Error": {"Code": "ResourceConflictException", "Message": "in progress"}},
                    "UpdateFunctionConfiguration",
                )
            return real_update(**params)

        monkeypatch.setattr(lam, "update_function_configuration", conflict_once)
    with contextlib.suppress(ActivityFailed):
        inject_latency(
            name, 3000, 1.0, REGION, None, fleet.chaos_layer, configuration=configuration
        )
    monkeypatch.undo()
    picture = snapshot(url, [REGION])[f"{REGION}/{name}"]
    assert picture["Layers"].count(fleet.chaos_layer) == 1
    remove_faults(name, REGION, configuration=configuration)
    remove_faults(name, REGION, configuration=configuration)
    assert differences(before, snapshot(url, [REGION])) == {}
