"""Which resources each grant of the permissions table means, for one activity's arguments (pure).

A ``Grant``'s ``kind`` (``permissions.py``) names a function of
:data:`RESOURCE_KINDS`: given the activity's substituted arguments and the
:class:`Context` (account, partition, configuration, default region), it
returns the ARNs the grant covers. :data:`CONDITIONS` and
:data:`ARGUMENT_CONDITIONS` add the IAM condition some kinds carry (a fault
record, the target's tags, the service a role is passed to).
"""

from collections.abc import Callable, Mapping
from typing import Any, Optional

from chaosaws_serverless.iam.permissions import (
    record_tag_condition,
    target_tag_condition,
    throttle_tag_condition,
)
from chaosaws_serverless.patterns import FUNCTION_ARN

__all__ = [
    "ARGUMENT_CONDITIONS",
    "CONDITIONS",
    "PRINCIPAL_ACCOUNT",
    "RESOURCE_KINDS",
    "Context",
    "function_arns",
    "ssm_executions",
]

PRINCIPAL_ACCOUNT = "${aws:PrincipalAccount}"


class Context:
    """What resource resolution needs: account, partition, configuration, default region."""

    def __init__(self, configuration: Mapping[str, Any], account_id: Optional[str]) -> None:
        self.configuration = configuration
        self.account = account_id or PRINCIPAL_ACCOUNT
        self.partition = "aws"
        self.default_region = str(configuration.get("aws_region") or "us-east-1")
        self.notes: list[str] = []

    def region(self, arguments: Mapping[str, Any]) -> str:
        return str(arguments.get("region") or self.default_region)

    def regions(self, arguments: Mapping[str, Any]) -> list[str]:
        if arguments.get("region"):
            return [str(arguments["region"])]
        regions = self.configuration.get("aws_regions") or [self.default_region]
        if isinstance(regions, str):
            regions = [r.strip() for r in regions.split(",") if r.strip()]
        return [str(r) for r in regions]


def function_arns(ctx: Context, name: Any, region: str) -> list[str]:
    name = str(name)
    match = FUNCTION_ARN.match(name)
    if match:  # a version's or an alias's ARN grants on its function
        base = (
            f"arn:{match['partition']}:lambda:{match['region']}:{match['account']}:"
            f"function:{match['name']}"
        )
    else:
        base = f"arn:{ctx.partition}:lambda:{region}:{ctx.account}:function:{name}"
    # The function and its versions/aliases (GetFunction with a qualifier, alias updates).
    return [base, f"{base}:*"]


def _functions(ctx: Context, arguments: Mapping[str, Any]) -> list[str]:
    if not arguments.get("function_name"):
        return []
    return function_arns(ctx, arguments["function_name"], ctx.region(arguments))


def _loadgen_function(ctx: Context, arguments: Mapping[str, Any]) -> list[str]:
    from chaosaws_serverless.loadgen.deployment import DEFAULT_FUNCTION_NAME

    name = arguments.get("function_name") or DEFAULT_FUNCTION_NAME
    return function_arns(ctx, name, ctx.region(arguments))


def _any_function(ctx: Context, arguments: Mapping[str, Any]) -> list[str]:
    return [
        f"arn:{ctx.partition}:lambda:{region}:{ctx.account}:function:*"
        for region in ctx.regions(arguments)
    ]


def _region_functions(ctx: Context, arguments: Mapping[str, Any]) -> list[str]:
    # Tag targets: which functions is known at run time; the tag condition scopes them.
    return [f"arn:{ctx.partition}:lambda:{ctx.region(arguments)}:{ctx.account}:function:*"]


def _layer(ctx: Context, arguments: Mapping[str, Any]) -> list[str]:
    layer = arguments.get("layer_arn") or arguments.get("dependencies_layer_arn")
    region = ctx.region(arguments)
    if not layer:
        layers = ctx.configuration.get("chaos_layer_arns") or {}
        layer = layers.get(region) if isinstance(layers, Mapping) else None
    if not layer:
        ctx.notes.append(
            f"no chaos layer ARN for {region} (argument layer_arn or configuration "
            "chaos_layer_arns): lambda:GetLayerVersion is granted on every layer of the region"
        )
        return [f"arn:{ctx.partition}:lambda:{region}:*:layer:*:*"]
    return [str(layer)]


def _alarms(ctx: Context, arguments: Mapping[str, Any]) -> list[str]:
    names = arguments.get("alarm_names") or arguments.get("alarm_name") or "*"
    names = [names] if isinstance(names, str) else list(names)
    region = ctx.region(arguments)
    return [f"arn:{ctx.partition}:cloudwatch:{region}:{ctx.account}:alarm:{n}" for n in names]


def _dashboard(ctx: Context, arguments: Mapping[str, Any]) -> list[str]:
    name = arguments.get("dashboard_name") or "*"
    return [f"arn:{ctx.partition}:cloudwatch::{ctx.account}:dashboard/{name}"]


def _health_checks(ctx: Context, arguments: Mapping[str, Any]) -> list[str]:
    # Probes that follow records find their health checks at run time.
    check = arguments.get("health_check_id") or "*"
    return [f"arn:{ctx.partition}:route53:::healthcheck/{check}"]


def _hosted_zone(ctx: Context, arguments: Mapping[str, Any]) -> list[str]:
    zone = str(arguments.get("hosted_zone_id") or "*").removeprefix("/hostedzone/")
    return [f"arn:{ctx.partition}:route53:::hostedzone/{zone}"]


def _fis(ctx: Context, arguments: Mapping[str, Any]) -> list[str]:
    # Ids are only known at run time; the region scopes them.
    region = ctx.region(arguments)
    prefix = f"arn:{ctx.partition}:fis:{region}:{ctx.account}"
    return [f"{prefix}:experiment-template/*", f"{prefix}:experiment/*", f"{prefix}:action/*"]


def _document_name(arguments: Mapping[str, Any]) -> str:
    from chaosaws_serverless.ssm.document import DEFAULT_DOCUMENT_NAME

    return str(arguments.get("document_name") or arguments.get("name") or DEFAULT_DOCUMENT_NAME)


def _ssm_document(ctx: Context, arguments: Mapping[str, Any]) -> list[str]:
    region = ctx.region(arguments)
    return [f"arn:{ctx.partition}:ssm:{region}:{ctx.account}:document/{_document_name(arguments)}"]


def _ssm_definition(ctx: Context, arguments: Mapping[str, Any]) -> list[str]:
    region = ctx.region(arguments)
    name = _document_name(arguments)
    return [f"arn:{ctx.partition}:ssm:{region}:{ctx.account}:automation-definition/{name}:*"]


def ssm_executions(ctx: Context, arguments: Mapping[str, Any]) -> list[str]:
    region = ctx.region(arguments)
    return [f"arn:{ctx.partition}:ssm:{region}:{ctx.account}:automation-execution/*"]


def _passed_roles(ctx: Context, arguments: Mapping[str, Any]) -> list[str]:
    roles = [arguments.get("role_arn")]
    template = arguments.get("template")
    if isinstance(template, Mapping):
        roles.append(template.get("roleArn"))
    parameters = arguments.get("parameters")
    if isinstance(parameters, Mapping):
        roles.append(parameters.get("AutomationAssumeRole"))
    found = [str(r[0] if isinstance(r, list) else r) for r in roles if r]
    if not found:
        ctx.notes.append(
            "a role passed to AWS is not named in the experiment: iam:PassRole left out"
        )
    return found


def _switch_group(ctx: Context, arguments: Mapping[str, Any]) -> list[str]:
    from chaosaws_serverless.switch import GROUP

    return [
        f"arn:{ctx.partition}:scheduler:{region}:{ctx.account}:schedule-group/{GROUP}"
        for region in ctx.regions(arguments)
    ]


def _switch_schedules(ctx: Context, arguments: Mapping[str, Any]) -> list[str]:
    from chaosaws_serverless.switch import GROUP

    return [
        f"arn:{ctx.partition}:scheduler:{region}:{ctx.account}:schedule/{GROUP}/*"
        for region in ctx.regions(arguments)
    ]


def _switch_role(ctx: Context, arguments: Mapping[str, Any]) -> list[str]:
    from chaosaws_serverless.switch import ROLE_KEY

    role = ctx.configuration.get(ROLE_KEY)
    if role:
        return [str(role)]
    ctx.notes.append(
        f"the dead man's switch's role is not named (configuration {ROLE_KEY}): "
        "its iam:PassRole is left out"
    )
    return []


def _automation_role(ctx: Context, arguments: Mapping[str, Any]) -> list[str]:
    """The automation role itself (it passes itself to the document's restore child)."""
    role = arguments.get("role_arn") or ctx.configuration.get("automation_role_arn")
    if role:
        return [str(role)]
    ctx.notes.append(
        "the automation role is not named (configuration automation_role_arn): its "
        "iam:PassRole on itself is granted on ${aws:PrincipalArn}, the role's own ARN"
    )
    return ["${aws:PrincipalArn}"]


RESOURCE_KINDS: dict[str, Callable[[Context, Mapping[str, Any]], list[str]]] = {
    "*": lambda ctx, arguments: ["*"],
    "function": _functions,
    "recorded-function": _any_function,
    "throttled-function": _any_function,
    "any-function": _any_function,
    "tagged-function": _region_functions,
    "loadgen-function": _loadgen_function,
    "layer": _layer,
    "alarm": _alarms,
    "dashboard": _dashboard,
    "health-check": _health_checks,
    "hosted-zone": _hosted_zone,
    "fis-template": _fis,
    "ssm-document": _ssm_document,
    "ssm-automation-definition": _ssm_definition,
    "ssm-execution": ssm_executions,
    "passed-role-fis": _passed_roles,
    "passed-role-ssm": _passed_roles,
    "passed-role-lambda": _passed_roles,
    "automation-role": _automation_role,
    "switch-group": _switch_group,
    "switch-schedule": _switch_schedules,
    "passed-role-scheduler": _switch_role,
}


def _passed_to(service: str) -> Callable[[], dict[str, Any]]:
    return lambda: {"StringEquals": {"iam:PassedToService": f"{service}.amazonaws.com"}}


CONDITIONS: dict[str, Callable[[], dict[str, Any]]] = {
    "recorded-function": record_tag_condition,
    "throttled-function": throttle_tag_condition,
    "passed-role-fis": _passed_to("fis"),
    "passed-role-ssm": _passed_to("ssm"),
    "passed-role-lambda": _passed_to("lambda"),
    "automation-role": _passed_to("ssm"),
    "passed-role-scheduler": _passed_to("scheduler"),
}


# Conditions that depend on the activity's arguments (tag targets).
ARGUMENT_CONDITIONS: dict[str, Callable[[Mapping[str, Any]], Optional[dict[str, Any]]]] = {
    "tagged-function": lambda arguments: target_tag_condition(arguments.get("tags")),
}
