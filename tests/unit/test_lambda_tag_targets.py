"""Tag targets without AWS: selection arithmetic, the FIS template and the IAM policy they give."""

import json
from pathlib import Path

import pytest
from chaoslib.exceptions import ActivityFailed
from click.testing import CliRunner

from chaosaws_serverless.awslambda.tag_selection import selection_count, selection_id
from chaosaws_serverless.cli import main
from chaosaws_serverless.fis.faults import LambdaFault
from chaosaws_serverless.fis.templates import build_lambda_fault_template
from chaosaws_serverless.fis.validation import validate_template
from chaosaws_serverless.iam.policy import experiment_policies

ROLE = "arn:aws:iam::123456789012:role"
# The account-specific values the shipped experiments require (issue 13: no placeholders).
VALUES = str(Path(__file__).with_name("example-values.json"))
EXPERIMENT = "experiments/tagged-latency.json"


@pytest.mark.parametrize(
    ("selection", "candidates", "expected"),
    [
        ("ALL", 50, 50),
        ("PERCENT(20)", 50, 10),
        ("percent(20)", 50, 10),
        ("PERCENT(25)", 10, 2),  # rounds down
        ("PERCENT(1)", 10, 1),  # never zero of a non-empty set
        ("PERCENT(100)", 7, 7),
        ("COUNT(3)", 50, 3),
        ("COUNT(80)", 50, 50),
    ],
)
def test_selection_counts(selection: str, candidates: int, expected: int) -> None:
    assert selection_count(selection, candidates) == expected


def test_the_default_selection_id_depends_on_region_and_tags_only() -> None:
    one = selection_id(None, "us-east-1", {"service": "checkout", "tier": "web"})
    assert one == selection_id(None, "us-east-1", {"tier": "web", "service": "checkout"})
    assert one != selection_id(None, "eu-west-1", {"service": "checkout", "tier": "web"})
    assert selection_id("game-day-7", "us-east-1", {"service": "checkout"}) == "game-day-7"


def test_fis_extension_template_uses_fis_native_tag_targets() -> None:
    fault = LambdaFault(
        "", "latency", latency_ms=3000, tags={"service": "checkout"}, selection="PERCENT(20)"
    )
    template = build_lambda_fault_template(
        [fault], 120, f"{ROLE}/fis", "us-east-1", mode="fis-extension"
    )
    validate_template(template)  # botocore's FIS model
    assert template["targets"]["function-1"] == {
        "resourceType": "aws:lambda:function",
        "resourceTags": {"service": "checkout"},
        "selectionMode": "PERCENT(20)",
    }
    assert template["actions"]["delay-1"]["targets"] == {"Functions": "function-1"}
    assert "functions tagged service=checkout (PERCENT(20))" in template["description"]


@pytest.mark.parametrize(
    ("fault", "mode", "match"),
    [
        (
            LambdaFault("", tags={"service": "checkout"}, latency_ms=1),
            "ssm-automation",
            "use mode 'fis-extension'",
        ),
        (LambdaFault("", tags={}, latency_ms=1), "fis-extension", "tags must map"),
        (
            LambdaFault("", tags={"a": "b"}, selection="HALF", latency_ms=1),
            "fis-extension",
            "selection must be ALL, COUNT",
        ),
        (
            LambdaFault("", tags={"a": "b"}, selection="PERCENT(0)", latency_ms=1),
            "fis-extension",
            "selection must be ALL, COUNT",
        ),
    ],
)
def test_bad_tag_targets_are_refused(fault: LambdaFault, mode: str, match: str) -> None:
    with pytest.raises(ActivityFailed, match=match):
        build_lambda_fault_template(
            [fault],
            60,
            f"{ROLE}/fis",
            "us-east-1",
            mode=mode,
            layer_arn="arn:aws:lambda:us-east-1:123456789012:layer:chaos:1",
            automation_role_arn=f"{ROLE}/ssm",
        )


def test_fis_template_command_compiles_the_tagged_experiment() -> None:
    result = CliRunner().invoke(
        main,
        [
            "fis-template",
            EXPERIMENT,
            "--mode",
            "fis-extension",
            "--role-arn",
            f"{ROLE}/fis",
            "--stop-alarm-arn",
            "none",
            "--var-file",
            VALUES,
        ],
    )
    assert result.exit_code == 0, result.output
    template = json.loads(result.stdout)
    assert template["targets"]["function-1"]["resourceTags"] == {"service": "checkout"}
    assert template["targets"]["function-1"]["selectionMode"] == "PERCENT(20)"
    refused = CliRunner().invoke(
        main,
        [
            "fis-template",
            EXPERIMENT,
            "--role-arn",
            f"{ROLE}/fis",
            "--automation-role-arn",
            f"{ROLE}/ssm",
            "--stop-alarm-arn",
            "none",
            "--var-file",
            VALUES,
        ],
    )
    assert refused.exit_code != 0 and "fis-extension" in refused.stderr


def test_iam_policy_scopes_a_tag_target_to_functions_carrying_its_tags() -> None:
    experiment = json.loads(Path(EXPERIMENT).read_text(encoding="utf-8"))
    configuration = {
        k: v
        for k, v in experiment["configuration"].items()
        if not isinstance(v, dict) or k in ("fault_tags", "chaos_layer_arns")
    }
    policy = experiment_policies(experiment, configuration, "123456789012")["experiment"]
    statements = policy["Statement"]
    (update,) = [
        s
        for s in statements
        if "lambda:UpdateFunctionConfiguration" in s["Action"]
        and "StringEquals" in s.get("Condition", {})
    ]
    assert update["Condition"] == {"StringEquals": {"aws:ResourceTag/service": "checkout"}}
    assert update["Resource"] == "arn:aws:lambda:us-east-1:123456789012:function:*"
    assert "lambda:TagResource" in update["Action"]
    assert "lambda:PublishVersion" not in update["Action"]  # no alias on a tag target
    (find,) = [s for s in statements if "tag:GetResources" in s["Action"]]
    assert find["Resource"] == "*"  # GetResources is not scoped by AWS
    # The rollback also restores what it finds by the record (the record's condition).
    recorded = [s for s in statements if "Null" in s.get("Condition", {})]
    assert recorded and all(
        s["Condition"] == {"Null": {"aws:ResourceTag/chaosaws-serverless:fault:0": "false"}}
        for s in recorded
    )
