"""The ``chaosaws-serverless`` command: a thin front on the package's features.

Each feature keeps its commands in its own ``cli`` module and imports heavy
dependencies inside the command, so ``chaosaws-serverless --help`` stays fast.
"""

from pathlib import Path

import click

from chaosaws_serverless import __version__, activity_table
from chaosaws_serverless.awslambda.cli import rollback as rollback_command
from chaosaws_serverless.catalog.cli import (
    catalog_command,
    compose_command,
    experiments_command,
)
from chaosaws_serverless.doctor.cli import doctor_command
from chaosaws_serverless.fis.cli import fis_template_command
from chaosaws_serverless.iam.cli import iam_policy_command
from chaosaws_serverless.lab.cli import lab as lab_command
from chaosaws_serverless.loadgen.cli import load as load_command
from chaosaws_serverless.timeline.cli import timeline_command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="chaosaws-serverless")
def main() -> None:
    """Chaos engineering on AWS serverless: Lambda faults, Route 53, CloudWatch, FIS, lab."""


@main.command("activities")
@click.option(
    "--write-readme",
    type=click.Path(exists=True, dir_okay=False),
    help="Replace the table between the README's activities markers instead of printing it.",
)
def list_activities(write_readme: str | None) -> None:
    """Print the Markdown table of every activity (the README's table)."""
    table = activity_table()
    if not write_readme:
        click.echo(table)
        return
    start, end = "<!-- activities:start -->", "<!-- activities:end -->"
    readme = Path(write_readme)
    head, rest = readme.read_text(encoding="utf-8").split(start, 1)
    tail = rest.split(end, 1)[1]
    readme.write_text(f"{head}{start}\n{table}\n{end}{tail}", encoding="utf-8")


main.add_command(compose_command)
main.add_command(catalog_command)
main.add_command(experiments_command)
main.add_command(lab_command)
main.add_command(load_command)
main.add_command(fis_template_command)
main.add_command(iam_policy_command)
main.add_command(rollback_command)
main.add_command(doctor_command)
main.add_command(timeline_command)

if __name__ == "__main__":  # pragma: no cover
    main()
