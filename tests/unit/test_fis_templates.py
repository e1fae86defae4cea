"""FIS templates: both modes pass botocore's validation against the real FIS model."""

import json

import pytest
from chaoslib.exceptions import ActivityFailed

from chaosaws_serverless.fis.faults import LambdaFault
from chaosaws_serverless.fis.templates import (
    build_lambda_fault_template,
    build_lambda_latency_template,
    fis_extension_prerequisites,
    iso_duration,
)
from chaosaws_serverless.fis.validation import validate_template

ROLE = "arn:aws:iam::123456789012:role/fis-experiment"
AUTOMATION_ROLE = "arn:aws:iam::123456789012:role/chaos-layer-automation"
LAYER = "arn:aws:lambda:us-east-1:123456789012:layer:chaos-lambda-extension:3"
ALARM = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:region-failure-errors"


def ssm_template(**overrides: object) -> dict:
    arguments: dict = {
        "function_names": ["hello-us-east-1", "health-us-east-1"],
        "latency_ms": 60000,
        "duration_seconds": 600,
        "role_arn": ROLE,
        "region": "us-east-1",
        "layer_arn": LAYER,
        "automation_role_arn": AUTOMATION_ROLE,
        "stop_alarm_arns": [ALARM],
    }
    arguments.update(overrides)
    return build_lambda_latency_template(**arguments)


def test_ssm_mode_holds_and_restores_in_one_automation_per_function() -> None:
    """Apply, hold and restore in one runbook run (as aws-samples/fis-template-library does),
    so stopping the experiment cancels it and its cancellation workflow restores."""
    template = ssm_template()
    actions = template["actions"]
    assert sorted(actions) == ["chaos-layer-1", "chaos-layer-2"]
    first = actions["chaos-layer-1"]
    assert first["actionId"] == "aws:ssm:start-automation-execution"
    assert "startAfter" not in first
    assert first["parameters"]["documentArn"] == (
        "arn:aws:ssm:us-east-1:123456789012:document/chaosaws-serverless-chaos-layer"
    )
    # The hold plus ten minutes to restore.
    assert first["parameters"]["maxDuration"] == "PT20M"
    assert json.loads(first["parameters"]["documentParameters"]) == {
        "FunctionName": "hello-us-east-1",
        "LayerArn": LAYER,
        "AutomationAssumeRole": AUTOMATION_ROLE,
        "LatencyMs": "60000",
        "Probability": "1",
        "ChaosMode": "ENABLED",
        "Duration": "PT10M",
    }
    second = json.loads(actions["chaos-layer-2"]["parameters"]["documentParameters"])
    assert second["FunctionName"] == "health-us-east-1"
    assert template["targets"] == {}
    assert template["stopConditions"] == [{"source": "aws:cloudwatch:alarm", "value": ALARM}]
    assert template["roleArn"] == ROLE
    assert template["tags"]["managed-by"] == "chaosaws-serverless"


def test_document_parameters_match_the_document_s_patterns() -> None:
    import re

    import yaml

    from chaosaws_serverless.ssm.document import document_path

    declared = yaml.safe_load(document_path().read_text())["parameters"]
    for seconds in (60, 3723, 11 * 3600 + 50 * 60):
        template = ssm_template(duration_seconds=seconds, alias="live")
        values = json.loads(
            template["actions"]["chaos-layer-1"]["parameters"]["documentParameters"]
        )
        assert set(values) <= set(declared)
        for name, value in values.items():
            pattern = declared[name].get("allowedPattern")
            assert pattern is None or re.fullmatch(pattern, value), (name, value)
            assert value in declared[name].get("allowedValues", [value])


def test_document_parameters_are_strings_and_carry_the_alias() -> None:
    template = ssm_template(alias="live", probability=0.5)
    parameters = json.loads(
        template["actions"]["chaos-layer-1"]["parameters"]["documentParameters"]
    )
    assert parameters["AliasName"] == "live"
    assert parameters["Probability"] == "0.5"
    assert all(isinstance(v, str) for v in parameters.values())


def test_no_alarm_means_source_none() -> None:
    assert ssm_template(stop_alarm_arns=[])["stopConditions"] == [{"source": "none"}]


def test_fis_extension_mode_uses_native_lambda_actions() -> None:
    faults = [
        LambdaFault("hello-us-east-1", "latency", latency_ms=2500, probability=0.004),
        LambdaFault(
            "arn:aws:lambda:us-east-1:123456789012:function:health-us-east-1",
            "error",
            status_code=503,
            alias="live",
        ),
    ]
    template = build_lambda_fault_template(
        faults, 90, ROLE, "us-east-1", mode="fis-extension", tags={"Name": "mixed"}
    )
    assert template["targets"]["function-1"] == {
        "resourceType": "aws:lambda:function",
        "resourceArns": ["arn:aws:lambda:us-east-1:123456789012:function:hello-us-east-1"],
        "selectionMode": "ALL",
    }
    assert template["targets"]["function-2"]["resourceArns"] == [
        "arn:aws:lambda:us-east-1:123456789012:function:health-us-east-1:live"
    ]
    delay = template["actions"]["delay-1"]
    assert delay["actionId"] == "aws:lambda:invocation-add-delay"
    # 0.4 % rounds up to FIS's smallest percentage, never down to "no fault".
    assert delay["parameters"] == {
        "duration": "PT1M30S",
        "startupDelayMilliseconds": "2500",
        "invocationPercentage": "1",
    }
    respond = template["actions"]["respond-2"]
    assert respond["actionId"] == "aws:lambda:invocation-http-integration-response"
    assert respond["parameters"]["statusCode"] == "503"
    assert respond["targets"] == {"Functions": "function-2"}
    assert template["tags"] == {"managed-by": "chaosaws-serverless", "Name": "mixed"}


def test_prerequisites_name_the_bucket_wrapper_and_layer() -> None:
    steps = " ".join(fis_extension_prerequisites(["hello"], "us-east-1", "my-bucket"))
    assert "AWS_FIS_CONFIGURATION_LOCATION=arn:aws:s3:::my-bucket/FisConfigs/" in steps
    assert "/opt/aws-fis/bootstrap" in steps
    # AWS FIS user guide, "Available versions of the AWS FIS extension for Lambda".
    assert "/aws/service/fis/lambda-extension/AWS-FIS-extension-x86_64/1.x.x" in steps
    assert "/aws/service/fis/lambda-extension/AWS-FIS-extension-arm64/1.x.x" in steps


@pytest.mark.parametrize("seconds", [1, 30, 59])
def test_a_fault_shorter_than_a_minute_is_held_one_minute_and_said(
    seconds: int, caplog: pytest.LogCaptureFixture
) -> None:
    # FIS durations take 1 minute to 12 hours (AWS FIS actions reference).
    template = ssm_template(duration_seconds=seconds)
    for action in template["actions"].values():
        assert json.loads(action["parameters"]["documentParameters"])["Duration"] == "PT1M"
    assert f"duration_seconds={seconds} is shorter than FIS allows" in caplog.text


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [(60, "PT1M"), (90, "PT1M30S"), (3600, "PT1H"), (3725, "PT1H2M5S"), (5, "PT5S")],
)
def test_iso_duration(seconds: int, expected: str) -> None:
    assert iso_duration(seconds) == expected


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"latency_ms": 0}, "latency_ms must be 1..900000, got 0"),
        ({"latency_ms": 900001}, "latency_ms must be 1..900000"),
        ({"probability": 0}, "probability must be in (0, 1]"),
        ({"duration_seconds": 0}, "duration_seconds must be a positive integer, got 0"),
        ({"duration_seconds": 12 * 3600 + 1}, "at most 43200"),
        ({"duration_seconds": 12 * 3600}, "at most 42600 in ssm-automation mode"),
        ({"role_arn": "fis-role"}, "role_arn must be the FIS experiment role"),
        ({"layer_arn": None}, "layer_arn must be the chaos-lambda-extension layer"),
        (
            {"layer_arn": LAYER.replace("us-east-1", "eu-west-1")},
            "is in eu-west-1, the functions in us-east-1",
        ),
        ({"automation_role_arn": "x"}, "automation_role_arn must be the IAM role"),
        ({"stop_alarm_arns": ["my-alarm"]}, "got 'my-alarm'"),
        ({"function_names": []}, "no Lambda fault to compile"),
        ({"function_names": ["a", "a"]}, "each function may appear once"),
        ({"function_names": ["bad name"]}, "got 'bad name'"),
        (
            {"function_names": ["arn:aws:lambda:eu-west-1:123456789012:function:x"]},
            "build one per region",
        ),
        ({"mode": "fast"}, "mode must be one of ssm-automation, fis-extension, got 'fast'"),
    ],
)
def test_bad_input_is_named_with_its_fix(overrides: dict, message: str) -> None:
    with pytest.raises(ActivityFailed) as raised:
        ssm_template(**overrides)
    assert message in str(raised.value)


def test_error_faults_need_the_fis_extension_mode() -> None:
    with pytest.raises(ActivityFailed, match="use mode 'fis-extension'"):
        build_lambda_fault_template(
            [LambdaFault("f", "error")],
            60,
            ROLE,
            "us-east-1",
            layer_arn=LAYER,
            automation_role_arn=AUTOMATION_ROLE,
        )


def test_validation_uses_botocore_and_the_limits_it_leaves_out() -> None:
    template = ssm_template()
    template["actions"]["chaos-layer-2"]["startAfter"] = ["nope"]
    with pytest.raises(ActivityFailed, match="starts after unknown action 'nope'"):
        validate_template(template)
    broken = ssm_template()
    del broken["roleArn"]
    with pytest.raises(ActivityFailed, match=r"Missing required parameter.*roleArn"):
        validate_template(broken)
    typed = ssm_template()
    typed["actions"]["chaos-layer-1"]["parameters"]["maxDuration"] = 600
    with pytest.raises(ActivityFailed, match="Invalid type"):
        validate_template(typed)


def test_probabilities_match_the_document_s_pattern() -> None:
    import re

    import yaml

    from chaosaws_serverless.ssm.document import document_path

    pattern = yaml.safe_load(document_path().read_text())["parameters"]["Probability"][
        "allowedPattern"
    ]
    for probability, text in ((1.0, "1"), (0.5, "0.5"), (0.00001, "0.00001"), (0.25, "0.25")):
        template = ssm_template(probability=probability)
        value = json.loads(template["actions"]["chaos-layer-1"]["parameters"]["documentParameters"])
        assert value["Probability"] == text
        assert re.match(pattern, text), text
