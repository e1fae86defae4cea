"""Values of the wrong kind, refused in one line naming the value and the fix (issue 24).

A malformed function ARN read as a name with a qualifier, a string where the
layer ARNs per region belong (the doctor fell back to the public layer), a
negative error budget, a region botocore does not know (the emulator's HTML
error page came back inside the message): each is refused before any AWS call,
so no emulator runs here. The judge of the known regions is botocore's own
``Session.get_available_regions`` over every partition.
"""

import json
from pathlib import Path

import boto3
import pytest
from chaoslib.exceptions import ActivityFailed
from click.testing import CliRunner

from chaosaws_serverless.aws import resolve_region
from chaosaws_serverless.awslambda import actions
from chaosaws_serverless.cli import main
from chaosaws_serverless.shipped import EXPERIMENTS, shipped_path

VALUES = Path(__file__).with_name("example-values.json")
EXPERIMENT = str(shipped_path(EXPERIMENTS, "region-failure.json"))
# Nothing listens there: a call that got through would fail differently (and slowly).
NOWHERE = {"aws_endpoint_url": "http://127.0.0.1:9"}


def botocore_regions() -> set[str]:
    session = boto3.session.Session()
    return {
        region
        for partition in session.get_available_partitions()
        for service in ("lambda", "sts")
        for region in session.get_available_regions(service, partition)
    }


@pytest.mark.parametrize(
    "arn", ["arn:aws:lambda:us-east-1:bad", "arn:aws:lambda:us-east-1:123:function:f", "arn:x"]
)
def test_a_malformed_function_arn_is_diagnosed_as_one(arn: str) -> None:
    with pytest.raises(ActivityFailed) as refused:
        actions.inject_latency(arn, 1000, region="us-east-1", configuration=NOWHERE)
    message = str(refused.value)
    assert "malformed Lambda function ARN" in message and repr(arn) in message
    assert "alias=" not in message and "nothing was changed" in message


def test_a_well_formed_arn_still_reads_its_qualifier() -> None:
    with pytest.raises(ActivityFailed, match="alias='live'"):
        actions.inject_latency(
            "arn:aws:lambda:us-east-1:123456789012:function:f:live",
            1000,
            region="us-east-1",
            configuration=NOWHERE,
        )


def test_a_region_botocore_does_not_know_is_refused_naming_the_known_ones() -> None:
    known = botocore_regions()
    assert "us-mars-1" not in known and {"us-east-1", "eu-west-1"} <= known
    with pytest.raises(ActivityFailed) as refused:
        resolve_region("us-mars-1", None)
    message = str(refused.value)
    assert "'us-mars-1' is not a region botocore" in message
    listed = set(message.split("use one of ")[1].split(" (or upgrade")[0].split(", "))
    assert listed >= known  # every region botocore can call is named
    with pytest.raises(ActivityFailed, match="us-mars-1"):
        actions.inject_latency("f", 1000, region="us-mars-1", configuration=NOWHERE)
    for region in sorted(known):
        assert resolve_region(region, None) == region


def _values(tmp_path: Path, **overrides: object) -> str:
    configuration = {**json.loads(VALUES.read_text(encoding="utf-8"))["configuration"], **overrides}
    path = tmp_path / "values.json"
    path.write_text(json.dumps({"configuration": configuration}), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(
    ("given", "names"),
    [
        (["--var", "chaos_layer_arns=arn:aws:lambda:us-east-1:1:layer:x:1"], "chaos_layer_arns"),
        (["--var", "max_error_ratio:float=-0.1"], "max_error_ratio' must be a share from 0 to 1"),
        (["--var", "latency_ms:int=-5"], "latency_ms' must be a duration of 0 or more"),
        (["--var", "aws_region=us-mars-1"], "'us-mars-1' is not a region botocore"),
        (["--var", "max_error_ratio=lots"], "max_error_ratio"),
    ],
)
def test_a_value_of_the_wrong_type_is_refused_by_every_command(
    given: list[str], names: str, tmp_path: Path
) -> None:
    values = _values(tmp_path, **NOWHERE)
    for command in ("doctor", "iam-policy"):
        result = CliRunner().invoke(main, [command, EXPERIMENT, "--var-file", values, *given])
        assert result.exit_code == 1 and result.exception.__class__ is SystemExit, result.output
        errors = [line for line in result.stderr.splitlines() if line.startswith("Error")]
        assert len(errors) == 1 and names in errors[0], result.stderr


def test_a_negative_budget_in_the_var_file_is_refused(tmp_path: Path) -> None:
    values = _values(tmp_path, max_error_ratio=-0.5, **NOWHERE)
    result = CliRunner().invoke(main, ["doctor", EXPERIMENT, "--var-file", values])
    assert result.exit_code == 1
    assert "'max_error_ratio' must be a share from 0 to 1" in result.stderr


def test_a_region_option_botocore_does_not_know_is_click_s_one_line() -> None:
    result = CliRunner().invoke(main, ["doctor", "--region", "us-mars-1"])
    assert result.exit_code == 2
    assert "Invalid value for '--region': 'us-mars-1' is not a region botocore" in result.stderr
    assert "us-east-1" in result.stderr and "<html" not in result.output.lower()
