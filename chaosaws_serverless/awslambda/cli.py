"""``chaosaws-serverless rollback``: the emergency stop for Lambda faults, from any shell."""

import json
import os
from collections.abc import Sequence
from typing import Any, Optional

import click

from chaosaws_serverless.options import check_profile, check_region

__all__ = ["region_table", "rollback", "rollback_table"]


def _names(values: Any) -> str:
    return ", ".join(values or []) or "-"


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip()
        for row in [header, *rows]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def region_table(summaries: list[dict[str, Any]]) -> str:
    """Return a plain-text table of the emergency stop's figures, one line per region."""
    header = ("region", "found by", "examined", "with a fault", "restored", "failed")
    rows = [
        (
            str(s["region"]),
            str(s["path"]),
            str(s["examined"]),
            str(s["found"]),
            str(s["restored"]),
            str(s["failed"]),
        )
        for s in summaries
    ]
    return _table(header, rows)


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
    return _table(header, rows)


@click.command("rollback")
@click.option(
    "--region",
    "regions",
    multiple=True,
    metavar="REGION",
    callback=check_region,
    help="Region to clean (repeatable; default: the --var-file's aws_regions, else "
    "AWS_REGION / AWS_DEFAULT_REGION).",
)
@click.option("--function", "function_name", help="Only this function (name or ARN).")
@click.option("--endpoint-url", help="AWS endpoint (the lab, a moto server).")
@click.option("--profile", callback=check_profile, help="Named AWS profile.")
@click.option(
    "--var-file",
    "var_files",
    multiple=True,
    help="The experiment's values file, as chaos run: its configuration (aws_regions, "
    "aws_profile_name, aws_endpoint_url...) and its secrets (the aws scope). Options win.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the reports as JSON.")
def rollback(
    regions: tuple[str, ...],
    function_name: Optional[str],
    endpoint_url: Optional[str],
    profile: Optional[str],
    var_files: tuple[str, ...],
    as_json: bool,
) -> None:
    """Remove every Lambda fault this package injected and print what was restored.

    Finds the functions carrying a fault record (tags) in every region at once
    (tagging API, else ListFunctions + ListTags) and restores them exactly as
    remove_faults does, a few at a time; prints per region which path ran and
    how many functions were examined, found and restored. With --function,
    only that one.
    """
    from chaoslib.exceptions import ActivityFailed

    from chaosaws_serverless.aws import configured_regions
    from chaosaws_serverless.awslambda import emergency_stop, faults
    from chaosaws_serverless.iam.cli import load_secret_values, load_values

    configuration: dict[str, Any] = load_values(var_files)
    secrets = load_secret_values(var_files)
    if regions:
        configuration["aws_regions"] = list(regions)
    if endpoint_url:
        configuration["aws_endpoint_url"] = endpoint_url
    if profile:
        configuration["aws_profile_name"] = profile
    summaries: list[dict[str, Any]] = []
    if not (configuration.get("aws_regions") or configuration.get("aws_region")) and not (
        os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    ):
        raise click.UsageError(
            "no region to clean: pass --region (repeatable), a --var-file with aws_regions, "
            "or set AWS_REGION"
        )
    try:
        chosen = configured_regions(configuration)
        if function_name:
            reports = [
                faults.remove(function_name, region, None, configuration, secrets)
                for region in chosen
            ]
        else:
            stops = emergency_stop.stop(chosen, configuration, secrets)
            summaries = [s.summary() for s in stops]
            reports = [report for s in stops for report in s.reports]
    except ActivityFailed as error:
        raise click.ClickException(str(error)) from error
    if as_json:
        click.echo(json.dumps({"regions": summaries, "functions": reports}, indent=2, default=str))
        return
    if summaries:
        click.echo(region_table(summaries) + "\n")
    if not reports:
        click.echo(f"no Lambda fault recorded in {', '.join(chosen)}: nothing to restore")
        return
    click.echo(rollback_table(reports))
    restored = sum(1 for r in reports if r.get("removed"))
    click.echo(f"\n{restored} function(s) restored in {', '.join(chosen)}")
