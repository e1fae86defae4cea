"""`chaosaws-serverless fis-template` and `iam-policy` on the shipped experiments."""

import json
from pathlib import Path

from click.testing import CliRunner

from chaosaws_serverless.cli import main
from chaosaws_serverless.fis.templates import validate_template

ROLE = "arn:aws:iam::123456789012:role"
EXPERIMENT = "experiments/region-failure.json"
# The shipped experiments have no values for account-specific keys: these offline tests give some.
VALUES = str(Path(__file__).with_name("example-values.json"))


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_fis_template_compiles_the_reference_experiment() -> None:
    code, out, err = run(
        "fis-template",
        EXPERIMENT,
        "--var-file",
        VALUES,
        "--role-arn",
        f"{ROLE}/fis",
        "--automation-role-arn",
        f"{ROLE}/automation",
        "--stop-alarm-arn",
        "arn:aws:cloudwatch:us-east-1:123456789012:alarm:eu-errors",
    )
    assert code == 0, err
    template = json.loads(out)
    validate_template(template)
    assert template["tags"]["Name"] == "region-failure"
    assert template["actions"]["wait-1"]["parameters"]["duration"] == "PT10M"  # fault_duration
    parameters = json.loads(template["actions"]["enable-2"]["parameters"]["documentParameters"])
    assert parameters["FunctionName"] == "health-us-east-1"
    assert parameters["LatencyMs"] == "60000"
    assert parameters["LayerArn"].endswith(":layer:chaos-lambda-extension:1")
    assert template["stopConditions"][0]["source"] == "aws:cloudwatch:alarm"


def test_fis_extension_mode_lists_prerequisites_on_stderr(tmp_path: Path) -> None:
    values = tmp_path / "values.json"
    values.write_text(json.dumps({"fis_role_arn": f"{ROLE}/fis", "fault_duration_seconds": 120}))
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


def test_faults_in_two_regions_need_one_template_per_region(tmp_path: Path) -> None:
    experiment = json.loads(Path(EXPERIMENT).read_text(encoding="utf-8"))
    eu = json.loads(json.dumps(experiment["method"][0]))
    eu["name"] = "inject-latency-eu-hello"
    eu["provider"]["arguments"].update(function_name="hello-eu-west-1", region="eu-west-1")
    experiment["method"].insert(1, eu)
    path = tmp_path / "two-regions.json"
    path.write_text(json.dumps(experiment))
    arguments = ["fis-template", str(path), "--var-file", VALUES, "--role-arn", f"{ROLE}/fis"]
    arguments += ["--automation-role-arn", f"{ROLE}/automation"]
    code, _, err = run(*arguments)
    assert code != 0 and "the faults span eu-west-1, us-east-1" in err
    code, out, err = run(*arguments, "--region", "eu-west-1")
    assert code == 0, err
    template = json.loads(out)
    assert sorted(template["actions"]) == ["disable-1", "enable-1", "wait-1"]
    parameters = json.loads(template["actions"]["enable-1"]["parameters"]["documentParameters"])
    assert parameters["FunctionName"] == "hello-eu-west-1"
    assert parameters["LayerArn"].startswith("arn:aws:lambda:eu-west-1:")
