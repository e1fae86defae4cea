"""Tolerance helpers, called the way chaoslib calls a probe tolerance (argument ``value``)."""

import pytest
from chaoslib.exceptions import ActivityFailed
from chaoslib.hypothesis import within_tolerance

from chaosaws_serverless.cloudwatch import tolerances


def tolerance(func: str, **arguments: object) -> dict:
    return {
        "type": "probe",
        "name": func,
        "provider": {
            "type": "python",
            "module": "chaosaws_serverless.cloudwatch.tolerances",
            "func": func,
            "arguments": arguments,
        },
    }


@pytest.mark.parametrize(
    ("func", "arguments", "value", "expected"),
    [
        ("ratio_at_most", {"max_ratio": 0.05}, 0.04, True),
        ("ratio_at_most", {"max_ratio": 0.05}, 0.05, True),
        ("ratio_at_most", {"max_ratio": 0.05}, 0.2, False),
        ("ratio_at_most", {"max_ratio": "0.05"}, 0.01, True),  # substituted configuration
        ("ratio_at_least", {"min_ratio": 0.9}, 0.95, True),
        ("ratio_at_least", {"min_ratio": 0.9}, 0.5, False),
        ("at_most", {"maximum": 120}, 45.5, True),
        ("at_least", {"minimum": 10}, 3, False),
        ("is_empty", {}, [], True),
        ("is_empty", {}, ["the US check probes the EU domain"], False),
    ],
)
def test_chaoslib_passes_the_probe_value(
    func: str, arguments: dict, value: object, expected: bool
) -> None:
    assert within_tolerance(tolerance(func, **arguments), value) is expected


@pytest.mark.parametrize("value", [None, "no data", True, float("nan"), {"ratio": 0.01}])
def test_a_value_that_is_not_a_number_never_passes(value: object) -> None:
    assert tolerances.ratio_at_most(value, max_ratio=0.05) is False
    assert tolerances.is_empty("") is False


def test_a_bad_limit_is_a_clear_error() -> None:
    with pytest.raises(ActivityFailed, match=r"max_ratio is a ratio: .* 0\.\.1, got 5"):
        tolerances.ratio_at_most(0.01, max_ratio=5)
    with pytest.raises(ActivityFailed, match="maximum must be a number, got 'lots'"):
        tolerances.at_most(1, maximum="lots")
    # chaoslib turns the error into a failed tolerance, never a pass.
    assert within_tolerance(tolerance("ratio_at_most", max_ratio=5), 0.0) is False
