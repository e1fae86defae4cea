"""``chaosaws-serverless iam-policy EXPERIMENT.json``: least-privilege policies for an experiment.

Also home of the experiment loading the commands share (``iam-policy``,
``fis-template``, ``doctor``, ``rollback``): chaoslib's loader, the
configuration and the secrets resolved as ``chaos run`` resolves them
(``--var-file``, ``--var``).
"""

import json
import sys
from pathlib import Path
from typing import Any, Optional

import click

__all__ = ["iam_policy_command", "load_experiment", "load_secret_values", "load_values"]

_ROLES = {"experiment": "experiment", "automation": "automation_role", "fis": "fis_role"}


def load_experiment(
    path: str,
    var_files: tuple[str, ...] = (),
    variables: tuple[str, ...] = (),
    *,
    require_values: bool = True,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Return the experiment at ``path``, its configuration and its secrets, as chaos run sees them.

    The secrets are chaoslib's ``load_secrets`` of the experiment's block with
    the var files' ``secrets``: a scope the experiment declares (``aws``) takes
    the var file's values, as in ``chaos run``. ``require_values``: refuse an
    experiment whose account-specific keys have no value (the emergency stop
    needs none of them).
    """
    from chaoslib.configuration import load_configuration
    from chaoslib.exceptions import ChaosException
    from chaoslib.loader import load_experiment as chaos_load
    from chaoslib.secret import load_secrets

    extra = load_values(var_files, variables)
    try:
        experiment = chaos_load(path)
        declared = dict(experiment.get("configuration") or {})
        configuration = load_configuration(declared, dict(extra))
        # Values for keys the experiment does not declare (fis_role_arn, ...) are kept too.
        configuration.update({k: v for k, v in extra.items() if k not in declared})
        secrets = load_secrets(
            dict(experiment.get("secrets") or {}), configuration, load_secret_values(var_files)
        )
    except (ChaosException, OSError, ValueError) as error:
        raise click.ClickException(f"cannot load {path}: {error}") from error
    from chaosaws_serverless.controls.preflight import missing_keys, required_keys

    missing = missing_keys(required_keys(experiment), configuration) if require_values else []
    if missing:
        raise click.ClickException(
            f"{path} needs values for its account-specific keys (--var-file): " + "; ".join(missing)
        )
    return dict(experiment), dict(configuration), dict(secrets)


def load_values(var_files: tuple[str, ...] = (), variables: tuple[str, ...] = ()) -> dict[str, Any]:
    """Return the configuration values of ``--var-file``/``--var`` as ``chaos run`` reads them.

    chaoslib's own ``merge_vars``: JSON/YAML files give ``configuration`` values,
    a ``.env`` file (the lab's ``lab.env``) goes into the process environment.
    """
    from chaoslib import convert_vars, merge_vars

    values: dict[str, Any] = {}
    try:
        for var_file in var_files:
            if not var_file.endswith((".json", ".yaml", ".yml")):
                merge_vars(None, [var_file])  # a .env file: into the environment, as chaos run
                continue
            text = Path(var_file).read_text(encoding="utf-8")
            if var_file.endswith(".json"):
                loaded = json.loads(text)
            else:
                import yaml

                loaded = yaml.safe_load(text) or {}
            # chaos run reads the "configuration" key; a flat mapping is accepted too.
            if isinstance(loaded, dict):
                values.update(loaded.get("configuration", loaded))
        values.update(convert_vars(list(variables)))
    except (OSError, ValueError) as error:
        raise click.ClickException(f"cannot read the variables: {error}") from error
    return values


def load_secret_values(var_files: tuple[str, ...] = ()) -> dict[str, Any]:
    """Return the ``secrets`` blocks of the var files (chaoslib's ``merge_vars``), by scope."""
    from chaoslib import merge_vars

    files = [f for f in var_files if f.endswith((".json", ".yaml", ".yml"))]
    try:
        return dict(merge_vars(None, files)[1]) if files else {}
    except (OSError, ValueError, AttributeError) as error:
        names = ", ".join(files)
        raise click.ClickException(f"cannot read the secrets of {names}: {error}") from error


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
