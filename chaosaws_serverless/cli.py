"""The ``chaosaws-serverless`` command: a thin front on the package's features.

Each feature keeps its commands in its own ``cli`` module and imports heavy
dependencies inside the command, so ``chaosaws-serverless --help`` stays fast.
"""

import click

from chaosaws_serverless import __version__, activity_reference, activity_table
from chaosaws_serverless.awslambda.cli import rollback as rollback_command
from chaosaws_serverless.catalog.cli import (
    catalog_command,
    compose_command,
    experiments_command,
    values_template_command,
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
    import logging

    from logzero import logger

    # The activities log for chaos run's log file at DEBUG; a command prints what it found.
    logger.setLevel(logging.INFO)


@main.command("activities")
@click.option(
    "--reference",
    is_flag=True,
    help="Print the full reference (arguments, types, defaults, docs): docs/reference.md.",
)
def list_activities(reference: bool) -> None:
    """Print the Markdown table of every activity, or the full reference (`make docs`)."""
    click.echo(activity_reference() if reference else activity_table(), nl=not reference)


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
main.add_command(values_template_command)

if __name__ == "__main__":  # pragma: no cover
    main()
