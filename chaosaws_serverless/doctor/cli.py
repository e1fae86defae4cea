"""``chaosaws-serverless doctor``: the checks, as a table (or JSON), exit 1 when any fails."""

import sys
from typing import Optional

import click

from chaosaws_serverless.options import check_region

__all__ = ["doctor_command"]


@click.command("doctor")
@click.argument("experiment", required=False, type=click.Path(exists=True, dir_okay=False))
@click.option("--var-file", "var_files", multiple=True, help="Configuration values, as chaos run.")
@click.option("--var", "variables", multiple=True, help="KEY=VALUE configuration value.")
@click.option(
    "--region",
    "regions",
    multiple=True,
    callback=check_region,
    help="Check only these regions (repeatable).",
)
@click.option(
    "--live",
    is_flag=True,
    help="Also prove the faults fire: a throwaway function per region, faulted, invoked, "
    "restored and deleted (creates and invokes Lambda functions).",
)
@click.option(
    "--role-arn",
    help="--live: execution role of the throwaway functions "
    "(default: the role of the experiment's function in that region).",
)
@click.option(
    "--latency-ms",
    type=click.IntRange(1000, 60000),
    default=3000,
    show_default=True,
    help="--live: the latency injected and measured.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (for CI) instead of the table.")
def doctor_command(
    experiment: Optional[str],
    var_files: tuple[str, ...],
    variables: tuple[str, ...],
    regions: tuple[str, ...],
    live: bool,
    role_arn: Optional[str],
    latency_ms: int,
    as_json: bool,
) -> None:
    """Check, before the game day, that an experiment's faults will fire on this account.

    Read-only by default (safe on production): credentials, the chaos layer of
    each region, each target function against every refusal its injection
    would make, the permissions (IAM policy simulator), Route 53 failover
    pre-flight findings, the metrics the probes read. Exit code 1 when any
    check fails.
    """
    import logging

    from logzero import logger

    from chaosaws_serverless.doctor import runner

    logger.setLevel(logging.WARNING)  # the table says what the checks found, line by line
    from chaosaws_serverless.doctor.live import LiveInterrupted
    from chaosaws_serverless.iam.cli import load_experiment, load_var_values

    if experiment:
        loaded, configuration, secrets = load_experiment(experiment, var_files, variables)
    else:
        given = load_var_values(var_files, variables)
        loaded, configuration, secrets = None, given.configuration, given.secrets
    options = {"role_arn": role_arn, "latency_ms": latency_ms} if live else {}
    try:
        checks = runner.run_doctor(
            loaded, configuration, secrets, list(regions) or None, live=live, **options
        )
    except LiveInterrupted as error:
        click.echo(f"doctor: interrupted ({error}); the throwaway functions were deleted", err=True)
        sys.exit(130)
    click.echo(runner.as_json(checks) if as_json else runner.table(checks))
    if any(c.verdict == "fail" for c in checks):
        sys.exit(1)
