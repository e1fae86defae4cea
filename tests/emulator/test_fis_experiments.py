"""FIS templates created, started and stopped in the moto server (state advances per read)."""

import json
from pathlib import Path
from typing import Any, Callable

import pytest
from chaoslib.exceptions import ActivityFailed

from chaosaws_serverless.fis import actions, probes
from chaosaws_serverless.fis.templates import build_lambda_latency_template

ROLE = "arn:aws:iam::123456789012:role/fis-experiment"


def template(name: str = "region-failure", mode: str = "ssm-automation") -> dict[str, Any]:
    return build_lambda_latency_template(
        ["hello-us-east-1", "health-us-east-1"],
        60000,
        600,
        ROLE,
        "us-east-1",
        mode=mode,
        layer_arn="arn:aws:lambda:us-east-1:123456789012:layer:chaos-lambda-extension:1",
        automation_role_arn="arn:aws:iam::123456789012:role/chaos-layer-automation",
        tags={"Name": name},
    )


@pytest.mark.parametrize("mode", ["ssm-automation", "fis-extension"])
def test_template_is_created_and_stored_as_built(
    configuration: dict[str, Any], aws: Callable[..., Any], mode: str
) -> None:
    built = template(mode=mode)
    created = actions.create_experiment_template(built, configuration=configuration)
    assert created["created"] is True
    stored = aws("fis").get_experiment_template(id=created["template_id"])["experimentTemplate"]
    assert stored["actions"] == built["actions"]
    assert stored["targets"] == built["targets"]
    assert stored["tags"]["Name"] == "region-failure"


def test_same_name_updates_in_place_and_a_file_path_works(
    configuration: dict[str, Any], aws: Callable[..., Any], tmp_path: Path
) -> None:
    first = actions.create_experiment_template(template(), configuration=configuration)
    path = tmp_path / "template.json"
    changed = template()
    changed["description"] = "second version"
    path.write_text(json.dumps(changed))
    second = actions.create_experiment_template(str(path), configuration=configuration)
    assert second == {**first, "created": False}
    listed = aws("fis").list_experiment_templates()["experimentTemplates"]
    assert [t["description"] for t in listed] == ["second version"]


def test_start_waits_until_completed(configuration: dict[str, Any]) -> None:
    actions.create_experiment_template(template(), configuration=configuration)
    result = actions.start_experiment(
        "region-failure", poll_interval_seconds=0, configuration=configuration
    )
    assert result["state"] == "completed"
    assert result["region"] == "us-east-1"
    assert probes.get_experiment_state(result["experiment_id"], configuration=configuration) == (
        "completed"
    )


def test_stop_is_the_rollback_and_the_wait_fails_on_stopped(
    configuration: dict[str, Any], aws: Callable[..., Any]
) -> None:
    created = actions.create_experiment_template(template(), configuration=configuration)
    started = actions.start_experiment(
        created["template_id"], wait=False, configuration=configuration
    )
    assert started["state"] == "pending"
    experiment_id = started["experiment_id"]
    # With no argument the rollback finds what this package started.
    stopped = actions.stop_experiment(restore_functions=False, configuration=configuration)
    assert stopped == {"stopped": [experiment_id], "restored": [], "region": "us-east-1"}
    assert probes.get_experiment_state(experiment_id, configuration=configuration) == "stopped"
    again = actions.stop_experiment(
        experiment_id, restore_functions=False, configuration=configuration
    )
    assert again["stopped"] == []
    by_template = actions.stop_experiment(
        template_id="region-failure", restore_functions=False, configuration=configuration
    )
    assert by_template["stopped"] == []


def test_wait_fails_when_fis_stops_the_experiment(
    configuration: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    actions.create_experiment_template(template(), configuration=configuration)
    real_sleep = actions.time.sleep

    def stop_during_wait(seconds: float) -> None:
        # A stop condition firing while the activity polls.
        actions.stop_experiment(restore_functions=False, configuration=configuration)
        real_sleep(0)

    monkeypatch.setattr(actions.time, "sleep", stop_during_wait)
    with pytest.raises(ActivityFailed, match=r"ended 'stopped': Experiment stopped"):
        actions.start_experiment("region-failure", configuration=configuration)


def test_timeout_stops_the_experiment(configuration: dict[str, Any]) -> None:
    actions.create_experiment_template(template(), configuration=configuration)
    with pytest.raises(ActivityFailed, match="after 1e-06 s; it was stopped"):
        actions.start_experiment(
            "region-failure",
            timeout_seconds=0.000001,
            poll_interval_seconds=0,
            configuration=configuration,
        )
    assert (
        actions.stop_experiment(restore_functions=False, configuration=configuration)["stopped"]
        == []
    )


def test_unknown_template_and_experiment_are_named(configuration: dict[str, Any]) -> None:
    with pytest.raises(ActivityFailed, match="no FIS template with id or Name tag 'nope'"):
        actions.start_experiment("nope", configuration=configuration)
    with pytest.raises(ActivityFailed, match="fis:GetExperiment on FIS experiment 'EXPnope'"):
        probes.get_experiment_state("EXPnope", configuration=configuration)
    assert actions.delete_experiment_template("nope", configuration=configuration) is False


def test_delete_is_the_rollback_of_create(
    configuration: dict[str, Any], aws: Callable[..., Any]
) -> None:
    actions.create_experiment_template(template(), configuration=configuration)
    assert actions.delete_experiment_template("region-failure", configuration=configuration)
    assert aws("fis").list_experiment_templates()["experimentTemplates"] == []


def test_stopping_restores_the_functions_whose_disabled_action_never_ran(
    configuration: dict[str, Any], aws: Callable[..., Any]
) -> None:
    from chaosaws_serverless.awslambda import actions as lambda_actions
    from tests.support.lambdas import code_zip

    lam = aws("lambda")
    role = aws("iam").create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    layer = lam.publish_layer_version(
        LayerName="chaos-lambda-extension", Content={"ZipFile": code_zip()}
    )["LayerVersionArn"]
    for name in ("hello-us-east-1", "health-us-east-1"):
        lam.create_function(
            FunctionName=name,
            Runtime="python3.11",
            Role=role,
            Handler="app.handler",
            Code={"ZipFile": code_zip()},
            Environment={"Variables": {"A": "1"}},
        )
        # What the template's ENABLED automations did before the stop.
        lambda_actions.inject_latency(name, 60000, layer_arn=layer, configuration=configuration)
    actions.create_experiment_template(template(), configuration=configuration)
    started = actions.start_experiment("region-failure", wait=False, configuration=configuration)

    result = actions.stop_experiment(configuration=configuration)
    assert result["stopped"] == [started["experiment_id"]]
    assert result["restored"] == ["hello-us-east-1", "health-us-east-1"]
    for name in ("hello-us-east-1", "health-us-east-1"):
        config = lam.get_function(FunctionName=name)["Configuration"]
        assert config["Environment"]["Variables"] == {"A": "1"}
        assert not config.get("Layers")
    # A stop condition already ended it: the rollback still finds the newest experiment.
    assert actions.stop_experiment(configuration=configuration) == {
        "stopped": [],
        "restored": [],
        "region": "us-east-1",
    }


def test_seconds_substituted_from_the_configuration_may_be_strings(
    configuration: dict[str, Any],
) -> None:
    actions.create_experiment_template(template(), configuration=configuration)
    result = actions.start_experiment(
        "region-failure",
        wait="true",  # type: ignore[arg-type]  # as a ${...} substitution can deliver it
        timeout_seconds="1200",  # type: ignore[arg-type]
        poll_interval_seconds="0",  # type: ignore[arg-type]
        configuration=configuration,
    )
    assert result["state"] == "completed"
    with pytest.raises(ActivityFailed, match="timeout_seconds must be a positive number"):
        actions.start_experiment(
            "region-failure",
            timeout_seconds="soon",  # type: ignore[arg-type]
            configuration=configuration,
        )
