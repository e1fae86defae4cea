"""`chaosaws-serverless fis-template` and `iam-policy` on the shipped experiments."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from chaosaws_serverless.cli import main
from chaosaws_serverless.fis.validation import validate_template

# Not AWS's documentation account 123456789012: fis-template refuses that placeholder.
ACCOUNT = "210987654321"
ROLE = f"arn:aws:iam::{ACCOUNT}:role"
ALARM = f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:eu-errors"
EXPERIMENT = "experiments/region-failure.json"
# The shipped experiments have no values for account-specific keys: these offline tests give some.
VALUES = str(Path(__file__).with_name("example-values.json"))
LAYERS = {
    region: f"arn:aws:lambda:{region}:{ACCOUNT}:layer:chaos-lambda-extension:12"
    for region in ("us-east-1", "eu-west-1")
}


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def values(tmp_path: Path) -> str:
    # The example values with layers of an account that is not the placeholder one.
    configuration = json.loads(Path(VALUES).read_text(encoding="utf-8"))["configuration"]
    path = tmp_path / "my-values.json"
    # Under "configuration", as chaos run reads a var file.
    given = {"configuration": {**configuration, "chaos_layer_arns": LAYERS}}
    path.write_text(json.dumps(given), encoding="utf-8")
    return str(path)


def test_fis_template_compiles_the_reference_experiment(values: str) -> None:
    code, out, err = run(
        "fis-template",
        EXPERIMENT,
        "--var-file",
        values,
        "--role-arn",
        f"{ROLE}/fis",
        "--automation-role-arn",
        f"{ROLE}/automation",
        "--stop-alarm-arn",
        ALARM,
    )
    assert code == 0, err
    assert "warning" not in err
    template = json.loads(out)
    validate_template(template)
    assert template["tags"]["Name"] == "region-failure"
    parameters = json.loads(
        template["actions"]["chaos-layer-2"]["parameters"]["documentParameters"]
    )
    assert parameters["Duration"] == "PT10M"  # fault_duration_seconds
    assert parameters["FunctionName"] == "health-us-east-1"
    assert parameters["LatencyMs"] == "60000"
    assert parameters["LayerArn"] == LAYERS["us-east-1"]
    assert template["stopConditions"] == [{"source": "aws:cloudwatch:alarm", "value": ALARM}]


def test_fis_template_needs_a_stop_condition_or_an_explicit_none(values: str) -> None:
    arguments = ["fis-template", EXPERIMENT, "--var-file", values, "--role-arn", f"{ROLE}/fis"]
    arguments += ["--automation-role-arn", f"{ROLE}/automation"]
    code, out, err = run(*arguments)
    assert code != 0 and out == ""
    assert "no stop condition" in err and "--stop-alarm-arn none" in err
    code, out, err = run(*arguments, "--stop-alarm-arn", "none")
    assert code == 0, err
    assert json.loads(out)["stopConditions"] == [{"source": "none"}]  # FIS's own "no alarm"
    assert "warning: the template has no stop condition" in err
    code, _, err = run(*arguments, "--stop-alarm-arn", "none", "--stop-alarm-arn", ALARM)
    assert code != 0 and "cannot go with alarms" in err


def test_fis_template_refuses_placeholder_values(values: str) -> None:
    # Without --var-file nothing account-specific has a value (the shipped experiments carry
    # no placeholder defaults): refused, naming the option.
    arguments = ["fis-template", EXPERIMENT, "--role-arn", f"{ROLE}/fis", "--stop-alarm-arn"]
    arguments += [ALARM, "--automation-role-arn", f"{ROLE}/automation"]
    code, out, err = run(*arguments)
    assert code != 0 and out == ""
    assert "--var-file" in err and "chaos_layer_arns" in err
    # A value the user passes is theirs (123456789012 is the emulator's account in the lab).
    auto = "arn:aws:iam::123456789012:role/auto"
    code, out, err = run(*arguments[:-1], auto, "--var-file", values)
    assert code == 0, err
    code, _, err = run(*arguments[:-1], "<automation-role>", "--var-file", values)
    assert code != 0 and "<automation-role>" in err
    code, _, err = run(*arguments, "--var-file", values)
    assert code == 0, err


def test_fis_extension_mode_lists_prerequisites_on_stderr(tmp_path: Path) -> None:
    values = tmp_path / "values.json"
    values.write_text(
        json.dumps(
            {
                "configuration": {
                    "fis_role_arn": f"{ROLE}/fis",
                    "fault_duration_seconds": 120,
                    "fis_stop_alarm_arns": [ALARM],
                    "chaos_layer_arns": LAYERS,
                }
            }
        )
    )
    code, out, err = run(
        "fis-template",
        EXPERIMENT,
        "--mode",
        "fis-extension",
        "--var-file",
        VALUES,
        "--var-file",
        str(values),
    )
    assert code == 0, err
    template = json.loads(out)
    assert template["actions"]["delay-1"]["parameters"]["duration"] == "PT2M"
    assert "prerequisite: " in err and "/opt/aws-fis/bootstrap" in err


def test_fis_template_names_what_is_missing() -> None:
    code, _, err = run("fis-template", EXPERIMENT, "--var-file", VALUES)
    assert code != 0 and "pass --role-arn" in err
    code, _, err = run("fis-template", EXPERIMENT, "--role-arn", "x")
    assert code != 0 and "configuration key 'us_hello_function'" in err and "--var-file" in err
    preflight = "experiments/failover-preflight.json"
    code, _, err = run("fis-template", preflight, "--var-file", VALUES, "--role-arn", "x")
    assert code != 0 and "no inject_latency/inject_error action" in err


def test_iam_policy_prints_each_role_on_demand() -> None:
    code, out, err = run(
        "iam-policy", EXPERIMENT, "--var-file", VALUES, "--account-id", "123456789012"
    )
    assert code == 0, err
    policies = json.loads(out)
    assert set(policies) >= {"experiment", "automation_role", "automation_role_trust", "notes"}
    code, out, _ = run("iam-policy", EXPERIMENT, "--var-file", VALUES, "--role", "automation")
    assert code == 0
    assert json.loads(out)["Version"] == "2012-10-17"
    code, _, err = run("iam-policy", EXPERIMENT, "--var-file", VALUES, "--role", "fis")
    assert code != 0 and "needs no fis role" in err


def test_faults_in_two_regions_need_one_template_per_region(tmp_path: Path, values: str) -> None:
    experiment = json.loads(Path(EXPERIMENT).read_text(encoding="utf-8"))
    eu = json.loads(json.dumps(experiment["method"][0]))
    eu["name"] = "inject-latency-eu-hello"
    eu["provider"]["arguments"].update(function_name="hello-eu-west-1", region="eu-west-1")
    experiment["method"].insert(1, eu)
    path = tmp_path / "two-regions.json"
    path.write_text(json.dumps(experiment))
    arguments = ["fis-template", str(path), "--role-arn", f"{ROLE}/fis"]
    arguments += ["--automation-role-arn", f"{ROLE}/automation", "--var-file", values]
    arguments += ["--stop-alarm-arn", ALARM.replace("us-east-1", "eu-west-1")]
    code, _, err = run(*arguments)
    assert code != 0 and "the faults span eu-west-1, us-east-1" in err
    code, out, err = run(*arguments, "--region", "eu-west-1")
    assert code == 0, err
    template = json.loads(out)
    assert sorted(template["actions"]) == ["chaos-layer-1"]
    parameters = json.loads(
        template["actions"]["chaos-layer-1"]["parameters"]["documentParameters"]
    )
    assert parameters["FunctionName"] == "hello-eu-west-1"
    assert parameters["LayerArn"].startswith("arn:aws:lambda:eu-west-1:")
