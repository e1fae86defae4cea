"""The doctor's permission check through IAM's policy simulator (moto has none: botocore Stubber).

The Stubber validates each SimulatePrincipalPolicy / GetRole request and answer
against IAM's service model.
"""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import ANY, Stubber

from chaosaws_serverless import aws
from chaosaws_serverless.doctor.checks import permissions

ACCOUNT = "123456789012"
USER = f"arn:aws:iam::{ACCOUNT}:user/game-day"
CONFIGURATION = {"aws_region": "us-east-1"}
EXPERIMENT = json.loads(
    (Path(__file__).parents[2] / "experiments" / "region-failure.json").read_text()
)


@pytest.fixture
def iam() -> Iterator[Stubber]:
    aws.clear_client_cache()
    stubber = Stubber(aws.client("iam", None, CONFIGURATION, {}))
    with stubber:
        yield stubber
    aws.clear_client_cache()


def configuration() -> dict[str, Any]:
    from chaosaws_serverless.doctor.plan import with_declared

    values = with_declared(EXPERIMENT, CONFIGURATION)
    values["aws_endpoint_url"] = ""
    return values


def simulated(request_actions: list[str], deny: set[str] = frozenset()) -> dict[str, Any]:  # type: ignore[assignment]
    return {
        "EvaluationResults": [
            {
                "EvalActionName": action,
                "EvalResourceName": "*",
                "EvalDecision": "implicitDeny" if action in deny else "allowed",
            }
            for action in request_actions
        ],
        "IsTruncated": False,
    }


def statements() -> list[dict[str, Any]]:
    """The unconditional statements of the experiment's policy (what the doctor simulates)."""
    from chaosaws_serverless.iam.policy import experiment_policies

    policy = experiment_policies(EXPERIMENT, configuration(), ACCOUNT)["experiment"]
    return [s for s in policy["Statement"] if not s.get("Condition")]


def actions_of(statement: dict[str, Any]) -> list[str]:
    return statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]


def test_every_needed_action_allowed_passes(iam: Stubber) -> None:
    for statement in statements():
        iam.add_response(
            "simulate_principal_policy",
            simulated(actions_of(statement)),
            {"PolicySourceArn": USER, "ActionNames": actions_of(statement), "ResourceArns": ANY},
        )
    check = permissions(EXPERIMENT, configuration(), {}, {"Account": ACCOUNT, "Arn": USER})
    assert check.verdict == "pass", check
    iam.assert_no_pending_responses()


def test_a_denied_action_fails_and_is_named(iam: Stubber) -> None:
    found = False
    for statement in statements():
        actions = actions_of(statement)
        deny = {"lambda:UpdateFunctionConfiguration"} & set(actions)
        found = found or bool(deny)
        iam.add_response("simulate_principal_policy", simulated(actions, deny), None)
    assert found, "the experiment's policy must grant UpdateFunctionConfiguration"
    check = permissions(EXPERIMENT, configuration(), {}, {"Account": ACCOUNT, "Arn": USER})
    assert check.verdict == "fail"
    assert "lambda:UpdateFunctionConfiguration" in check.detail and "implicitDeny" in check.detail


def test_simulator_not_allowed_says_so(iam: Stubber) -> None:
    iam.add_client_error(
        "simulate_principal_policy", service_error_code="AccessDenied", http_status_code=403
    )
    check = permissions(EXPERIMENT, configuration(), {}, {"Account": ACCOUNT, "Arn": USER})
    assert check.verdict == "skip"
    assert "may not call iam:SimulatePrincipalPolicy" in check.detail


def test_assumed_role_is_simulated_as_its_role_with_path(iam: Stubber) -> None:
    role = f"arn:aws:iam::{ACCOUNT}:role/chaos/game-day-role"
    iam.add_response(
        "get_role",
        {
            "Role": {
                "Path": "/chaos/",
                "RoleName": "game-day-role",
                "RoleId": "AROAEXAMPLEEXAMPLE123",
                "Arn": role,
                "CreateDate": "2026-01-01T00:00:00Z",
            }
        },
        {"RoleName": "game-day-role"},
    )
    for statement in statements():
        iam.add_response(
            "simulate_principal_policy",
            simulated(actions_of(statement)),
            {"PolicySourceArn": role, "ActionNames": ANY, "ResourceArns": ANY},
        )
    caller = f"arn:aws:sts::{ACCOUNT}:assumed-role/game-day-role/alice"
    check = permissions(EXPERIMENT, configuration(), {}, {"Account": ACCOUNT, "Arn": caller})
    assert check.verdict == "pass" and check.target == role


def test_root_is_not_simulated(iam: Stubber) -> None:
    root = f"arn:aws:iam::{ACCOUNT}:root"
    check = permissions(EXPERIMENT, configuration(), {}, {"Account": ACCOUNT, "Arn": root})
    assert check.verdict == "skip" and "root" in check.detail
