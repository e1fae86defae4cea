"""Blast radius by tags on the moto server: selection, ceiling, all-or-nothing, exact rollback.

The judge is plain boto3 reading each function's layers, environment and
tags; the package's own modules only arrange the state under test.
"""

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from chaoslib.exceptions import ActivityFailed

from chaosaws_serverless.aws import client
from chaosaws_serverless.awslambda import actions, faults
from tests.support.lambdas import World

US = "us-east-1"
RECORD = "chaosaws-serverless:fault:"
WRITES = {"UpdateFunctionConfiguration", "TagResource", "UntagResource", "PublishVersion"}


@pytest.fixture
def lambda_calls(configuration: dict[str, Any]) -> Iterator[list[str]]:
    """Record the Lambda operations the package's own client sends."""
    seen: list[str] = []

    def hook(event_name: str, **_: Any) -> None:
        seen.append(event_name.rsplit(".", 1)[-1])

    events = client("lambda", US, configuration).meta.events
    events.register("before-send.lambda.*", hook)
    yield seen
    events.unregister("before-send.lambda.*", hook)


def fleet(world: World, service: str, count: int, **kw: Any) -> list[str]:
    names = [f"{service}-{i:02d}" for i in range(count)]
    for name in names:
        world.function(name, env={"N": name}, tags={"service": service}, **kw)
    return names


def untouched(world: World, name: str) -> bool:
    """The function is exactly as created: its variables, no layer, no record."""
    tags = world.tags(name)
    return (
        world.env(name) == {"N": name}
        and world.layers(name) == []
        and not any(k.startswith(RECORD) for k in tags)
    )


def faulted(world: World, name: str, chaos: str) -> bool:
    env = world.env(name)
    return chaos in world.layers(name) and env.get("AWS_LAMBDA_EXEC_WRAPPER") == "/opt/bootstrap"


def test_percent_20_of_25_picks_5_and_the_rollback_restores_exactly_those(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 25 functions: the 5 picked are more than the threads that change and restore them
    # (tag_targets.WORKERS, 4), and 20 stay untouched; PERCENT's arithmetic on other sizes
    # (50 -> 10, ...) is checked in tests/unit/test_lambda_tag_targets.py.
    chaos = world.layer()
    checkout = fleet(world, "checkout", 25)
    payments = fleet(world, "payments", 3)
    # Another experiment (another run) holds a fault on the payments functions.
    monkeypatch.setattr(faults, "injector", lambda: "bob@elsewhere pid 1")
    actions.inject_error_by_tags(
        {"service": "payments"}, selection_id="payments-exp", configuration=world.configuration
    )
    monkeypatch.undo()

    result = actions.inject_latency_by_tags(
        {"service": "checkout"},
        latency_ms=3000,
        selection="PERCENT(20)",
        configuration=world.configuration,
    )
    picked = result["functions"]
    assert len(picked) == 5 and set(picked) <= set(checkout)
    assert result["matched"] == 25 and result["found_by"] == "tagging-api"
    assert all(faulted(world, name, chaos) for name in picked)
    assert all(untouched(world, name) for name in checkout if name not in picked)

    # The rollback runs in a fresh process: it knows only the tags (the
    # selection id is derived from them), the record in AWS does the rest.
    env = {**os.environ, "AWS_ENDPOINT_URL": world.configuration["aws_endpoint_url"]}
    code = (
        "import json; from chaosaws_serverless.awslambda import actions; "
        f"print(json.dumps(actions.remove_faults_by_tags({{'service': 'checkout'}}, "
        f"configuration={{'aws_region': '{US}'}})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["restored"] == sorted(picked)
    assert report["selection_id"] == result["selection_id"]
    assert all(untouched(world, name) for name in checkout)
    # The other experiment's functions keep its fault.
    assert all(faulted(world, name, chaos) for name in payments)
    # Idempotent.
    again = actions.remove_faults_by_tags(
        {"service": "checkout"}, configuration=world.configuration
    )
    assert again["restored"] == []


def test_the_ceiling_refuses_before_any_change(world: World, lambda_calls: list[str]) -> None:
    world.layer()
    checkout = fleet(world, "checkout", 10)
    world.configuration["lambda_max_functions_per_action"] = 1
    with pytest.raises(ActivityFailed, match=r"2 functions, more than the ceiling of 1"):
        actions.inject_latency_by_tags(
            {"service": "checkout"},
            1000,
            selection="PERCENT(20)",
            configuration=world.configuration,
        )
    assert not WRITES & set(lambda_calls)
    assert all(untouched(world, name) for name in checkout)


def test_one_refused_function_refuses_the_whole_target(
    world: World, lambda_calls: list[str]
) -> None:
    world.layer()
    names = fleet(world, "checkout", 6)
    # Another wrapper on one of them: inject_latency refuses that function.
    world.set_env({"N": names[3], "AWS_LAMBDA_EXEC_WRAPPER": "/opt/other"}, name=names[3])
    with pytest.raises(ActivityFailed) as refused:
        actions.inject_latency_by_tags(
            {"service": "checkout"}, 1000, configuration=world.configuration
        )
    message = str(refused.value)
    assert "1 of the 6 selected" in message and names[3] in message
    assert "none was changed" in message
    assert not WRITES & set(lambda_calls)
    assert all(untouched(world, name) for name in names if name != names[3])


def test_a_selection_id_held_by_another_run_is_refused(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.layer()
    names = fleet(world, "checkout", 4)
    monkeypatch.setattr(faults, "injector", lambda: "bob@elsewhere pid 1")
    first = actions.inject_latency_by_tags(
        {"service": "checkout"}, 1000, selection="COUNT(2)", configuration=world.configuration
    )
    monkeypatch.undo()
    with pytest.raises(ActivityFailed, match="in use by another run"):
        actions.inject_latency_by_tags(
            {"service": "checkout"}, 1000, selection="COUNT(2)", configuration=world.configuration
        )
    others = [n for n in names if n not in first["functions"]]
    assert all(untouched(world, name) for name in others)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"tags": {}}, "tags must be a non-empty object"),
        ({"tags": {"service": 3}}, "must have a string value"),
        ({"selection": "HALF"}, "selection must be ALL, COUNT\\(n\\) or PERCENT\\(p\\)"),
        ({"selection": "PERCENT(0)"}, "PERCENT\\(p\\) needs p in 1..100"),
        ({"selection_id": "has space"}, "selection_id must be"),
        ({"tags": {"service": "nobody"}}, "no function carries tags service=nobody"),
    ],
)
def test_bad_targets_are_refused_with_the_value(
    world: World, kwargs: dict[str, Any], match: str
) -> None:
    world.layer()
    fleet(world, "checkout", 2)
    arguments: dict[str, Any] = {"tags": {"service": "checkout"}, "latency_ms": 1000, **kwargs}
    with pytest.raises(ActivityFailed, match=match):
        actions.inject_latency_by_tags(**arguments, configuration=world.configuration)


@pytest.mark.parametrize(("ceiling", "bound"), [(1, "the ceiling of 1"), (20, "the 1 that")])
def test_a_re_run_counts_the_functions_its_selection_already_holds(
    world: World, lambda_calls: list[str], ceiling: int, bound: str
) -> None:
    chaos = world.layer()
    names = fleet(world, "checkout", 4)
    first = actions.inject_latency_by_tags(
        {"service": "checkout"},
        1000,
        selection="COUNT(3)",
        selection_id="game-day",
        configuration=world.configuration,
    )
    held = first["functions"]
    before = {name: (world.env(name), world.layers(name), world.tags(name)) for name in names}
    lambda_calls.clear()
    world.configuration["lambda_max_functions_per_action"] = ceiling
    with pytest.raises(ActivityFailed, match=f"already holds 3 .*more than {bound}"):
        actions.inject_latency_by_tags(
            {"service": "checkout"},
            2000,
            selection="COUNT(1)",
            selection_id="game-day",
            configuration=world.configuration,
        )
    assert not WRITES & set(lambda_calls)
    after = {name: (world.env(name), world.layers(name), world.tags(name)) for name in names}
    assert after == before
    assert all(faulted(world, name, chaos) for name in held)
    assert world.env(held[0])["CHAOS_EXTENSION__LAMBDA__LATENCY_VALUE"] == "1"
