"""A misconfigured stop condition refuses to start the experiment (never watches nothing)."""

from typing import Any

import pytest
from chaoslib.exceptions import InterruptExecution

from chaosaws_serverless.controls import stop_condition


@pytest.fixture(autouse=True)
def clean() -> Any:
    yield
    stop_condition.cleanup_control()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"alarm_names": []}, "alarm_names must be a non-empty list"),
        ({"alarm_names": ["a"], "poll_seconds": 0}, "poll_seconds must be a number in 0.1..300"),
        ({"alarm_names": ["a"], "region": "Virginia"}, "'Virginia' is not an AWS region name"),
    ],
)
def test_bad_arguments_stop_the_experiment_before_it_starts(
    arguments: dict[str, Any], message: str
) -> None:
    stop_condition.configure_control(**arguments, configuration={"aws_region": "us-east-1"})
    with pytest.raises(InterruptExecution, match=message):
        stop_condition.before_experiment_control({"title": "t"})


def test_configuration_variables_are_substituted() -> None:
    stop_condition.configure_control(
        alarm_names=["${alarm}"], configuration={"aws_region": "eu-west-1", "alarm": "errors"}
    )
    assert stop_condition._watcher is not None
    assert stop_condition._watcher.alarm_names == ["errors"]
    assert stop_condition._watcher.region == "eu-west-1"


def test_without_configure_the_experiment_does_not_start() -> None:
    with pytest.raises(InterruptExecution, match="was not configured"):
        stop_condition.before_experiment_control({"title": "t"})
