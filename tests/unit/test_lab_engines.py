"""The lab's pure rules for AWS's engines: alarm evaluation, the FIS extension, verdicts."""

import pytest

from chaosaws_serverless.lab import alarms, fis_extension
from chaosaws_serverless.lab.analysis import STOP_CONDITION, RunResult, judge

ALARM = {
    "ComparisonOperator": "GreaterThanThreshold",
    "Threshold": 10,
    "EvaluationPeriods": 3,
    "TreatMissingData": "notBreaching",
}


@pytest.mark.parametrize(
    ("alarm", "values", "state"),
    [
        (ALARM, [0, 0, 11], "OK"),  # 1 of 3 breach; M defaults to N
        ({**ALARM, "DatapointsToAlarm": 1}, [0, 0, 11], "ALARM"),  # M out of N
        ({**ALARM, "DatapointsToAlarm": 2}, [11, None, 12], "ALARM"),
        (ALARM, [11, 12, 13], "ALARM"),
        (ALARM, [None, None, None], "OK"),  # notBreaching
        ({**ALARM, "TreatMissingData": "breaching"}, [None, None, None], "ALARM"),
        ({**ALARM, "TreatMissingData": "missing"}, [None, None, None], "INSUFFICIENT_DATA"),
        ({**ALARM, "ComparisonOperator": "LessThanOrEqualToThreshold"}, [10, 9, 1], "ALARM"),
    ],
)
def test_an_alarm_goes_to_alarm_when_m_of_n_datapoints_breach(
    alarm: dict, values: list, state: str
) -> None:
    outcome = alarms.breaches(alarm, values)
    assert outcome is not None and outcome[0] == state


def test_ignore_keeps_the_state_and_metric_math_is_left_alone() -> None:
    assert alarms.breaches({**ALARM, "TreatMissingData": "ignore"}, [None, None, None]) is None
    assert alarms.evaluate(None, {"Metrics": [{"Id": "m"}]}, None) is None  # type: ignore[arg-type]


def configuration(**variables: str) -> dict:
    return {
        "Environment": {"Variables": variables},
        "Layers": [
            {"Arn": "arn:aws:lambda:us-east-1:123456789012:layer:aws-fis-extension-x86_64:1"}
        ],
    }


def test_the_fis_extension_acts_only_with_its_wrapper_and_location() -> None:
    location = "arn:aws:s3:::configs/FisConfigs/"
    set_up = configuration(
        AWS_LAMBDA_EXEC_WRAPPER="/opt/aws-fis/bootstrap", AWS_FIS_CONFIGURATION_LOCATION=location
    )
    assert fis_extension.location_of(set_up) == ("configs", "FisConfigs/")
    assert fis_extension.layer_attached(set_up)
    assert fis_extension.location_of(configuration(AWS_FIS_CONFIGURATION_LOCATION=location)) is None
    assert not fis_extension.layer_attached({"Layers": []})


def test_each_fis_action_has_its_documented_effect_on_its_share_of_invocations() -> None:
    delay = {
        "actionId": "aws:lambda:invocation-add-delay",
        "parameters": {"startupDelayMilliseconds": "5000", "invocationPercentage": "40"},
    }
    respond = {
        "actionId": "aws:lambda:invocation-http-integration-response",
        "parameters": {
            "statusCode": "503",
            "contentTypeHeader": "text/plain",
            "preventExecution": "true",
            "invocationPercentage": "100",
        },
    }
    assert fis_extension.invocation_fault([delay], lambda: 0.39).delay_ms == 5000
    assert not fis_extension.invocation_fault([delay], lambda: 0.4).active  # 40 % of them
    fault = fis_extension.invocation_fault([delay, respond], lambda: 0.1)
    assert (fault.delay_ms, fault.response, fault.prevent_execution) == (
        5000,
        (503, "text/plain"),
        True,
    )
    assert fis_extension.proxy_response((503, "text/plain"))["statusCode"] == 503
    error = {"actionId": "aws:lambda:invocation-error", "parameters": {}}
    assert fis_extension.invocation_fault([error], lambda: 0.99).fail


def stopped_run(**changes: object) -> RunResult:
    result = RunResult(variant=STOP_CONDITION, command=[], chaos_exit_code=0, run_seconds=1)
    result.fis_mode = "ssm-automation"
    result.fis_state = "stopped"
    result.fis_reason = "Experiment stopped by stop condition arn:aws:cloudwatch:..."
    for name, value in changes.items():
        setattr(result, name, value)
    return result


def test_the_stop_condition_run_is_judged_by_what_fis_left() -> None:
    fine = stopped_run()
    judge(fine)
    assert fine.problems == []
    for changes, problem in [
        ({"fis_state": "completed"}, "expected the stop condition to stop"),
        ({"rollbacks_run": 2}, "2 rollbacks of the package ran"),
        ({"functions_modified": ["hello-us-east-1"]}, "left hello-us-east-1 modified"),
    ]:
        run = stopped_run(**changes)
        judge(run)
        assert any(problem in p for p in run.problems), run.problems
