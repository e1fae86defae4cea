"""``chaosaws-serverless iam-policy EXPERIMENT.json``: least-privilege policies for an experiment.

Also home of the experiment loading the commands share (``iam-policy``,
``fis-template``, ``doctor``, ``rollback``): chaoslib's loader, the
configuration and the secrets resolved as ``chaos run`` resolves them
(``--var-file``, ``--var``).
"""

import json
import sys
from typing import TYPE_CHECKING, Any, Optional

import click

if TYPE_CHECKING:
    from chaosaws_serverless.inputs import VarValues

__all__ = ["iam_policy_command", "load_experiment", "load_var_values"]

_ROLES = {
    "experiment": "experiment",
    "automation": "automation_role",
    "fault-switch": "fault_switch_role",
    "fis": "fis_role",
}


def load_experiment(
    path: str,
    var_files: tuple[str, ...] = (),
    variables: tuple[str, ...] = (),
    *,
    require_values: bool = True,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Return the experiment at ``path``, its configuration and its secrets, as chaos run sees them.

    The file through :mod:`chaosaws_serverless.inputs` (its shape checked), the
    configuration chaoslib's ``load_configuration`` of the declared one with the
    var files' values, the secrets chaoslib's ``load_secrets`` with the var
    files' ``secrets``. Values for keys the experiment does not declare are kept
    for the commands that read them (``fis_role_arn``, ...); the others are
    named in a note, since chaos run drops them. ``require_values``: refuse an
    experiment whose account-specific keys have no value, and note the dropped
    keys (the emergency stop needs none of them, and reads every key itself).
    """
    from chaoslib.exceptions import ChaosException
    from chaoslib.secret import load_secrets

    from chaosaws_serverless.controls.preflight import missing_keys, required_keys, value_problems
    from chaosaws_serverless.inputs import (
        COMMAND_KEYS,
        InputError,
        read_experiment,
        resolve_configuration,
        undeclared_keys_note,
    )

    given = load_var_values(var_files, variables)
    try:
        experiment = read_experiment(path)
        declared = dict(experiment.get("configuration") or {})
        configuration = resolve_configuration(declared, given.configuration, f"experiment {path}")
        configuration.update({k: v for k, v in given.configuration.items() if k not in declared})
        secrets = load_secrets(dict(experiment.get("secrets") or {}), configuration, given.secrets)
    except (InputError, ChaosException) as error:
        raise click.ClickException(str(error)) from None
    note = undeclared_keys_note(declared, given.configuration, f"experiment {path}", COMMAND_KEYS)
    if note and require_values:  # the emergency stop reads every key itself
        click.echo(f"note: {note}", err=True)
    wrong = value_problems(declared, configuration) if require_values else []
    if wrong:
        raise click.ClickException(f"{path}: " + "; ".join(wrong))
    missing = missing_keys(required_keys(experiment), configuration) if require_values else []
    if missing:
        raise click.ClickException(
            f"{path} needs values for its account-specific keys (--var-file): " + "; ".join(missing)
        )
    return dict(experiment), dict(configuration), dict(secrets)


def load_var_values(
    var_files: tuple[str, ...] = (), variables: tuple[str, ...] = ()
) -> "VarValues":
    """Return the configuration and secrets of ``--var-file``/``--var`` as ``chaos run`` reads them.

    :func:`chaosaws_serverless.inputs.read_var_files` (chaoslib's ``merge_vars``
    rule: a ``.env`` file goes into the environment); what chaos run would ignore
    is printed as a note on stderr, a file it cannot read is the command's error.
    """
    from chaosaws_serverless.inputs import InputError, read_var_files

    try:
        values = read_var_files(var_files, variables)
    except InputError as error:
        raise click.ClickException(str(error)) from None
    for note in values.notes:
        click.echo(f"note: {note}", err=True)
    return values


@click.command("iam-policy")
@click.argument("experiment", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--account-id", help="AWS account of the resources (default: ${aws:PrincipalAccount})."
)
@click.option(
    "--role",
    type=click.Choice(sorted(_ROLES)),
    help="Print only this policy document (ready for aws iam put-role-policy).",
)
@click.option("--var-file", "var_files", multiple=True, help="Configuration values, as chaos run.")
@click.option("--var", "variables", multiple=True, help="KEY=VALUE configuration value.")
def iam_policy_command(
    experiment: str,
    account_id: Optional[str],
    role: Optional[str],
    var_files: tuple[str, ...],
    variables: tuple[str, ...],
) -> None:
    """Print the least-privilege IAM policies an experiment's activities need.

    JSON on stdout: "experiment" (whoever runs chaos), "automation_role" (the
    role the chaos-layer SSM document assumes), "fault_switch_role" (the role
    EventBridge Scheduler assumes when a fault's dead man's switch fires) and,
    for FIS templates, "fis_role", each with its trust policy, and "notes".
    """
    from chaosaws_serverless.iam.policy import PolicyError, experiment_policies

    loaded, configuration, _ = load_experiment(experiment, var_files, variables)
    try:
        policies = experiment_policies(loaded, configuration, account_id)
    except PolicyError as error:
        raise click.ClickException(str(error)) from error
    for note in policies["notes"]:
        click.echo(f"note: {note}", err=True)
    if role:
        key = _ROLES[role]
        if key not in policies:
            present = sorted(r for r, k in _ROLES.items() if k in policies)
            raise click.ClickException(
                f"--role {role}: the experiment needs no {key.replace('_', ' ')}; pass --role "
                f"with one of {', '.join(present)} or leave it out to print every policy"
            )
        click.echo(json.dumps(policies[key], indent=2))
        return
    json.dump(policies, sys.stdout, indent=2)
    click.echo()
