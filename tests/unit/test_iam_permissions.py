"""The IAM table covers every activity and every IAM action the code calls; policies are scoped."""

import ast
import importlib
import json
import re
from pathlib import Path

import pytest

from chaosaws_serverless import activity_modules, load_exported_activities
from chaosaws_serverless.iam.permissions import PERMISSIONS
from chaosaws_serverless.iam.policy import PolicyError, experiment_policies
from chaosaws_serverless.iam.resources import RESOURCE_KINDS

IAM_ACTION = re.compile(r"^[a-z0-9-]+:[A-Z][A-Za-z0-9]+$")
PACKAGE_ROOT = Path(importlib.import_module("chaosaws_serverless").__file__).parent
ROLE = "arn:aws:iam::123456789012:role"


# The client layer's sts:AssumeRole depends on the configuration, not on an activity.
# iam.policy is pure: it names actions as data (the policies it prints), calls none
# (the doctor builds the policy to simulate it).
NOT_FOLLOWED = {
    "chaosaws_serverless.aws",
    "chaosaws_serverless.errors",
    "chaosaws_serverless.iam.policy",
}


def module_file(name: str) -> Path:
    relative = Path(*name.split(".")[1:])
    package = PACKAGE_ROOT / relative / "__init__.py"
    return package if package.exists() else PACKAGE_ROOT / relative.with_suffix(".py")


def is_module(name: str) -> bool:
    return name.startswith("chaosaws_serverless") and module_file(name).exists()


class Module:
    """A package module's functions and what its names refer to (for a call graph)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.tree = ast.parse(module_file(name).read_text(encoding="utf-8"))
        self.functions = {n.name: n for n in self.tree.body if isinstance(n, ast.FunctionDef)}
        self.names: dict[str, tuple[str, str]] = {}  # name -> (module, attribute or "")
        for node in ast.walk(self.tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    target = (full, "") if is_module(full) else (node.module, alias.name)
                    self.names[alias.asname or alias.name] = target
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    self.names[alias.asname or alias.name] = (alias.name, "")


_MODULES: dict[str, Module] = {}


def module(name: str) -> Module:
    if name not in _MODULES:
        _MODULES[name] = Module(name)
    return _MODULES[name]


def iam_actions_of(module_name: str, function: str) -> set[str]:
    """IAM actions named in a function and in every package function it calls, transitively."""
    found: set[str] = set()
    todo = [(module_name, function)]
    seen: set[tuple[str, str]] = set()
    while todo:
        current = todo.pop()
        if current in seen or current[0] in NOT_FOLLOWED or not is_module(current[0]):
            continue
        seen.add(current)
        mod = module(current[0])
        node = mod.functions.get(current[1])
        if node is None:
            continue
        for child in ast.walk(node):
            if isinstance(child, ast.Constant) and isinstance(child.value, str):
                if IAM_ACTION.match(child.value):
                    found.add(child.value)
            elif isinstance(child, ast.Name):
                if child.id in mod.functions:
                    todo.append((mod.name, child.id))
                elif child.id in mod.names and mod.names[child.id][1]:
                    todo.append(mod.names[child.id])
            elif isinstance(child, ast.Attribute) and isinstance(child.value, ast.Name):
                target = mod.names.get(child.value.id)
                if target and not target[1]:
                    todo.append((target[0], child.attr))
    return found


def test_every_activity_has_an_entry_and_no_entry_is_stale() -> None:
    activities = {f"{a['mod']}.{a['name']}" for a in load_exported_activities()}
    assert activities - set(PERMISSIONS) == set(), "add these activities to iam/permissions.py"
    assert set(PERMISSIONS) - activities == set(), "these table entries are not activities"


@pytest.mark.parametrize("activity", sorted(PERMISSIONS))
def test_the_table_covers_the_iam_actions_each_activity_calls(activity: str) -> None:
    granted = {action for grant in PERMISSIONS[activity] for action in grant.actions}
    module_name, function = activity.rsplit(".", 1)
    missing = iam_actions_of(module_name, function) - granted
    assert not missing, f"{activity} calls {sorted(missing)}: add them to iam/permissions.py"


@pytest.mark.parametrize("module_name", activity_modules())
def test_the_call_graph_sees_each_module_s_calls(module_name: str) -> None:
    # Guard for the test above: every IAM action a module names is reached from an activity.
    tree = module(module_name).tree
    named = {
        n.value
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and IAM_ACTION.match(n.value)
    }
    reached = set()
    for activity in importlib.import_module(module_name).__all__:
        reached |= iam_actions_of(module_name, activity)
    assert named <= reached


def test_every_grant_kind_resolves() -> None:
    kinds = {grant.kind for grants in PERMISSIONS.values() for grant in grants}
    assert kinds <= set(RESOURCE_KINDS)


def load(name: str) -> tuple[dict, dict]:
    from chaoslib.configuration import load_configuration

    experiment = json.loads(Path("experiments", name).read_text(encoding="utf-8"))
    # The shipped experiments have no values for account-specific keys: give example ones.
    values = json.loads(Path(__file__).with_name("example-values.json").read_text("utf-8"))
    return experiment, load_configuration(
        experiment.get("configuration") or {}, values["configuration"]
    )


def statements_with(policy: dict, action: str) -> list[dict]:
    return [s for s in policy["Statement"] if action in s["Action"]]


def test_region_failure_policy_names_the_functions_and_the_layer() -> None:
    experiment, configuration = load("region-failure.json")
    policies = experiment_policies(experiment, configuration, account_id="123456789012")
    caller = policies["experiment"]
    (update,) = statements_with(caller, "lambda:UpdateFunctionConfiguration")
    assert update["Resource"] == [
        "arn:aws:lambda:us-east-1:123456789012:function:health-us-east-1",
        "arn:aws:lambda:us-east-1:123456789012:function:health-us-east-1:*",
        "arn:aws:lambda:us-east-1:123456789012:function:hello-us-east-1",
        "arn:aws:lambda:us-east-1:123456789012:function:hello-us-east-1:*",
    ]
    (layer,) = statements_with(caller, "lambda:GetLayerVersion")
    assert layer["Resource"] == configuration["chaos_layer_arns"]["us-east-1"]
    # No alias in the experiment: the injection never publishes versions.
    assert not statements_with(caller, "lambda:PublishVersion")
    for statement in caller["Statement"]:
        if statement["Resource"] == "*":
            assert all(
                a.split(":")[1].startswith(("Get", "List", "Describe")) for a in statement["Action"]
            ), statement
    automation = policies["automation_role"]
    (auto_update,) = statements_with(automation, "lambda:UpdateFunctionConfiguration")
    assert auto_update["Resource"] == update["Resource"]
    assert policies["automation_role_trust"]["Statement"][0]["Principal"] == {
        "Service": "ssm.amazonaws.com"
    }


def test_without_account_the_policy_uses_the_principal_s_account() -> None:
    experiment, configuration = load("region-failure.json")
    policy = experiment_policies(experiment, configuration)["experiment"]
    (update,) = statements_with(policy, "lambda:UpdateFunctionConfiguration")
    assert update["Resource"][0] == (
        "arn:aws:lambda:us-east-1:${aws:PrincipalAccount}:function:health-us-east-1"
    )


def fault_experiment(*activities: dict, controls: list | None = None) -> dict:
    return {
        "title": "t",
        "description": "d",
        "method": list(activities),
        **({"controls": controls} if controls else {}),
    }


def action(module: str, func: str, **arguments: object) -> dict:
    return {
        "type": "action",
        "name": func,
        "provider": {
            "type": "python",
            "module": f"chaosaws_serverless.{module}",
            "func": func,
            "arguments": arguments,
        },
    }


def test_remove_all_faults_is_limited_to_functions_carrying_a_record() -> None:
    experiment = fault_experiment(action("awslambda.actions", "remove_all_faults"))
    policy = experiment_policies(experiment, {"aws_regions": ["us-east-1", "eu-west-1"]})[
        "experiment"
    ]
    (update,) = statements_with(policy, "lambda:UpdateFunctionConfiguration")
    assert update["Condition"] == {"Null": {"aws:ResourceTag/chaosaws-serverless:fault:0": "false"}}
    assert update["Resource"] == [
        "arn:aws:lambda:eu-west-1:${aws:PrincipalAccount}:function:*",
        "arn:aws:lambda:us-east-1:${aws:PrincipalAccount}:function:*",
    ]


def test_alias_injection_adds_versions_and_fis_templates_give_the_fis_role() -> None:
    from chaosaws_serverless.fis.templates import build_lambda_latency_template

    template = build_lambda_latency_template(
        ["checkout"],
        2000,
        120,
        f"{ROLE}/fis",
        "eu-west-1",
        layer_arn="arn:aws:lambda:eu-west-1:123456789012:layer:chaos:2",
        automation_role_arn=f"{ROLE}/automation",
    )
    experiment = fault_experiment(
        action(
            "awslambda.actions",
            "inject_latency",
            function_name="api",
            latency_ms=5,
            alias="live",
            layer_arn="arn:aws:lambda:us-east-1:123456789012:layer:chaos:1",
        ),
        action("fis.actions", "create_experiment_template", template=template, region="eu-west-1"),
        action("fis.actions", "start_experiment", template_id="t", region="eu-west-1"),
        controls=[
            {
                "name": "stop",
                "provider": {
                    "type": "python",
                    "module": "chaosaws_serverless.controls.stop_condition",
                    "arguments": {"alarm_names": ["errors"]},
                },
            }
        ],
    )
    policies = experiment_policies(experiment, {"aws_region": "us-east-1"}, "123456789012")
    caller = policies["experiment"]
    assert statements_with(caller, "lambda:PublishVersion")
    (passrole,) = statements_with(caller, "iam:PassRole")
    assert passrole["Resource"] == f"{ROLE}/fis"
    assert passrole["Condition"] == {"StringEquals": {"iam:PassedToService": "fis.amazonaws.com"}}
    (alarms,) = statements_with(caller, "cloudwatch:DescribeAlarms")
    assert alarms["Resource"] == "arn:aws:cloudwatch:us-east-1:123456789012:alarm:errors"
    fis_role = policies["fis_role"]
    # Service Authorization Reference: the definition, the document and the execution.
    document = "arn:aws:ssm:eu-west-1:123456789012:document/chaosaws-serverless-chaos-layer"
    started = resources_of(fis_role, "ssm:StartAutomationExecution")
    assert started == {
        document.replace(":document/", ":automation-definition/") + ":*",
        document,
        "arn:aws:ssm:eu-west-1:123456789012:automation-execution/*",
    }
    assert resources_of(fis_role, "ssm:StopAutomationExecution") == {
        "arn:aws:ssm:eu-west-1:123456789012:automation-execution/*"
    }
    (fis_pass,) = statements_with(fis_role, "iam:PassRole")
    assert fis_pass["Resource"] == f"{ROLE}/automation"
    automation = policies["automation_role"]
    (auto_update,) = statements_with(automation, "lambda:UpdateFunctionConfiguration")
    assert "arn:aws:lambda:eu-west-1:123456789012:function:checkout" in auto_update["Resource"]
    assert "arn:aws:lambda:us-east-1:123456789012:function:api" in auto_update["Resource"]
    # The document's restore: this role starts the document again and passes itself to it.
    assert resources_of(automation, "ssm:StartAutomationExecution") == {
        "arn:aws:ssm:eu-west-1:123456789012:automation-definition/chaosaws-serverless-chaos-layer:*",
        "arn:aws:ssm:us-east-1:123456789012:automation-definition/chaosaws-serverless-chaos-layer:*",
        "arn:aws:ssm:eu-west-1:123456789012:document/chaosaws-serverless-chaos-layer",
        "arn:aws:ssm:us-east-1:123456789012:document/chaosaws-serverless-chaos-layer",
        "arn:aws:ssm:eu-west-1:123456789012:automation-execution/*",
        "arn:aws:ssm:us-east-1:123456789012:automation-execution/*",
    }
    passes = statements_with(automation, "iam:PassRole")
    assert {r for s in passes for r in _list(s["Resource"])} == {
        f"{ROLE}/automation",  # the FIS template names it
        "${aws:PrincipalArn}",  # the direct injection does not: the role's own ARN
    }
    assert all(
        s["Condition"] == {"StringEquals": {"iam:PassedToService": "ssm.amazonaws.com"}}
        for s in passes
    )
    assert any("iam:CreateServiceLinkedRole" in note for note in policies["notes"])


def test_fis_extension_templates_give_the_fis_role_what_the_lambda_actions_need() -> None:
    from chaosaws_serverless.fis.faults import LambdaFault
    from chaosaws_serverless.fis.templates import build_lambda_fault_template

    template = build_lambda_fault_template(
        [
            LambdaFault("checkout", "latency", latency_ms=200),
            LambdaFault("", "error", tags={"team": "pay"}),
        ],
        120,
        f"{ROLE}/fis",
        "eu-west-1",
        mode="fis-extension",
    )
    experiment = fault_experiment(
        action("fis.actions", "create_experiment_template", template=template, region="eu-west-1")
    )
    policies = experiment_policies(
        experiment, {"aws_region": "eu-west-1", "fis_config_bucket": "fis-cfg"}, "123456789012"
    )
    fis_role = policies["fis_role"]
    function = "arn:aws:lambda:eu-west-1:123456789012:function"
    gets = statements_with(fis_role, "lambda:GetFunction")
    assert {r for s in gets for r in _list(s["Resource"])} == {
        f"{function}:checkout",
        f"{function}:checkout:*",
        f"{function}:*",  # the tag target, only under its tag condition
    }
    tagged = [s for s in gets if s["Resource"] == f"{function}:*"]
    assert tagged[0]["Condition"] == {"StringEquals": {"aws:ResourceTag/team": "pay"}}
    assert resources_of(fis_role, "s3:PutObject") == {"arn:aws:s3:::fis-cfg/FisConfigs/*"}
    assert resources_of(fis_role, "s3:DeleteObject") == {"arn:aws:s3:::fis-cfg/FisConfigs/*"}
    assert resources_of(fis_role, "tag:GetResources") == {"*"}
    assert policies["fis_role_trust"]["Statement"][0]["Principal"] == {
        "Service": "fis.amazonaws.com"
    }
    assert "automation_role" not in policies


def _list(resource: object) -> list:
    return resource if isinstance(resource, list) else [resource]


def resources_of(policy: dict, action_name: str) -> set:
    return {r for s in statements_with(policy, action_name) for r in _list(s["Resource"])}


def test_an_unknown_activity_of_the_package_is_an_error() -> None:
    experiment = fault_experiment(action("awslambda.actions", "inject_everything"))
    with pytest.raises(PolicyError, match="inject_everything is not in the IAM permissions"):
        experiment_policies(experiment, {})
