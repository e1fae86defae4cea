"""``chaosaws-serverless compose`` and ``chaosaws-serverless catalog``."""

import re
from pathlib import Path
from typing import Any, Optional

import click

__all__ = ["catalog_command", "compose_command", "parse_piece_argument"]

# Splits "name:k=v,k2=[1,2]" at the commas that start a new "key=" only, so
# JSON list values keep their commas.
_NEXT_VARIABLE = re.compile(r",(?=[A-Za-z_][A-Za-z0-9_]*=)")


def parse_piece_argument(text: str) -> Any:
    """Return a reference from ``NAME`` or ``NAME:var=value,var=value`` (values parsed as JSON)."""
    from chaosaws_serverless.catalog.compose import CatalogError, parse_value

    name, _, rest = text.partition(":")
    if not rest:
        return name
    given = {}
    for assignment in _NEXT_VARIABLE.split(rest):
        key, sep, value = assignment.partition("=")
        if not sep or not key:
            raise CatalogError(
                f"piece argument {text!r}: write NAME:variable=value[,variable=value...]"
            )
        given[key] = parse_value(value)
    return {"piece": name, "with": given}


def _variables(pairs: tuple[str, ...]) -> dict[str, Any]:
    from chaosaws_serverless.catalog.compose import parse_value

    values = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r}: write --var name=value", param_hint="--var")
        values[key] = parse_value(value)
    return values


@click.command("compose")
@click.argument("pieces", nargs=-1, required=True, metavar="[EXPERIMENT] PIECE...")
@click.option(
    "--var",
    "variables",
    multiple=True,
    metavar="NAME=VALUE",
    help="Piece variable for every piece that declares it (JSON values: numbers, lists).",
)
@click.option("--title", help="Experiment title (else the scenario piece's).")
@click.option("--description", help="Experiment description (else the scenario piece's).")
@click.option(
    "--catalog",
    "catalog_dirs",
    multiple=True,
    type=click.Path(file_okay=False),
    help="Extra catalog folder of *.yaml pieces, searched with the built-in one.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, allow_dash=True),
    default="-",
    show_default=True,
    help="Where to write the experiment JSON.",
)
def compose_command(
    pieces: tuple[str, ...],
    variables: tuple[str, ...],
    title: Optional[str],
    description: Optional[str],
    catalog_dirs: tuple[str, ...],
    output: str,
) -> None:
    """Write a self-contained Chaos Toolkit experiment composed of catalog PIECEs.

    A PIECE is a catalog name (`chaosaws-serverless catalog` lists them),
    optionally with its own variables: NAME:var=value,var=value. An existing
    .json/.yaml file given first is a (short) experiment to expand: its own
    values win over the pieces' defaults.

    \b
    chaosaws-serverless compose scenario/region-failure \\
        steady-state/health-check-healthy:region=eu \\
        method/region-latency-fault -o region-failure.json
    """
    from chaoslib.loader import parse_experiment_from_file

    from chaosaws_serverless.catalog.compose import Catalog, CatalogError, compose, dumps

    try:
        base: dict[str, Any] = {}
        references = []
        for position, argument in enumerate(pieces):
            path = Path(argument)
            if path.suffix in (".json", ".yaml", ".yml") and path.is_file():
                if position != 0:
                    raise CatalogError(
                        f"{argument!r}: an experiment file to expand must come first"
                    )
                base = parse_experiment_from_file(str(path))
                continue
            references.append(parse_piece_argument(argument))
        if title:
            base["title"] = title
        if description:
            base["description"] = description
        experiment = compose(
            references, Catalog.default(catalog_dirs), _variables(variables), base=base
        )
    except CatalogError as error:
        raise click.ClickException(str(error)) from None
    if not experiment.get("title") or not experiment.get("description"):
        raise click.ClickException(
            "the composed experiment has no title or description: add a scenario/* piece "
            "or pass --title and --description"
        )
    with click.open_file(output, "w", encoding="utf-8") as out:
        out.write(dumps(experiment))


@click.command("catalog")
@click.option(
    "--catalog",
    "catalog_dirs",
    multiple=True,
    type=click.Path(file_okay=False),
    help="Extra catalog folder of *.yaml pieces, searched with the built-in one.",
)
def catalog_command(catalog_dirs: tuple[str, ...]) -> None:
    """List the catalog's pieces: name, description and variables (with defaults)."""
    from chaosaws_serverless.catalog.compose import Catalog, CatalogError

    try:
        catalog = Catalog.default(catalog_dirs)
    except CatalogError as error:
        raise click.ClickException(str(error)) from None
    for name in catalog.names():
        piece = catalog.piece(name)
        click.echo(f"{name}\n    {piece.description}")
        for variable, spec in piece.variables.items():
            default = f" (default {spec['default']!r})" if "default" in spec else " (required)"
            click.echo(f"    --var {variable}: {spec['description']}{default}")
