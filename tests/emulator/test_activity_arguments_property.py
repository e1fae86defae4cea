"""Hypothesis throws arguments of the wrong type at every public activity: refused, nothing changed.

For each activity chaos discover lists (``load_exported_activities``), every
argument gets a JSON value of another type than the one discovery reports
(a list where a string belongs, text where a number, a number where an object):
the activity must raise ``ActivityFailed`` (the one line chaoslib records),
never another exception (chaoslib would log its traceback), and the moto
server's state must be exactly as before (functions read back with boto3).
``CHAOSAWS_PROPERTY_EXAMPLES`` raises the budget.
"""

import importlib
import os
from collections.abc import Callable
from typing import Any

import pytest
from chaoslib.exceptions import ActivityFailed
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chaosaws_serverless import load_exported_activities
from tests.support.lambdas import World
from tests.support.snapshots import snapshot

US, EU = "us-east-1", "eu-west-1"
EXAMPLES = int(os.environ.get("CHAOSAWS_PROPERTY_EXAMPLES", "4"))
ACTIVITIES = sorted(
    (a["mod"], a["name"], tuple((x["name"], x.get("type", "object")) for x in a["arguments"]))
    for a in load_exported_activities()
)

_text = st.text(max_size=6).filter(lambda t: not t.strip().lstrip("-").replace(".", "").isdigit())
_scalars = {
    "string": st.integers() | st.floats(allow_nan=False) | st.booleans(),
    "integer": _text | st.booleans(),
    "number": _text | st.booleans(),
    "boolean": _text | st.integers(min_value=2),
    "mapping": _text | st.integers() | st.lists(st.integers(), max_size=2),
    "list": st.integers() | st.booleans() | st.dictionaries(_text, st.integers(), max_size=2),
}
_containers = st.lists(st.integers(), min_size=1, max_size=2) | st.dictionaries(
    st.text(max_size=3), st.integers(), min_size=1, max_size=2
)


def wrong(kind: str) -> st.SearchStrategy[Any]:
    """Return values of another JSON type than ``kind`` (a string or number takes containers)."""
    if kind in ("string", "integer", "number", "boolean"):
        return _scalars[kind] | _containers
    return _scalars.get(kind, st.nothing())


@pytest.fixture
def arranged(world: World, configuration: dict[str, Any]) -> dict[str, Any]:
    world.layer(US)
    world.function("api-hello", tags={"service": "checkout"})
    world.function("api-health", region=EU)
    return snapshot(configuration["aws_endpoint_url"], [US, EU])


@pytest.mark.parametrize(("module", "func", "parameters"), ACTIVITIES, ids=lambda v: str(v))
def test_wrong_argument_types_are_refused_and_change_nothing(
    module: str,
    func: str,
    parameters: tuple[tuple[str, str], ...],
    configuration: dict[str, Any],
    arranged: dict[str, Any],
) -> None:
    activity: Callable[..., Any] = getattr(importlib.import_module(module), func)
    typed = [(name, kind) for name, kind in parameters if wrong(kind) is not st.nothing()]
    if not typed:
        pytest.skip(f"{func} takes only untyped arguments")

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(st.fixed_dictionaries({name: wrong(kind) for name, kind in typed}))
    def refused(arguments: dict[str, Any]) -> None:
        try:
            activity(**arguments, configuration=configuration, secrets=None)
        except ActivityFailed:
            pass
        else:
            raise AssertionError(f"{func}({arguments}) was not refused")
        assert snapshot(configuration["aws_endpoint_url"], [US, EU]) == arranged

    refused()
