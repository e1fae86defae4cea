"""``chaosaws-serverless rollback``: the emergency stop for Lambda faults, from any shell."""

import json
from typing import Any, Optional

import click

__all__ = ["rollback", "rollback_table"]


def _names(values: Any) -> str:
    return ", ".join(values or []) or "-"


def rollback_table(reports: list[dict[str, Any]]) -> str:
    """Return a plain-text table of what ``remove_faults`` restored, one line per function."""
    header = (
        "region",
        "function",
        "fault",
        "target",
        "layers removed",
        "variables restored",
        "kept (changed meanwhile)",
    )
    rows = [
        (
            str(r["region"]),
            str(r["function_name"]),
            str(r.get("fault") or "-"),
            str(r.get("target") or "-")
            + (f" -> v{r['alias_restored_to']}" if r.get("alias_restored_to") else ""),
            str(len(r.get("removed_layers") or [])),
            _names([*(r.get("restored_variables") or []), *(r.get("removed_variables") or [])])
            if r.get("removed")
            else "nothing recorded",
            _names(r.get("kept_variables")),
        )
        for r in reports
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip()
        for row in [header, *rows]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


@click.command("rollback")
@click.option(
    "--region",
    "regions",
    multiple=True,
    metavar="REGION",
    help="Region to clean (repeatable; default: AWS_REGION / AWS_DEFAULT_REGION).",
)
@click.option("--function", "function_name", help="Only this function (name or ARN).")
@click.option("--endpoint-url", help="AWS endpoint (the lab, a moto server).")
@click.option("--profile", help="Named AWS profile.")
@click.option("--json", "as_json", is_flag=True, help="Print the reports as JSON.")
def rollback(
    regions: tuple[str, ...],
    function_name: Optional[str],
    endpoint_url: Optional[str],
    profile: Optional[str],
    as_json: bool,
) -> None:
    """Remove every Lambda fault this package injected and print what was restored.

    Finds the functions carrying a fault record (tags) in each region and
    restores them exactly as remove_faults does; with --function, only that one.
    """
    from chaoslib.exceptions import ActivityFailed

    from chaosaws_serverless.awslambda import _faults

    configuration: dict[str, Any] = {}
    if regions:
        configuration["aws_regions"] = list(regions)
    if endpoint_url:
        configuration["aws_endpoint_url"] = endpoint_url
    if profile:
        configuration["aws_profile_name"] = profile
    try:
        chosen = _faults.configured_regions(configuration)
        if function_name:
            reports = [
                _faults.remove(function_name, region, None, configuration, None)
                for region in chosen
            ]
        else:
            reports = _faults.remove_everywhere(chosen, configuration, None)
    except ActivityFailed as error:
        raise click.ClickException(str(error)) from error
    if as_json:
        click.echo(json.dumps(reports, indent=2, default=str))
        return
    if not reports:
        click.echo(f"no Lambda fault recorded in {', '.join(chosen)}: nothing to restore")
        return
    click.echo(rollback_table(reports))
    restored = sum(1 for r in reports if r.get("removed"))
    click.echo(f"\n{restored} function(s) restored in {', '.join(chosen)}")
