"""What the doctor checks: an experiment's plan (regions, targets, routes, data), and a verdict.

:func:`plan_experiment` reads an experiment the way the least-privilege policy
does (``iam.policy.package_calls``, chaoslib's walk), its arguments substituted
as chaoslib substitutes them; a :class:`Check` is one line of the doctor's table.
"""

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Optional

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration

from chaosaws_serverless.aws import configured_regions, resolve_region
from chaosaws_serverless.experiment import PACKAGE
from chaosaws_serverless.iam.policy import package_calls

__all__ = [
    "FAIL",
    "PASS",
    "SKIP",
    "WARN",
    "Check",
    "Plan",
    "Target",
    "failed",
    "plan_experiment",
    "with_declared",
]

PASS, WARN, SKIP, FAIL = "pass", "warn", "skip", "fail"
_INJECTIONS = {f"{PACKAGE}.awslambda.actions.{f}" for f in ("inject_latency", "inject_error")}
_THROTTLES = {
    f"{PACKAGE}.awslambda.actions.{f}" for f in ("inject_throttle", "inject_throttle_by_tags")
}
_EVACUATIONS = {f"{PACKAGE}.route53.actions.evacuate_region"}
_TAG_INJECTIONS = {
    f"{PACKAGE}.awslambda.actions.{f}" for f in ("inject_latency_by_tags", "inject_error_by_tags")
}
_ROUTE_PROBES = {
    f"{PACKAGE}.route53.probes.{f}"
    for f in ("find_failover_misconfigurations", "wait_for_failover", "get_latency_route")
}
# Probes that read data which must exist before the experiment compares it.
_DATA_PROBES = {
    f"{PACKAGE}.cloudwatch.probes.{f}"
    for f in (
        "get_error_ratio",
        "get_customer_error_ratio",
        "get_api_error_ratio",
        "get_metric_ratio",
        "get_metric_sum",
        "get_region_share",
        "get_requests_by_region",
    )
} | {
    f"{PACKAGE}.route53.probes.{f}" for f in ("get_health_check_status", "health_check_is_healthy")
}
_LOAD_ACTIONS = {
    f"{PACKAGE}.loadgen.actions.{f}" for f in ("generate_load", "start_load_generator")
}


@dataclass(frozen=True)
class Check:
    """One line of the doctor's table: what was checked, on what, the verdict and why."""

    check: str
    target: str
    verdict: str
    detail: str
    measured: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        if not self.measured:
            data.pop("measured")
        return data


@dataclass(frozen=True)
class Target:
    """A function the experiment injects a fault into, with the fault as the action builds it."""

    function_name: str
    region: str
    alias: Optional[str]
    layer_arn: Optional[str]
    kind: str
    arguments: dict[str, Any]


@dataclass
class Plan:
    """What an experiment touches, its arguments substituted as chaoslib does."""

    regions: list[str] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    throttles: list[Target] = field(default_factory=list)  # kind: the action's func
    evacuations: list[str] = field(default_factory=list)  # the drills' health check ids
    tag_targets: list[Target] = field(default_factory=list)
    # (the activity, why its arguments are refused): a line of the table each, never a traceback
    refused: list[tuple[str, str]] = field(default_factory=list)
    routes: list[dict[str, Any]] = field(default_factory=list)
    data_probes: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    starts_load: bool = False


def failed(checks: list[Check]) -> list[Check]:
    """Return the checks whose verdict is a failure."""
    return [c for c in checks if c.verdict == FAIL]


def plan_experiment(
    experiment: Optional[Mapping[str, Any]],
    configuration: Configuration,
    regions: Optional[list[str]] = None,
) -> Plan:
    """Return the regions, fault targets, routes and data probes of ``experiment``."""
    from chaoslib import substitute

    plan = Plan()
    configuration = dict(configuration or {})
    seen: set[str] = set()
    # The walk the least-privilege policy uses: the doctor checks what that policy grants.
    for kind, module, func, raw in package_calls(experiment or {}):
        if kind != "activity":
            continue
        key = f"{module}.{func}"
        arguments = substitute(dict(raw), configuration, {})
        if key in _INJECTIONS or key in _TAG_INJECTIONS or key in _THROTTLES:
            try:
                region = resolve_region(arguments.get("region"), configuration)
            except ActivityFailed as error:
                plan.refused.append((func, str(error)))
                continue
            target = Target(
                function_name=str(arguments.get("function_name", arguments.get("tags", ""))),
                region=region,
                alias=arguments.get("alias") or None,
                layer_arn=arguments.get("layer_arn") or None,
                kind=func,
                arguments=arguments,
            )
            bucket = plan.throttles if key in _THROTTLES else plan.tag_targets
            (plan.targets if key in _INJECTIONS else bucket).append(target)
        elif key in _EVACUATIONS:
            check_id = str(arguments.get("health_check_id", ""))
            if check_id not in plan.evacuations:
                plan.evacuations.append(check_id)
        elif key in _ROUTE_PROBES:
            route = {
                k: arguments[k]
                for k in (
                    "hosted_zone_id",
                    "record_name",
                    "max_ttl_seconds",
                    "max_detection_seconds",
                )
                if k in arguments
            }
            if route not in plan.routes:
                plan.routes.append(route)
        if key in _DATA_PROBES:
            identity = json.dumps([key, arguments], sort_keys=True, default=str)
            if identity not in seen:
                seen.add(identity)
                plan.data_probes.append((module, func, arguments))
        if key in _LOAD_ACTIONS:
            plan.starts_load = True
    if regions:
        plan.regions = list(dict.fromkeys(regions))
        plan.targets = [t for t in plan.targets if t.region in plan.regions]
        plan.throttles = [t for t in plan.throttles if t.region in plan.regions]
        plan.tag_targets = [t for t in plan.tag_targets if t.region in plan.regions]
    else:
        plan.regions = list(dict.fromkeys(t.region for t in plan.targets + plan.tag_targets))
        if not plan.regions:
            try:
                plan.regions = configured_regions(configuration)
            except ActivityFailed as error:
                plan.refused.append(("configuration", str(error)))
    return plan


def with_declared(
    experiment: Optional[Mapping[str, Any]], configuration: Configuration
) -> dict[str, Any]:
    """Return ``configuration`` over the experiment's declared one, loaded as chaoslib does."""
    from chaoslib.configuration import load_configuration

    given = dict(configuration or {})
    declared = dict((experiment or {}).get("configuration") or {})
    if not declared:
        return given
    return {**load_configuration(declared, dict(given)), **given}
