"""``chaosaws-serverless iam-policy EXPERIMENT.json``: least-privilege policies for an experiment.

Also home of the experiment loading both compile-style commands share
(``iam-policy`` and ``fis-template``): chaoslib's loader, the configuration
resolved as ``chaos run`` resolves it (``--var-file``, ``--var``).
"""

import json
import sys
from pathlib import Path
from typing import Any, Optional

import click

__all__ = ["iam_policy_command", "load_experiment", "read_values"]

_ROLES = {"experiment": "experiment", "automation": "automation_role", "fis": "fis_role"}


def read_values(var_files: tuple[str, ...] = (), variables: tuple[str, ...] = ()) -> dict[str, Any]:
    """Return the configuration values of ``--var-file`` files and ``--var KEY=VALUE``s."""
    extra: dict[str, Any] = {}
    for var_file in var_files:
        text = Path(var_file).read_text(encoding="utf-8")
        if var_file.endswith((".yaml", ".yml")):
            import yaml

            loaded = yaml.safe_load(text) or {}
        else:
            loaded = json.loads(text)
        extra.update(loaded.get("configuration", loaded) if isinstance(loaded, dict) else {})
    for variable in variables:
        key, _, value = variable.partition("=")
        extra[key.strip()] = value
    return extra


def load_experiment(
    path: str, var_files: tuple[str, ...] = (), variables: tuple[str, ...] = ()
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return the experiment at ``path`` and its configuration with values, as chaos run sees it."""
    from chaoslib.configuration import load_configuration
    from chaoslib.exceptions import ChaosException
    from chaoslib.loader import load_experiment as chaos_load

    extra = read_values(var_files, variables)
    try:
        experiment = chaos_load(path)
        declared = dict(experiment.get("configuration") or {})
        configuration = load_configuration(declared, dict(extra))
        # Values for keys the experiment does not declare (fis_role_arn, ...) are kept too.
        configuration.update({k: v for k, v in extra.items() if k not in declared})
    except (ChaosException, OSError, ValueError) as error:
        raise click.ClickException(f"cannot load {path}: {error}") from error
    return dict(experiment), dict(configuration)


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
    role the chaos-layer SSM document assumes) and, for FIS templates,
    "fis_role", each with its trust policy, and "notes".
    """
    from chaosaws_serverless.iam.policy import PolicyError, experiment_policies

    loaded, configuration = load_experiment(experiment, var_files, variables)
    try:
        policies = experiment_policies(loaded, configuration, account_id)
    except PolicyError as error:
        raise click.ClickException(str(error)) from error
    for note in policies["notes"]:
        click.echo(f"note: {note}", err=True)
    if role:
        key = _ROLES[role]
        if key not in policies:
            raise click.ClickException(f"the experiment needs no {key.replace('_', ' ')}")
        click.echo(json.dumps(policies[key], indent=2))
        return
    json.dump(policies, sys.stdout, indent=2)
    click.echo()
