"""``chaosaws-serverless timeline JOURNAL.json``: draw a run's timeline from CloudWatch."""

from __future__ import annotations

import json
from pathlib import Path

import click

__all__ = ["timeline_command"]


@click.command("timeline")
@click.argument("journal", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="PNG to write (default: timeline.png next to the journal).",
)
@click.option(
    "--var-file",
    multiple=True,
    type=click.Path(exists=True),
    help="The run's --var-file (only needed when the journal has no recorded values).",
)
@click.option("--var", multiple=True, help="key=value configuration override, as chaos run.")
@click.option("--url", help="Customer URL to draw when the experiment names several or none.")
@click.option(
    "--health-check",
    "health_checks",
    multiple=True,
    metavar="REGION=ID",
    help="Route 53 health checks to draw instead of those the experiment names.",
)
@click.option(
    "--before",
    "lead_seconds",
    type=float,
    help="Seconds drawn before the run (default: the hypothesis' longest window).",
)
@click.option(
    "--after",
    "tail_seconds",
    type=float,
    default=0.0,
    show_default=True,
    help="Seconds drawn after the run.",
)
@click.option(
    "--embed/--no-embed",
    default=False,
    help="Also put the picture into the journal, where `chaos report` shows it.",
)
def timeline_command(
    journal: Path,
    output: Path | None,
    var_file: tuple[str, ...],
    var: tuple[str, ...],
    url: str | None,
    health_checks: tuple[str, ...],
    lead_seconds: float | None,
    tail_seconds: float,
    embed: bool,
) -> None:
    """Draw the timeline of a run from CloudWatch: health, who answered, status codes, events.

    The values (URL, health checks, regions, endpoint) are those the run used,
    read from the journal; credentials come from the experiment's secrets and
    the usual AWS chain (environment, profile).
    """
    from chaoslib.exceptions import ChaosException
    from chaoslib.secret import load_secrets

    from chaosaws_serverless.inputs import InputError, read_journal, read_var_files
    from chaosaws_serverless.timeline.core import timeline_of_journal
    from chaosaws_serverless.timeline.journal import embed_chart, journal_configuration

    try:
        record = read_journal(journal)
        given = read_var_files(var_file, var)
    except InputError as error:
        raise click.ClickException(str(error)) from None
    for note in given.notes:
        click.echo(f"note: {note}", err=True)
    checks: dict[str, str] = {}
    for item in health_checks:
        region, sep, check = item.partition("=")
        if not sep or not region or not check:
            raise click.BadParameter(
                f"expected REGION=ID, got {item!r}", param_hint="--health-check"
            )
        checks[region] = check
    try:
        configuration = journal_configuration(record, given.configuration)
        experiment = record["experiment"]
        # The run's secrets as chaos run loads them; aws.py reads their "aws" scope.
        secrets = load_secrets(experiment.get("secrets") or {}, configuration, given.secrets)
        target = output or journal.with_name("timeline.png")
        data = timeline_of_journal(
            record,
            target,
            configuration,
            secrets,
            url=url,
            health_check_ids=checks or None,
            lead_seconds=lead_seconds,
            tail_seconds=tail_seconds,
        )
    except (ChaosException, ValueError) as error:
        raise click.ClickException(str(error)) from error
    panels = ", ".join(
        [
            *(["health: " + ", ".join(sorted(data.health))] if data.health else []),
            "answered by: " + (", ".join(sorted(data.served)) or "nobody"),
            "customers in: " + ", ".join(sorted(data.statuses)),
        ]
    )
    click.echo(f"timeline written to {target} ({panels}; {len(data.markers)} events marked)")
    if embed:
        if embed_chart(record, target.read_bytes()):
            journal.write_text(json.dumps(record, indent=2, default=str), encoding="utf-8")
            click.echo(
                f"picture embedded into {journal}: `chaos report --export-format html` shows it"
            )
        else:
            click.echo("the journal has no method activity to attach the picture to", err=True)
