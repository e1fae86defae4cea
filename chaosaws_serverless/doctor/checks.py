"""The doctor's read-only checks: will this experiment do on this account what it says?

Every verdict comes from the package's own code, never from a second model of
it: the layer ARN from ``awslambda.faults.resolve_layer_arn``, the function's
refusals from ``awslambda.engine.injection_refusals`` (the checks the
actions run before changing anything), the permissions from
``iam.policy.experiment_policies`` (the table the least-privilege policy is
printed from), the failover findings from
``route53.probes.find_failover_misconfigurations``, and the metrics by
calling the experiment's own probes with its own arguments. Nothing here
changes AWS: the calls are STS GetCallerIdentity, Lambda GetLayerVersion and
GetFunction, IAM GetRole and SimulatePrincipalPolicy, Route 53 and CloudWatch
reads.
"""

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any, Optional

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets

from chaosaws_serverless import switch
from chaosaws_serverless.aws import client
from chaosaws_serverless.awslambda import engine, faults
from chaosaws_serverless.doctor import evacuations, throttles
from chaosaws_serverless.doctor.plan import (
    FAIL,
    PASS,
    SKIP,
    WARN,
    Check,
    Target,
    plan_experiment,
    with_declared,
)
from chaosaws_serverless.errors import NoData, aws_errors, code_of

__all__ = ["read_only_checks"]

# --- the checks ------------------------------------------------------------------------


def identity(configuration: Configuration, secrets: Secrets) -> tuple[Check, dict[str, str]]:
    """Check the credentials: who they resolve to (sts:GetCallerIdentity)."""
    try:  # building the client finds the credentials: none anywhere is this check failing
        sts = client("sts", None, configuration, secrets)
        with aws_errors("sts:GetCallerIdentity", "the configured credentials"):
            answer = sts.get_caller_identity()
    except ActivityFailed as error:
        return Check("credentials", "sts", FAIL, str(error)), {}
    who = {"Account": str(answer["Account"]), "Arn": str(answer["Arn"])}
    return Check("credentials", "sts", PASS, f"{who['Arn']} (account {who['Account']})"), who


def layer(
    region: str, layer_arn: Optional[str], configuration: Configuration, secrets: Secrets
) -> tuple[Check, Optional[list[str]]]:
    """Check the chaos layer an injection in ``region`` attaches: named, well formed, readable."""
    try:
        arn = faults.resolve_layer_arn(layer_arn, region, configuration)
    except ActivityFailed as error:
        return Check("chaos layer", region, FAIL, str(error)), None
    name_arn, version = arn.rsplit(":", 1)
    lam = client("lambda", region, configuration, secrets)
    try:
        with aws_errors("lambda:GetLayerVersion", f"layer {arn!r}"):
            answer = lam.get_layer_version(LayerName=name_arn, VersionNumber=int(version))
    except ActivityFailed as error:
        return Check("chaos layer", region, FAIL, str(error)), None
    architectures = list(answer.get("CompatibleArchitectures") or [])
    runtimes = list(answer.get("CompatibleRuntimes") or [])
    detail = (
        f"{arn} readable; architectures {', '.join(architectures) or 'any'}; "
        f"runtimes {', '.join(runtimes) or 'any'}"
    )
    return Check("chaos layer", region, PASS, detail), architectures


def _fault_of(target: Target) -> engine.Fault:
    arguments = target.arguments
    if target.kind.startswith("inject_latency"):
        return faults.latency_fault(arguments.get("latency_ms"), arguments.get("probability", 1.0))
    return faults.error_fault(
        arguments.get("status_code", 500), arguments.get("body"), arguments.get("probability", 1.0)
    )


def _layer_of_function(
    lam: Any,
    config: Mapping[str, Any],
    layer_arn: str,
    layer_architectures: Optional[list[str]],
    region: str,
    configuration: Configuration,
) -> tuple[str, Optional[list[str]]]:
    """Return the chaos layer the injection would use on this function, as the engine picks it.

    A version of the chaos layer already attached is used as it is; otherwise the
    published table's layer is the one of the function's architecture.
    """
    attached = engine.attached_chaos_layer(engine.layers_of(config), layer_arn)
    architecture = (config.get("Architectures") or ["x86_64"])[0]
    default: Optional[str]
    for_architecture: Optional[str]
    try:
        default = faults.resolve_layer_arn(None, region, configuration)
        for_architecture = faults.resolve_layer_arn(None, region, configuration, architecture)
    except ActivityFailed:  # no published layer here: the layer given is the one
        default = for_architecture = None
    if attached == layer_arn:
        if layer_arn != default or for_architecture in (None, layer_arn):
            return layer_arn, layer_architectures
        attached = str(for_architecture)
    return attached, faults.layer_architectures(lam, attached)


def function(
    target: Target,
    layer_arn: Optional[str],
    layer_architectures: Optional[list[str]],
    configuration: Configuration,
    secrets: Secrets,
) -> Check:
    """Check one target function against every refusal its injection would make."""
    label = f"{target.function_name} ({target.region})"
    name = f"{target.kind.replace('inject_', '')} target"
    try:
        fault = _fault_of(target)
        ref = faults.function_ref(target.function_name, target.region, target.alias, configuration)
    except ActivityFailed as error:
        return Check(name, label, FAIL, f"the action's arguments are refused: {error}")
    lam = client("lambda", target.region, configuration, secrets)
    try:
        with faults.engine_errors():
            config = engine.get_function(lam, ref)["Configuration"]
            # As the injection reads them: ListTags (GetFunction hides tags without ListTags).
            tags = engine.read_tags(lam, config, ref.resource)
    except ActivityFailed as error:
        return Check(name, label, FAIL, str(error))
    environment = (config.get("Environment") or {}).get("Variables") or {}
    facts = {
        "runtime": config.get("Runtime") or "none (container image or OS-only)",
        "package_type": config.get("PackageType", "Zip"),
        "architecture": (config.get("Architectures") or ["x86_64"])[0],
        "layers": len(config.get("Layers") or []),
        # The wrapper is the extension contract's own variable; no other value is shown.
        "wrapper": environment.get(engine.EXEC_WRAPPER) or "none",
        "tags": len(tags),
    }
    summary = (
        f"{facts['runtime']}, {facts['package_type']}, {facts['architecture']}, "
        f"{facts['layers']} layer(s), wrapper {facts['wrapper']}, {facts['tags']} tag(s)"
    )
    if layer_arn is None:
        return Check(name, label, FAIL, f"{summary}; no readable chaos layer for {target.region}")
    try:
        layer_arn, layer_architectures = _layer_of_function(
            lam, config, layer_arn, layer_architectures, target.region, configuration
        )
    except ActivityFailed as error:
        return Check(name, label, FAIL, f"{summary}; {error}")
    refusals = engine.injection_refusals(
        config,
        tags,
        fault,
        layer_arn,
        layer_architectures,
        ref.alias,
        by=faults.injector(),
        switched=switch.switch_required(configuration),
    )
    if refusals:
        return Check(
            name,
            label,
            FAIL,
            f"{summary}; the injection would refuse: {' | '.join(refusals)}",
            facts,
        )
    return Check(name, label, PASS, f"{summary}; the injection would go ahead", facts)


def tag_target(
    target: Target,
    layer_arn: Optional[str],
    layer_architectures: Optional[list[str]],
    configuration: Configuration,
    secrets: Secrets,
) -> Check:
    """Check a tag-targeted injection: its own selection rules (``tag_targets.select_by_tags``:
    the candidates, the ceiling, the selection id), then :func:`function` on every candidate,
    not only on a random pick: any of them may be the one the selection takes."""
    from chaosaws_serverless.awslambda import tag_targets

    arguments = target.arguments
    label = f"tags {arguments.get('tags')} ({target.region})"
    name = f"{target.kind.replace('inject_', '').replace('_by_tags', '')} tag target"
    selection = arguments.get("selection", "ALL")
    try:
        tagged = tag_targets.tag_target(
            arguments.get("tags"),
            target.region,
            arguments.get("selection_id"),
            configuration,
            secrets,
        )
        claims = tag_targets.fault_claims()
        _, candidates, count, _ = tag_targets.select_by_tags(tagged, selection, claims)
    except ActivityFailed as error:
        return Check(name, label, FAIL, str(error))
    refused = [
        f"{fn}: {check.detail}"
        for fn in candidates
        for check in [
            function(
                replace(target, function_name=fn),
                layer_arn,
                layer_architectures,
                configuration,
                secrets,
            )
        ]
        if check.verdict == FAIL
    ]
    summary = f"selection {selection}: {count} of {len(candidates)} {tagged.where}"
    measured = {"matched": len(candidates), "selected": count}
    if refused:
        detail = f"{summary}; the injection would refuse (all or nothing): {' | '.join(refused)}"
        return Check(name, label, FAIL, detail, measured)
    return Check(name, label, PASS, f"{summary}; the injection would go ahead", measured)


def _policy_source(iam: Any, arn: str) -> tuple[Optional[str], str]:
    """Return the IAM ARN the simulator evaluates for a caller ARN, or None and why not."""
    parts = arn.split(":", 5)
    if len(parts) < 6:
        return None, f"caller {arn!r} is not an ARN the policy simulator knows"
    partition, service, account, resource = parts[1], parts[2], parts[4], parts[5]
    if service == "iam" and (resource.startswith("user/") or resource.startswith("role/")):
        return arn, ""
    if service == "iam" and resource == "root":
        return None, "the caller is the account's root user, which IAM policies do not limit"
    if service == "sts" and resource.startswith("assumed-role/"):
        role = resource.split("/")[1]
        try:
            with aws_errors("iam:GetRole", f"role {role!r}"):
                return str(iam.get_role(RoleName=role)["Role"]["Arn"]), ""
        except ActivityFailed:
            # Without GetRole the path is unknown; most roles have none.
            return f"arn:{partition}:iam::{account}:role/{role}", ""
    return None, f"the simulator cannot evaluate a {service} principal like {arn!r}"


def _simulated_resources(resources: Any) -> list[str]:
    listed = [resources] if isinstance(resources, str) else list(resources)
    # "<arn>:*" only widens "<arn>" to versions and aliases: the simulator takes a
    # resource literally, so the unqualified ARN stands for both.
    return [r for r in listed if not (r.endswith(":*") and r[:-2] in listed)] or ["*"]


def permissions(
    experiment: Optional[Mapping[str, Any]],
    configuration: Configuration,
    secrets: Secrets,
    who: Mapping[str, str],
) -> Check:
    """Check with IAM's policy simulator that the caller holds the policy the experiment needs."""
    if not experiment:
        return Check("permissions", "iam", SKIP, "no experiment given: nothing to simulate")
    if not who:
        return Check("permissions", "iam", SKIP, "unknown caller (credentials failed)")
    from chaosaws_serverless.iam.policy import PolicyError, experiment_policies

    try:
        policy = experiment_policies(experiment, configuration, who["Account"])["experiment"]
    except PolicyError as error:
        return Check("permissions", "iam", FAIL, str(error))
    iam = client("iam", None, configuration, secrets)
    source, why = _policy_source(iam, who["Arn"])
    if source is None:
        return Check("permissions", "iam", SKIP, why)
    denied: list[str] = []
    conditional: list[str] = []
    asked = 0
    for statement in policy.get("Statement") or []:
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        if statement.get("Condition"):
            conditional.extend(
                actions
            )  # needs the resource's tags, which the simulator is not given
            continue
        resources = _simulated_resources(statement.get("Resource", "*"))
        asked += len(actions) * len(resources)
        try:
            with aws_errors("iam:SimulatePrincipalPolicy", f"principal {source!r}"):
                pages = iam.get_paginator("simulate_principal_policy").paginate(
                    PolicySourceArn=source, ActionNames=actions, ResourceArns=resources
                )
                results = [r for page in pages for r in page.get("EvaluationResults") or []]
        except ActivityFailed as error:
            code = code_of(error)
            reason = (
                "the caller may not call iam:SimulatePrincipalPolicy"
                if "AccessDenied" in code
                else f"the policy simulator did not answer ({error})"
            )
            return Check(
                "permissions",
                "iam",
                SKIP,
                f"not checked: {reason}; grant it, or compare the caller's policy with "
                "`chaosaws-serverless iam-policy` by hand",
            )
        for result in results:
            if result.get("EvalDecision") != "allowed":
                denied.append(
                    f"{result['EvalActionName']} on {result.get('EvalResourceName', '*')} "
                    f"({result.get('EvalDecision')})"
                )
    note = (
        f"; not simulated (conditional on tags): {', '.join(sorted(set(conditional)))}"
        if conditional
        else ""
    )
    if denied:
        return Check("permissions", source, FAIL, f"denied: {'; '.join(denied)}{note}")
    return Check("permissions", source, PASS, f"{asked} action/resource pairs allowed{note}")


def routes(route: Mapping[str, Any], configuration: Configuration, secrets: Secrets) -> Check:
    """Check a latency/failover record with the package's own pre-flight probe."""
    from chaosaws_serverless.route53.probes import find_failover_misconfigurations

    label = f"{route.get('record_name')} in {route.get('hosted_zone_id')}"
    try:
        findings = find_failover_misconfigurations(
            **dict(route), configuration=configuration, secrets=secrets
        )
    except ActivityFailed as error:
        return Check("route53 failover", label, FAIL, str(error))
    except TypeError as error:
        return Check(
            "route53 failover", label, FAIL, f"the probe's arguments are incomplete: {error}"
        )
    if findings:
        return Check("route53 failover", label, FAIL, " | ".join(findings), {"findings": findings})
    return Check("route53 failover", label, PASS, "no misconfiguration found")


def data_probe(
    module: str,
    func: str,
    arguments: Mapping[str, Any],
    starts_load: bool,
    configuration: Configuration,
    secrets: Secrets,
) -> Check:
    """Run one of the experiment's metric probes now: does its data exist in the window?"""
    import importlib

    probe: Callable[..., Any] = getattr(importlib.import_module(module), func)
    shown = {k: v for k, v in arguments.items() if k not in ("url",)}
    label = f"{func}({', '.join(f'{k}={v}' for k, v in sorted(shown.items()))})"
    try:
        value = probe(**dict(arguments), configuration=configuration, secrets=secrets)
    except ActivityFailed as error:
        if isinstance(error, NoData) and starts_load:
            return Check(
                "metric data",
                label,
                WARN,
                f"{error} (the experiment starts its own load, which publishes it)",
            )
        return Check("metric data", label, FAIL, str(error))
    except TypeError as error:
        return Check("metric data", label, FAIL, f"the probe's arguments are incomplete: {error}")
    if value in ("Unhealthy", False) and "health" in func:
        return Check(
            "metric data", label, WARN, f"returns {value!r} now: the steady state may not hold"
        )
    return Check("metric data", label, PASS, f"returns {value!r}")


def read_only_checks(
    experiment: Optional[Mapping[str, Any]],
    configuration: Configuration,
    secrets: Secrets = None,
    regions: Optional[list[str]] = None,
) -> list[Check]:
    """Run every read-only check for ``experiment`` (or only credentials and layers without one)."""
    configuration = with_declared(experiment, configuration)
    secrets = dict(secrets or {})
    plan = plan_experiment(experiment, configuration, regions)
    checks: list[Check] = []
    first, who = identity(configuration, secrets)
    checks.append(first)
    layers: dict[str, tuple[Optional[str], Optional[list[str]]]] = {}
    explicit = {t.region: t.layer_arn for t in plan.targets if t.layer_arn}
    for region in plan.regions:
        check, architectures = layer(region, explicit.get(region), configuration, secrets)
        checks.append(check)
        arn = None
        if check.verdict == PASS:
            arn = faults.resolve_layer_arn(explicit.get(region), region, configuration)
        layers[region] = (arn, architectures)
    for target in plan.targets + plan.tag_targets:
        arn, architectures = layers.get(target.region, (None, None))
        if target.layer_arn and target.layer_arn != arn:
            layer_check, architectures = layer(
                target.region, target.layer_arn, configuration, secrets
            )
            arn = target.layer_arn if layer_check.verdict == PASS else None
        judge = tag_target if target in plan.tag_targets else function
        checks.append(judge(target, arn, architectures, configuration, secrets))
    for target in plan.throttles:
        checks.append(throttles.throttle_target(target, configuration, secrets))
    for check_id in plan.evacuations:
        checks.append(evacuations.evacuation_target(check_id, configuration, secrets))
    checks.extend(Check("arguments", what, FAIL, why) for what, why in plan.refused)
    checks.append(permissions(experiment, configuration, secrets, who))
    for route in plan.routes:
        checks.append(routes(route, configuration, secrets))
    for module, func, arguments in plan.data_probes:
        checks.append(data_probe(module, func, arguments, plan.starts_load, configuration, secrets))
    return checks
