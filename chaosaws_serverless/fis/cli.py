"""``chaosaws-serverless fis-template EXPERIMENT.json``: run an experiment's Lambda faults on FIS.

Compiles the method's ``inject_latency``/``inject_error`` actions (and their
``*_by_tags`` tag targets, fis-extension mode) of a Chaos Toolkit experiment
into an FIS experiment template (JSON on stdout, ready for
``aws fis create-experiment-template --cli-input-json`` or the
``create_experiment_template`` action). Values come from the options, else the
experiment's configuration (``fis_role_arn``, ``automation_role_arn``,
``fault_duration_seconds``, ``fis_stop_alarm_arns``, ``chaos_layer_arns``).
"""

import json
import re
from pathlib import Path
from typing import Any, Optional

import click

from chaosaws_serverless.iam.cli import load_experiment

__all__ = ["fis_template_command", "lambda_faults"]

_ACTIONS = "chaosaws_serverless.awslambda.actions"
_FAULTS = ("inject_latency", "inject_error", "inject_latency_by_tags", "inject_error_by_tags")


def lambda_faults(
    experiment: dict[str, Any], configuration: dict[str, Any]
) -> tuple[list[tuple[str, Any]], int]:
    """Return ``[(region, LambdaFault)]`` of the method and the pause seconds from the first."""
    from chaoslib import substitute

    from chaosaws_serverless.fis.faults import LambdaFault

    faults: list[tuple[str, Any]] = []
    pauses = 0
    for activity in experiment.get("method") or []:
        if not isinstance(activity, dict):
            continue
        provider = activity.get("provider") or {}
        func = provider.get("func")
        pause = substitute(dict(activity.get("pauses") or {}), configuration, {})
        is_fault = provider.get("module") == _ACTIONS and func in _FAULTS
        # The fault lasts from the first injection to the end of the method.
        if faults or is_fault:
            pauses += (_int(pause.get("before")) if faults else 0) + _int(pause.get("after"))
        if not is_fault:
            continue
        args = substitute(dict(provider.get("arguments") or {}), configuration, {})
        try:
            region = str(args.get("region") or configuration.get("aws_region") or "us-east-1")
            probability = float(args.get("probability", 1.0))
            alias = str(args["alias"]) if args.get("alias") else None
            # A tag target (*_by_tags) becomes FIS's own resourceTags + selectionMode.
            target: dict[str, Any] = {}
            if str(func).endswith("_by_tags"):
                target = {
                    "tags": args["tags"],
                    "selection": str(args.get("selection", "ALL")).strip().upper(),
                }
            if str(func).startswith("inject_latency"):
                fault = LambdaFault(
                    str(args.get("function_name", "")),
                    "latency",
                    latency_ms=int(args["latency_ms"]),
                    probability=probability,
                    alias=alias,
                    **target,
                )
            else:
                fault = LambdaFault(
                    str(args.get("function_name", "")),
                    "error",
                    status_code=int(args.get("status_code", 500)),
                    probability=probability,
                    alias=alias,
                    **target,
                )
        except (KeyError, TypeError, ValueError) as error:
            raise click.ClickException(
                f"action {activity.get('name')!r}: cannot read its arguments {args!r} ({error}); "
                "set the configuration values it uses (--var-file)"
            ) from error
        faults.append((region, fault))
    return faults, pauses


@click.command("fis-template")
@click.argument("experiment", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--mode",
    type=click.Choice(["ssm-automation", "fis-extension"]),
    default="ssm-automation",
    show_default=True,
    help="SSM chaos-layer document (same semantics as the package) or FIS's native Lambda actions.",
)
@click.option("--region", help="Region of the template (required when faults span regions).")
@click.option("--role-arn", help="FIS experiment role (default: configuration fis_role_arn).")
@click.option(
    "--automation-role-arn",
    help="Role the SSM document assumes (default: configuration automation_role_arn).",
)
@click.option("--duration-seconds", type=int, help="How long the fault lasts (default: see help).")
@click.option(
    "--stop-alarm-arn",
    "stop_alarm_arns",
    multiple=True,
    help="Stop condition alarm (repeat for several); none: no stop condition, said explicitly.",
)
@click.option(
    "--document-name", help="SSM document name (default chaosaws-serverless-chaos-layer)."
)
@click.option("--name", help="Template Name tag (default: the experiment file's name).")
@click.option("--config-bucket", default="<config-bucket>", help="fis-extension: S3 bucket.")
@click.option("--var-file", "var_files", multiple=True, help="Configuration values, as chaos run.")
@click.option("--var", "variables", multiple=True, help="KEY=VALUE configuration value.")
def fis_template_command(
    experiment: str,
    mode: str,
    region: Optional[str],
    role_arn: Optional[str],
    automation_role_arn: Optional[str],
    duration_seconds: Optional[int],
    stop_alarm_arns: tuple[str, ...],
    document_name: Optional[str],
    name: Optional[str],
    config_bucket: str,
    var_files: tuple[str, ...],
    variables: tuple[str, ...],
) -> None:
    """Compile an experiment's Lambda fault actions into an FIS template (JSON on stdout).

    The fault lasts --duration-seconds, else the configuration's
    fault_duration_seconds, else the pauses of the method from the first fault
    on. In fis-extension mode the one-time prerequisites go to stderr.
    """
    from chaoslib.exceptions import ActivityFailed

    from chaosaws_serverless.fis.templates import (
        DEFAULT_DOCUMENT_NAME,
        build_lambda_fault_template,
        fis_extension_prerequisites,
    )

    loaded, configuration, _ = load_experiment(experiment, var_files, variables)
    faults, pauses = lambda_faults(loaded, configuration)
    if not faults:
        raise click.ClickException(
            f"{experiment} has no inject_latency/inject_error action in its method: nothing to "
            "compile; pass (as EXPERIMENT) an experiment whose method injects a Lambda fault"
        )
    regions = sorted({r for r, _ in faults})
    chosen = region or (regions[0] if len(regions) == 1 else None)
    if chosen is None:
        raise click.ClickException(
            f"the faults span {', '.join(regions)}; an FIS template acts in one region: pass "
            "--region for each template"
        )
    selected = [fault for r, fault in faults if r == chosen]
    if not selected:
        raise click.ClickException(
            f"--region {chosen}: the experiment has no Lambda fault there; pass --region with one "
            f"of {', '.join(regions)}"
        )
    duration = duration_seconds or _int(configuration.get("fault_duration_seconds")) or pauses
    if not duration:
        raise click.ClickException(
            "how long should the fault last? pass --duration-seconds or set the configuration "
            "fault_duration_seconds"
        )
    role = role_arn or configuration.get("fis_role_arn")
    if not role:
        raise click.ClickException(
            "pass --role-arn (the FIS experiment role) or set the configuration fis_role_arn"
        )
    alarms = _stop_alarms(list(stop_alarm_arns) or _list(configuration.get("fis_stop_alarm_arns")))
    layers = configuration.get("chaos_layer_arns") or {}
    try:
        template = build_lambda_fault_template(
            selected,
            duration,
            str(role),
            chosen,
            mode=mode,
            layer_arn=layers.get(chosen) if isinstance(layers, dict) else None,
            automation_role_arn=automation_role_arn or configuration.get("automation_role_arn"),
            document_name=document_name or DEFAULT_DOCUMENT_NAME,
            stop_alarm_arns=alarms,
            tags={"Name": name or re.sub(r"[^\w.-]+", "-", Path(experiment).stem)},
        )
    except ActivityFailed as error:
        raise click.ClickException(str(error)) from error
    # Refused: <fill-in>s anywhere, and the experiment's own placeholder defaults (account
    # 123456789012) that no --var-file/--var replaced. A value the user gives is theirs:
    # 123456789012 is the emulator's (moto's) account in the lab.
    given = _given_keys(var_files, variables)
    text = json.dumps(template)
    defaults = [
        value
        for key, raw in configuration.items()
        if key not in given
        for value in _placeholders(raw)
        if value in text or json.dumps(value)[1:-1] in text
    ]
    placeholders = sorted({*defaults, *(v for v in _placeholders(template) if "<" in v)})
    if placeholders:
        raise click.ClickException(
            f"the template would hold placeholder value(s) {', '.join(placeholders)}: pass your "
            "own (--var-file my-values.json with chaos_layer_arns, or --role-arn, "
            "--automation-role-arn, --stop-alarm-arn)"
        )
    if not alarms:
        click.echo(
            "warning: the template has no stop condition (--stop-alarm-arn none): FIS will not "
            "stop the experiment when customers suffer",
            err=True,
        )
    if mode == "fis-extension":
        functions = [fault.label for fault in selected]
        for step in fis_extension_prerequisites(functions, chosen, config_bucket):
            click.echo(f"prerequisite: {step}", err=True)
    click.echo(json.dumps(template, indent=2))


def _stop_alarms(given: list[str]) -> list[str]:
    """Return the alarm ARNs; refuse none given, and ``none`` mixed with alarms."""
    if not given:
        raise click.ClickException(
            "no stop condition: pass --stop-alarm-arn ALARM_ARN (a CloudWatch alarm on the "
            "customers' errors; put_error_ratio_alarm creates one), or --stop-alarm-arn none to "
            "build a template FIS cannot stop by itself"
        )
    if any(arn.lower() == "none" for arn in given):
        if len(given) > 1:
            raise click.ClickException(
                f"--stop-alarm-arn none cannot go with alarms ({', '.join(given)}): pass one or "
                "the other"
            )
        return []
    return given


# AWS's documentation account and <...> fill-ins: values meant to be replaced, which FIS
# would only reject when the experiment starts (or, worse, act on someone else's account).
_PLACEHOLDER = re.compile(r"\b123456789012\b|<[^<>\s]+>")


def _given_keys(var_files: tuple[str, ...], variables: tuple[str, ...]) -> set[str]:
    """Return the configuration keys the user set with --var-file and --var."""
    from chaosaws_serverless.inputs import read_var_files

    return set(read_var_files(var_files, variables).configuration)


def _placeholders(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node] if _PLACEHOLDER.search(node) else []
    if isinstance(node, dict):
        return [found for value in node.values() for found in _placeholders(value)]
    if isinstance(node, list):
        return [found for value in node for found in _placeholders(value)]
    return []


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _list(value: Any) -> list[str]:
    if not value:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]
