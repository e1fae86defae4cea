"""Region evacuation drills on the moto server: the health check inverted, restored exactly.

The judge is plain boto3 (GetHealthCheck, ListTagsForResource); another run's
record is written here with base64 and json.
"""

import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from chaoslib.exceptions import ActivityFailed

from chaosaws_serverless.route53 import actions
from tests.support.route53 import health_check

RECORD = "chaosaws-serverless:evacuation"


def config_of(aws: Callable[..., Any], check_id: str) -> dict[str, Any]:
    return dict(aws("route53").get_health_check(HealthCheckId=check_id)["HealthCheck"])


def tags_of(aws: Callable[..., Any], check_id: str) -> dict[str, str]:
    tag_set = aws("route53").list_tags_for_resource(ResourceType="healthcheck", ResourceId=check_id)
    return {t["Key"]: t["Value"] for t in tag_set["ResourceTagSet"].get("Tags") or []}


def tag(aws: Callable[..., Any], check_id: str, tags: dict[str, str]) -> None:
    aws("route53").change_tags_for_resource(
        ResourceType="healthcheck",
        ResourceId=check_id,
        AddTags=[{"Key": k, "Value": v} for k, v in tags.items()],
    )


def test_evacuation_round_trip_from_a_fresh_process(
    aws: Callable[..., Any], configuration: dict[str, Any]
) -> None:
    check_id = health_check(aws("route53"), "example.us.mydomain.com")
    tag(aws, check_id, {"Name": "api-us-east-1"})
    before = config_of(aws, check_id)["HealthCheckConfig"]
    result = actions.evacuate_region(check_id, configuration=configuration)
    assert (result["inverted_before"], result["inverted"]) == (False, True)
    assert config_of(aws, check_id)["HealthCheckConfig"]["Inverted"] is True
    assert RECORD in tags_of(aws, check_id)
    script = (
        "import json, sys\n"
        "from chaosaws_serverless.route53.actions import restore_region\n"
        "print(json.dumps(restore_region(sys.argv[1], configuration=json.loads(sys.argv[2]))))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, check_id, json.dumps(configuration)],
        check=True,
        capture_output=True,
        text=True,
    )
    assert json.loads(out.stdout.strip().splitlines()[-1])["restored"] is True
    assert config_of(aws, check_id)["HealthCheckConfig"] == before
    assert tags_of(aws, check_id) == {"Name": "api-us-east-1"}
    again = actions.restore_region(check_id, configuration=configuration)
    assert again["restored"] is False


def test_a_disabled_check_is_evacuated_as_the_api_reference_says(
    aws: Callable[..., Any], configuration: dict[str, Any]
) -> None:
    # UpdateHealthCheck, Disabled: always healthy when disabled; "in disabled state, you can
    # also invert the status of the health check to route traffic differently".
    check_id = health_check(aws("route53"), "example.us.mydomain.com", Disabled=True)
    result = actions.evacuate_region(check_id, configuration=configuration)
    assert result["disabled"] is True
    config = config_of(aws, check_id)["HealthCheckConfig"]
    assert (config["Disabled"], config["Inverted"]) == (True, True)
    actions.restore_region(check_id, configuration=configuration)
    config = config_of(aws, check_id)["HealthCheckConfig"]
    assert (config["Disabled"], config["Inverted"]) == (True, False)


def test_an_inverted_value_someone_set_during_the_drill_is_kept(
    aws: Callable[..., Any], configuration: dict[str, Any]
) -> None:
    check_id = health_check(aws("route53"), "example.us.mydomain.com")
    actions.evacuate_region(check_id, configuration=configuration)
    version = config_of(aws, check_id)["HealthCheckVersion"]
    aws("route53").update_health_check(
        HealthCheckId=check_id, HealthCheckVersion=version, Inverted=False, FailureThreshold=5
    )
    result = actions.restore_region(check_id, configuration=configuration)
    assert result["kept_concurrent_change"] is True
    config = config_of(aws, check_id)["HealthCheckConfig"]
    assert (config["Inverted"], config["FailureThreshold"]) == (False, 5)
    assert RECORD not in tags_of(aws, check_id)


def foreign_record() -> dict[str, str]:
    return {RECORD: "v1 was=false at=2026-01-01T00:00:00Z by=bob@elsewhere pid 1"}


@pytest.mark.parametrize(
    ("arrange", "expected"),
    [
        ("inverted", "already inverted"),
        ("foreign", "already evacuated by bob@elsewhere"),
        ("full", "over Route 53's 10 tags"),
    ],
)
def test_refusals_change_nothing(
    aws: Callable[..., Any], configuration: dict[str, Any], arrange: str, expected: str
) -> None:
    check_id = health_check(
        aws("route53"), "example.us.mydomain.com", Inverted=arrange == "inverted"
    )
    if arrange == "foreign":
        tag(aws, check_id, foreign_record())
    if arrange == "full":
        tag(aws, check_id, {f"team-{i}": "x" for i in range(10)})
    before = (config_of(aws, check_id)["HealthCheckConfig"], tags_of(aws, check_id))
    with pytest.raises(ActivityFailed, match=expected) as error:
        actions.evacuate_region(check_id, configuration=configuration)
    assert "\n" not in str(error.value)
    assert (config_of(aws, check_id)["HealthCheckConfig"], tags_of(aws, check_id)) == before


@pytest.mark.parametrize("bad", ["", None, 42])
def test_bad_health_check_id_is_one_line(configuration: dict[str, Any], bad: Any) -> None:
    with pytest.raises(ActivityFailed, match="health_check_id must be"):
        actions.evacuate_region(bad, configuration=configuration)


def test_an_unknown_health_check_names_the_call(configuration: dict[str, Any]) -> None:
    with pytest.raises(ActivityFailed, match="route53:GetHealthCheck") as error:
        actions.evacuate_region("11111111-2222-3333-4444-555555555555", configuration=configuration)
    assert "NoSuchHealthCheck" in str(error.value)


def test_the_rollback_command_restores_evacuation_drills(
    aws: Callable[..., Any], configuration: dict[str, Any]
) -> None:
    from click.testing import CliRunner

    from chaosaws_serverless.cli import main

    drilled = health_check(aws("route53"), "example.us.mydomain.com")
    untouched = health_check(aws("route53"), "example.eu.mydomain.com", Inverted=True)
    actions.evacuate_region(drilled, configuration=configuration)
    endpoint = configuration["aws_endpoint_url"]
    result = CliRunner().invoke(
        main, ["rollback", "--region", "us-east-1", "--endpoint-url", endpoint]
    )
    assert result.exit_code == 0, result.output
    assert f"health check {drilled}: evacuation drill restored (Inverted=false)" in result.output
    assert config_of(aws, drilled)["HealthCheckConfig"]["Inverted"] is False
    assert config_of(aws, untouched)["HealthCheckConfig"]["Inverted"] is True
    assert RECORD not in tags_of(aws, drilled)


def test_the_doctor_checks_an_evacuation_drill_without_changing_it(
    aws: Callable[..., Any], configuration: dict[str, Any]
) -> None:
    from chaosaws_serverless.doctor.evacuations import evacuation_target
    from chaosaws_serverless.doctor.plan import plan_experiment

    check_id = health_check(aws("route53"), "example.us.mydomain.com")
    experiment = {
        "method": [
            {
                "type": "action",
                "name": "evacuate-us-region",
                "provider": {
                    "type": "python",
                    "module": "chaosaws_serverless.route53.actions",
                    "func": "evacuate_region",
                    "arguments": {"health_check_id": "${us_health_check_id}"},
                },
            }
        ]
    }
    plan = plan_experiment(experiment, {**configuration, "us_health_check_id": check_id})
    assert plan.evacuations == [check_id]
    assert evacuation_target(check_id, configuration, None).verdict == "pass"
    tag(aws, check_id, foreign_record())
    check = evacuation_target(check_id, configuration, None)
    assert check.verdict == "fail" and "bob@elsewhere" in check.detail
    assert config_of(aws, check_id)["HealthCheckConfig"]["Inverted"] is False
