"""Least-privilege IAM policies for a Chaos Toolkit experiment (pure: no AWS call).

:func:`experiment_policies` walks the experiment's steady-state probes, method,
rollbacks and controls, looks each of this package's activities up in
``permissions.PERMISSIONS``, and scopes every grant to the resources the
activity's arguments and the configuration name (``${...}`` substituted as
chaoslib does): the specific function ARNs (and their qualified ARNs for
versions and aliases), the layer version ARN, the alarm, dashboard, health
check, hosted zone, SSM document. ``*`` appears only for the actions AWS does
not scope to a resource (``cloudwatch:GetMetricData``, ``lambda:ListFunctions``,
the FIS/SSM List/Describe calls); ``remove_all_faults`` acts on
``function:*`` only under a condition that the function carries this
package's fault record, and a tag target (``*_by_tags``) only on functions
carrying its tags (``aws:ResourceTag/<key>`` conditions).

It returns the policy of whoever runs the experiment (``experiment``), the
policy of the role EventBridge Scheduler assumes when a fault's dead man's
switch fires (``fault_switch_role``: start the document's restore, pass the
automation role; for experiments whose faults arm one), the
policy of the SSM Automation role the chaos-layer document assumes
(``automation_role``, for every function a Lambda fault, an SSM automation or
an FIS template of the experiment targets) and, when the experiment runs FIS
templates, the FIS experiment role's (``fis_role``: start, read and cancel the
document's automations in ``ssm-automation`` mode; read the functions and write
their fault objects in ``fis-extension`` mode). The account is the ``account_id`` given, else the
``${aws:PrincipalAccount}`` policy variable, so a policy fits any account
without a wildcard.
"""

import fnmatch
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Optional

from chaosaws_serverless.experiment import PACKAGE, activities, package_provider
from chaosaws_serverless.iam.permissions import (
    AUTOMATION_ROLE,
    PERMISSIONS,
    SWITCH_ROLE,
    Grant,
    target_tag_condition,
)
from chaosaws_serverless.iam.resources import (
    ARGUMENT_CONDITIONS,
    CONDITIONS,
    RESOURCE_KINDS,
    Context,
    function_arns,
    ssm_executions,
)

__all__ = [
    "CONTROL_PERMISSIONS",
    "PolicyError",
    "experiment_policies",
    "package_calls",
]

# Controls are not activities: they are declared by module.
CONTROL_PERMISSIONS: dict[str, tuple[Grant, ...]] = {
    f"{PACKAGE}.controls.stop_condition": (Grant(("cloudwatch:DescribeAlarms",), "alarm"),),
    f"{PACKAGE}.controls.safe_interrupt": (),
    f"{PACKAGE}.catalog.control": (),
    # Reads only what the experiment's own activities read (ListResourceRecordSets,
    # GetHealthCheck, GetFunction, GetLayerVersion), on the resources they name.
    f"{PACKAGE}.controls.preflight": (),
    # Reads the customers' and Route 53's metrics; the zones whose records it reads are those
    # the experiment's activities name, which grant route53:ListResourceRecordSets already.
    f"{PACKAGE}.controls.timeline": (
        Grant(("cloudwatch:GetMetricData", "cloudwatch:ListMetrics"), "*"),
    ),
}


# The activities that arm a dead man's switch (chaosaws_serverless.switch) before a fault.
SWITCHED = {
    f"{PACKAGE}.awslambda.actions.{name}"
    for name in ("inject_latency", "inject_error", "inject_latency_by_tags", "inject_error_by_tags")
}


class PolicyError(ValueError):
    """The experiment names an activity of this package the table does not know."""


def experiment_policies(
    experiment: Mapping[str, Any],
    configuration: Mapping[str, Any],
    account_id: Optional[str] = None,
) -> dict[str, Any]:
    """Return ``{"experiment", "automation_role"?, "fis_role"?, "notes"}`` for ``experiment``.

    ``configuration`` is the experiment's configuration already loaded (values,
    not ``{"type": "env"}`` blocks); arguments are substituted with it.
    """
    from chaoslib import substitute

    ctx = Context(configuration, account_id)
    caller = _Statements()
    automation = _Statements()
    fis_role = _Statements()
    switch_role = _Statements()
    for kind, module, name, arguments in package_calls(experiment):
        arguments = substitute(dict(arguments), dict(configuration), {})
        if kind == "control":
            if module not in CONTROL_PERMISSIONS:
                raise PolicyError(f"control {module} is not in the IAM permissions table")
            grants = CONTROL_PERMISSIONS[module]
        else:
            key = f"{module}.{name}"
            if key not in PERMISSIONS:
                raise PolicyError(
                    f"activity {key} is not in the IAM permissions table "
                    "(chaosaws_serverless/iam/permissions.py)"
                )
            grants = PERMISSIONS[key]
        for grant in grants:
            if grant.when and not arguments.get(grant.when):
                continue
            if grant.unless_false and str(arguments.get(grant.unless_false)).lower() == "false":
                continue
            resources = RESOURCE_KINDS[grant.kind](ctx, arguments)
            condition = CONDITIONS[grant.kind]() if grant.kind in CONDITIONS else None
            if grant.kind in ARGUMENT_CONDITIONS:
                condition = ARGUMENT_CONDITIONS[grant.kind](arguments)
                if condition is None:
                    ctx.notes.append(f"{module}.{name} names no tags: nothing granted for them")
                    continue
            for action in grant.actions:
                caller.add(action, resources, condition)
        if f"{module}.{name}" in SWITCHED and str(configuration.get("fault_switch", "on")) != "off":
            for grant in SWITCH_ROLE:
                condition = CONDITIONS[grant.kind]() if grant.kind in CONDITIONS else None
                for action in grant.actions:
                    switch_role.add(action, RESOURCE_KINDS[grant.kind](ctx, arguments), condition)
        for arguments_ in _automation_targets(f"{module}.{name}", arguments, ctx, fis_role):
            for grant in AUTOMATION_ROLE:
                condition = CONDITIONS[grant.kind]() if grant.kind in CONDITIONS else None
                for action in grant.actions:
                    automation.add(action, RESOURCE_KINDS[grant.kind](ctx, arguments_), condition)
    result: dict[str, Any] = {"experiment": caller.policy()}
    if automation:
        result["automation_role"] = automation.policy()
        result["automation_role_trust"] = _trust("ssm.amazonaws.com")
    if switch_role:
        result["fault_switch_role"] = switch_role.policy()
        result["fault_switch_role_trust"] = _trust("scheduler.amazonaws.com")
    if fis_role:
        result["fis_role"] = fis_role.policy()
        result["fis_role_trust"] = _trust("fis.amazonaws.com")
    if any(
        kind == "activity" and f"{module}.{name}" == f"{PACKAGE}.fis.actions.start_experiment"
        for kind, module, name, _ in package_calls(experiment)
    ):
        ctx.notes.append(
            "the first FIS experiment of an account creates FIS's service-linked role "
            "(AWSServiceRoleForFIS): whoever starts it then needs iam:CreateServiceLinkedRole "
            "with the condition iam:AWSServiceName = fis.amazonaws.com (once per account)"
        )
    role = configuration.get("aws_assume_role_arn")
    if role:
        ctx.notes.append(
            f"the activities run as {role} (aws_assume_role_arn): attach the experiment policy to "
            "that role and let the caller sts:AssumeRole it"
        )
    result["notes"] = sorted(set(ctx.notes))
    return result


def _automation_targets(
    key: str, arguments: Mapping[str, Any], ctx: Context, fis_role: "_Statements"
) -> Iterator[dict[str, Any]]:
    """Yield the (function, region, layer) arguments the automation role acts on."""
    if key in (
        f"{PACKAGE}.awslambda.actions.inject_latency",
        f"{PACKAGE}.awslambda.actions.inject_error",
    ):
        yield dict(arguments)
    elif key == f"{PACKAGE}.ssm.actions.start_automation":
        yield from _from_document_parameters(arguments.get("parameters"), ctx.region(arguments))
    elif key == f"{PACKAGE}.fis.actions.create_experiment_template":
        template = arguments.get("template")
        if isinstance(template, str) and Path(template).is_file():
            from chaosaws_serverless.inputs import InputError, read_mapping

            try:
                template = read_mapping(template, "FIS template")
            except InputError as error:
                ctx.notes.append(f"{error}: its roles are not derived")
                return
        if not isinstance(template, Mapping):
            ctx.notes.append("an FIS template given by path could not be read: roles not derived")
            return
        region = ctx.region(arguments)
        for action in (template.get("actions") or {}).values():
            if str(action.get("actionId", "")).startswith("aws:lambda:"):
                _fis_lambda_action(ctx, template, action, region, fis_role)
                continue
            if action.get("actionId") != "aws:ssm:start-automation-execution":
                continue
            parameters = action.get("parameters") or {}
            document = str(parameters.get("documentArn", ""))
            try:
                values = json.loads(parameters.get("documentParameters") or "{}")
            except ValueError:
                values = {}
            # Service Authorization Reference: the definition, the document, the execution.
            executions = ssm_executions(ctx, {"region": region})
            fis_role.add(
                "ssm:StartAutomationExecution", [_definition(document), document, *executions], None
            )
            fis_role.add("ssm:GetAutomationExecution", executions, None)
            fis_role.add("ssm:StopAutomationExecution", executions, None)
            if values.get("AutomationAssumeRole"):
                fis_role.add(
                    "iam:PassRole",
                    [str(values["AutomationAssumeRole"])],
                    {"StringEquals": {"iam:PassedToService": "ssm.amazonaws.com"}},
                )
            yield from _from_document_parameters(values, region)


def _fis_lambda_action(
    ctx: Context,
    template: Mapping[str, Any],
    action: Mapping[str, Any],
    region: str,
    fis_role: "_Statements",
) -> None:
    """What FIS's role needs for an aws:lambda:* action (FIS actions reference, [LA] of
    lab/fis/): read the function (its AWS_FIS_CONFIGURATION_LOCATION), write
    and delete the fault's object there, and resolve tag targets."""
    targets = template.get("targets") or {}
    for name in (action.get("targets") or {}).values():
        target = targets.get(name) or {}
        for arn in target.get("resourceArns") or []:
            fis_role.add("lambda:GetFunction", function_arns(ctx, arn, region), None)
        if target.get("resourceTags"):
            fis_role.add("tag:GetResources", ["*"], None)
            fis_role.add(
                "lambda:GetFunction",
                [f"arn:{ctx.partition}:lambda:{region}:{ctx.account}:function:*"],
                target_tag_condition(target["resourceTags"]),
            )
    bucket = ctx.configuration.get("fis_config_bucket")
    if not bucket:
        ctx.notes.append(
            "the S3 bucket of the AWS FIS Lambda extension is not named (configuration "
            "fis_config_bucket): s3:PutObject/s3:DeleteObject granted on */FisConfigs/*"
        )
    objects = f"arn:{ctx.partition}:s3:::{bucket or '*'}/FisConfigs/*"
    fis_role.add("s3:PutObject", [objects], None)
    fis_role.add("s3:DeleteObject", [objects], None)


def _definition(document_arn: str) -> str:
    # StartAutomationExecution is authorized on the automation definition, any version.
    return document_arn.replace(":document/", ":automation-definition/") + ":*"


def _from_document_parameters(parameters: Any, region: str) -> Iterator[dict[str, Any]]:
    if not isinstance(parameters, Mapping):
        return
    values = {k: (v[0] if isinstance(v, list) and v else v) for k, v in parameters.items()}
    if values.get("FunctionName"):
        yield {
            "function_name": values["FunctionName"],
            "layer_arn": values.get("LayerArn"),
            "region": region,
            # The role the document's restore passes to its child automation.
            "role_arn": values.get("AutomationAssumeRole"),
        }


def package_calls(
    experiment: Mapping[str, Any],
) -> Iterator[tuple[str, str, str, Mapping[str, Any]]]:
    """Yield what the experiment calls of this package: ``(kind, module, func, arguments)``.

    ``kind`` is ``"activity"`` (an activity, or a probe of this package run as
    an activity's tolerance) or ``"control"``. The walk over the activities is
    chaoslib's (``experiment.activities``); the doctor checks what the printed
    policy grants by walking with this same function.
    """
    for activity in activities(experiment):
        provider = package_provider(activity)
        if provider:
            module, func = str(provider["module"]), str(provider.get("func"))
            yield "activity", module, func, provider.get("arguments") or {}
        tolerance = activity.get("tolerance")
        if isinstance(tolerance, Mapping):
            provider = package_provider(tolerance)
            module, func = str(provider.get("module")), str(provider.get("func"))
            if provider and f"{module}.{func}" in PERMISSIONS:
                yield "activity", module, func, provider.get("arguments") or {}
    for control in experiment.get("controls") or []:
        provider = (control or {}).get("provider") or {}
        module = str(provider.get("module", ""))
        if module.startswith(f"{PACKAGE}."):
            yield "control", module, "", provider.get("arguments") or {}


class _Statements:
    """IAM statements built from (action, resources, condition), grouped deterministically."""

    def __init__(self) -> None:
        self._grants: dict[tuple[str, str], set[str]] = {}

    def __bool__(self) -> bool:
        return bool(self._grants)

    def add(self, action: str, resources: list[str], condition: Optional[dict[str, Any]]) -> None:
        if not resources:
            return
        key = (action, json.dumps(condition, sort_keys=True) if condition else "")
        self._grants.setdefault(key, set()).update(resources)

    def policy(self) -> dict[str, Any]:
        # Actions sharing the same resources and condition form one statement.
        groups: dict[tuple[tuple[str, ...], str], list[str]] = {}
        for (action, condition), granted in sorted(self._grants.items()):
            target = tuple(sorted(_without_covered(granted)))
            groups.setdefault((target, condition), []).append(action)
        statements = []
        for index, ((resources, condition), actions) in enumerate(
            sorted(groups.items(), key=lambda item: (sorted(item[1]), item[0])), start=1
        ):
            statement: dict[str, Any] = {
                "Sid": f"{_service_sid(actions)}{index}",
                "Effect": "Allow",
                "Action": sorted(actions),
                "Resource": list(resources) if len(resources) > 1 else resources[0],
            }
            if condition:
                statement["Condition"] = json.loads(condition)
            statements.append(statement)
        return {"Version": "2012-10-17", "Statement": statements}


def _without_covered(resources: set[str]) -> set[str]:
    """Drop the ARNs a wildcard ARN of the same set already grants."""
    wildcards = [r for r in resources if "*" in r]
    return {
        r for r in resources if not any(w != r and fnmatch.fnmatchcase(r, w) for w in wildcards)
    }


def _service_sid(actions: list[str]) -> str:
    services = sorted({a.split(":", 1)[0] for a in actions})
    return "".join(s.capitalize() for s in services)


def _trust(service: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": service},
                "Action": "sts:AssumeRole",
            }
        ],
    }
