"""The ``chaosaws-serverless`` command: a thin front on the package's features.

Each feature keeps its commands in its own ``cli`` module and imports heavy
dependencies inside the command, so ``chaosaws-serverless --help`` stays fast.
"""

import click

from chaosaws_serverless import __version__, activity_modules


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="chaosaws-serverless")
def main() -> None:
    """Chaos engineering on AWS serverless: Lambda faults, Route 53, CloudWatch, FIS, lab."""


@main.command("activities")
def list_activities() -> None:
    """List every activity module of the package (what `chaos discover` reads)."""
    for name in activity_modules():
        click.echo(name)


if __name__ == "__main__":  # pragma: no cover
    main()
