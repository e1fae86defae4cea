"""SSM automation executions (moto lacks them): botocore Stubber checks every request.

The Stubber validates requests and responses against the real SSM model, so
these tests cannot assert calls AWS would reject.
"""

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from botocore.stub import Stubber
from chaoslib.exceptions import ActivityFailed

from chaosaws_serverless import aws
from chaosaws_serverless.ssm import actions, probes

CONFIGURATION = {"aws_region": "us-east-1"}
EXECUTION = "0123abcd-0123-abcd-0123-0123456789ab"
DOCUMENT = "chaosaws-serverless-chaos-layer"


@pytest.fixture
def stub() -> Iterator[Stubber]:
    aws.clear_client_cache()
    ssm = aws.client("ssm", "us-east-1", CONFIGURATION)  # the instance the activities reuse
    with Stubber(ssm) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()
    aws.clear_client_cache()


def execution(status: str) -> dict:
    return {
        "AutomationExecution": {
            "AutomationExecutionId": EXECUTION,
            "DocumentName": DOCUMENT,
            "AutomationExecutionStatus": status,
            "ExecutionStartTime": datetime(2026, 11, 29, tzinfo=UTC),
        }
    }


def test_start_sends_lists_of_strings_and_drops_empty_values(stub: Stubber) -> None:
    stub.add_response(
        "start_automation_execution",
        {"AutomationExecutionId": EXECUTION},
        {
            "DocumentName": DOCUMENT,
            "Parameters": {
                "FunctionName": ["hello-us-east-1"],
                "ChaosMode": ["ENABLED"],
                "LatencyMs": ["60000"],
                "Probability": ["0.5"],
            },
            "Tags": [{"Key": "managed-by", "Value": "chaosaws-serverless"}],
        },
    )
    started = actions.start_automation(
        DOCUMENT,
        {
            "FunctionName": "hello-us-east-1",
            "ChaosMode": "ENABLED",
            "LatencyMs": 60000,
            "Probability": 0.5,
            "AliasName": "",
        },
        configuration=CONFIGURATION,
    )
    assert started == {"execution_id": EXECUTION, "document_name": DOCUMENT, "region": "us-east-1"}


def test_start_rejects_nested_values_before_any_call(stub: Stubber) -> None:
    with pytest.raises(ActivityFailed, match=r"parameter 'FunctionName' must be a string"):
        actions.start_automation(DOCUMENT, {"FunctionName": {"a": 1}}, configuration=CONFIGURATION)


def test_status_is_ssm_s_own_word(stub: Stubber) -> None:
    stub.add_response(
        "get_automation_execution", execution("InProgress"), {"AutomationExecutionId": EXECUTION}
    )
    assert probes.get_automation_status(EXECUTION, configuration=CONFIGURATION) == "InProgress"


def test_unknown_execution_is_an_error_naming_it(stub: Stubber) -> None:
    stub.add_client_error(
        "get_automation_execution",
        "AutomationExecutionNotFoundException",
        "not found",
        expected_params={"AutomationExecutionId": EXECUTION},
    )
    with pytest.raises(
        ActivityFailed, match=rf"ssm:GetAutomationExecution on SSM automation '{EXECUTION}'"
    ):
        probes.get_automation_status(EXECUTION, configuration=CONFIGURATION)


def test_stop_cancels_a_running_execution_and_skips_a_finished_one(stub: Stubber) -> None:
    stub.add_response(
        "get_automation_execution", execution("InProgress"), {"AutomationExecutionId": EXECUTION}
    )
    stub.add_response(
        "stop_automation_execution", {}, {"AutomationExecutionId": EXECUTION, "Type": "Cancel"}
    )
    assert actions.stop_automation(EXECUTION, configuration=CONFIGURATION) == [EXECUTION]
    stub.add_response(
        "get_automation_execution", execution("Cancelled"), {"AutomationExecutionId": EXECUTION}
    )
    assert actions.stop_automation(EXECUTION, configuration=CONFIGURATION) == []


def test_stop_without_id_cancels_the_running_executions_of_the_document(stub: Stubber) -> None:
    other = "fedcba98-0123-abcd-0123-0123456789ab"
    stub.add_response(
        "describe_automation_executions",
        {
            "AutomationExecutionMetadataList": [
                {"AutomationExecutionId": EXECUTION, "DocumentName": DOCUMENT},
                # The filter matches a prefix: a longer name is another document.
                {"AutomationExecutionId": other, "DocumentName": f"{DOCUMENT}-v2"},
            ]
        },
        {
            "Filters": [
                {"Key": "DocumentNamePrefix", "Values": [DOCUMENT]},
                {"Key": "ExecutionStatus", "Values": list(actions.RUNNING_STATES)},
            ]
        },
    )
    stub.add_response(
        "stop_automation_execution", {}, {"AutomationExecutionId": EXECUTION, "Type": "Cancel"}
    )
    assert actions.stop_automation(configuration=CONFIGURATION) == [EXECUTION]
