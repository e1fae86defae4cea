"""``chaosaws-serverless compose`` and ``chaosaws-serverless catalog``."""

import re
from pathlib import Path
from typing import Any, Optional

import click

__all__ = [
    "catalog_command",
    "compose_command",
    "experiments_command",
    "parse_piece_argument",
    "read_experiment",
    "values_template_command",
]

# Splits "name:k=v,k2=[1,2]" at the commas that start a new "key=" only, so
# JSON list values keep their commas.
_NEXT_VARIABLE = re.compile(r",(?=[A-Za-z_][A-Za-z0-9_]*=)")


def parse_piece_argument(text: str) -> Any:
    """Return a reference from ``NAME`` or ``NAME:var=value,var=value`` (values parsed as JSON)."""
    from chaosaws_serverless.catalog.pieces import CatalogError, parse_value

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
    from chaosaws_serverless.catalog.pieces import parse_value

    values = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r}: write --var name=value", param_hint="--var")
        values[key] = parse_value(value)
    return values


# Both commands search the same catalog folders.
catalog_option = click.option(
    "--catalog",
    "catalog_dirs",
    multiple=True,
    type=click.Path(file_okay=False),
    help="Extra catalog folder of *.yaml pieces, searched with the built-in one.",
)


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
@catalog_option
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
    chaosaws-serverless compose scenario/error-injection configuration/aws-regions \\
        configuration/reference-stack configuration/fault-parameters \\
        'steady-state/health-checks-healthy:prefixes=["eu"]' \\
        steady-state/customers-error-ratio-within-budget method/error-fault \\
        -o error-injection.json
    """
    from chaosaws_serverless.catalog.compose import compose, dumps
    from chaosaws_serverless.catalog.pieces import Catalog, CatalogError
    from chaosaws_serverless.inputs import InputError
    from chaosaws_serverless.inputs import read_experiment as read_file

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
                base = read_file(path)
                continue
            references.append(parse_piece_argument(argument))
        if title:
            base["title"] = title
        if description:
            base["description"] = description
        experiment = compose(
            references, Catalog.default(catalog_dirs), _variables(variables), base=base
        )
    except (CatalogError, InputError) as error:
        raise click.ClickException(str(error)) from None
    if not experiment.get("title") or not experiment.get("description"):
        raise click.ClickException(
            "the composed experiment has no title or description: add a scenario/* piece "
            "or pass --title and --description"
        )
    with click.open_file(output, "w", encoding="utf-8") as out:
        out.write(dumps(experiment))


@click.command("catalog")
@catalog_option
def catalog_command(catalog_dirs: tuple[str, ...]) -> None:
    """List the catalog's pieces: name, description and variables (with defaults)."""
    from chaosaws_serverless.catalog.pieces import Catalog, CatalogError

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


def _shipped_experiments() -> tuple[Path, list[Path]]:
    """Return the shipped experiments folder and its files to give users (not the catalog)."""
    from chaosaws_serverless.shipped import EXPERIMENTS, shipped_path

    root = shipped_path(EXPERIMENTS)
    files = [
        path
        for path in sorted(root.rglob("*"))
        if path.is_file()
        and path.relative_to(root).parts[0] != "catalog"
        and path.suffix in (".json", ".yaml", ".md")
    ]
    return root, files


@click.group("experiments")
def experiments_command() -> None:
    """The ready experiments this package ships: list them, copy them where you work."""


@experiments_command.command("list")
def experiments_list() -> None:
    """List the ready experiments: file and title.

    \b
    chaosaws-serverless experiments list
    """
    from chaosaws_serverless.inputs import read_mapping

    root, files = _shipped_experiments()
    for path in files:
        if path.suffix == ".md" or path.name.endswith("-control.yaml"):
            continue
        title = read_mapping(path, "shipped experiment").get("title")
        if not title and path.suffix == ".yaml":
            title = "short form of the JSON experiment of the same name (expanded by the control)"
        click.echo(f"{path.relative_to(root).as_posix()}\n    {title}")


@experiments_command.command("copy")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--force", is_flag=True, help="Overwrite files that exist and differ.")
def experiments_copy(directory: str, force: bool) -> None:
    """Copy the ready experiments (and their README) into DIRECTORY.

    \b
    chaosaws-serverless experiments copy experiments
    chaos run experiments/failover-preflight.json --var-file my-values.json
    """
    root, files = _shipped_experiments()
    target = Path(directory)
    clashes = [
        target / path.relative_to(root)
        for path in files
        if (target / path.relative_to(root)).exists()
        and (target / path.relative_to(root)).read_bytes() != path.read_bytes()
    ]
    if clashes and not force:
        raise click.ClickException(
            f"{len(clashes)} file(s) in {target} differ from the shipped ones "
            f"({', '.join(map(str, clashes[:3]))}{', ...' if len(clashes) > 3 else ''}); "
            "pass --force to overwrite them, or copy into another folder"
        )
    for path in files:
        destination = target / path.relative_to(root)
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_bytes(path.read_bytes())
    click.echo(f"{len(files)} files copied into {target} (see {target / 'README.md'})")


def read_experiment(path: str, catalog_dirs: tuple[str, ...] = ()) -> dict[str, Any]:
    """Return the experiment at ``path`` as chaos run loads it, catalog references expanded."""
    from chaoslib.exceptions import ChaosException

    from chaosaws_serverless.catalog.compose import expand, has_references
    from chaosaws_serverless.catalog.pieces import Catalog
    from chaosaws_serverless.inputs import InputError
    from chaosaws_serverless.inputs import read_experiment as read_file

    try:
        experiment = read_file(path)
        if has_references(experiment):
            experiment = expand(experiment, Catalog.default(catalog_dirs))
    except InputError as error:
        raise click.ClickException(str(error)) from None
    except ChaosException as error:
        raise click.ClickException(f"cannot load {path}: {error}") from None
    return experiment


@click.command("values-template")
@click.argument("experiment", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, allow_dash=True),
    default="-",
    show_default=True,
    help="Where to write the var file (YAML, as chaos run --var-file reads it).",
)
@click.option(
    "--catalog",
    "catalog_dirs",
    multiple=True,
    type=click.Path(file_okay=False),
    help="Extra catalog folder whose pieces describe keys, searched with the built-in one.",
)
def values_template_command(experiment: str, output: str, catalog_dirs: tuple[str, ...]) -> None:
    """Write a var file of every value EXPERIMENT needs, each with its description and an example.

    Every configuration key the experiment declares or uses, the required ones
    marked REQUIRED with an example of their kind, the others with the
    experiment's default; the secrets scopes it declares, with
    chaostoolkit-aws's credential keys commented out. Fill it in, then pass it
    to chaos run (and to doctor) with --var-file.

    \b
    chaosaws-serverless values-template experiments/region-failure.json -o my-values.yaml
    """
    from chaosaws_serverless.catalog.pieces import Catalog, CatalogError
    from chaosaws_serverless.catalog.values import values_template

    loaded = read_experiment(experiment, catalog_dirs)
    try:
        text = values_template(loaded, Catalog.default(catalog_dirs), experiment)
    except CatalogError as error:
        raise click.ClickException(str(error)) from None
    with click.open_file(output, "w", encoding="utf-8") as out:
        out.write(text)
