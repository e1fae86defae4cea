"""``chaosaws-serverless rollback``: the emergency stop for Lambda faults, from any shell."""

import json
from collections.abc import Sequence
from typing import Any, Optional

import click

from chaosaws_serverless.options import check_profile, check_region

__all__ = ["problem_table", "region_table", "rollback", "rollback_table"]


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


def problem_table(problems: list[dict[str, Any]]) -> str:
    """Return a plain-text table of the functions the stop did not restore, one line each."""
    header = ("region", "function", "what happened", "detail")
    rows = [
        (str(p["region"]), str(p["function_name"]), str(p["outcome"]), str(p["detail"]))
        for p in problems
    ]
    return _table(header, rows)


@click.command("rollback")
@click.argument("experiment", required=False, type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--region",
    "regions",
    multiple=True,
    metavar="REGION",
    callback=check_region,
    help="Region to clean (repeatable; default: every region the configuration or the "
    "experiment names, else every region enabled for the account).",
)
@click.option("--function", "function_name", help="Only this function (name, or ARN: its region).")
@click.option("--endpoint-url", help="AWS endpoint (the lab, a moto server).")
@click.option("--profile", callback=check_profile, help="Named AWS profile.")
@click.option("--assume-role-arn", help="Role to assume for every call (aws_assume_role_arn).")
@click.option(
    "--var-file",
    "var_files",
    multiple=True,
    help="The experiment's values file, as chaos run: its configuration (aws_regions, "
    "aws_profile_name, aws_assume_role_arn, aws_endpoint_url...) and its secrets (the aws "
    "scope). Options win.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the reports as JSON.")
def rollback(
    experiment: Optional[str],
    regions: tuple[str, ...],
    function_name: Optional[str],
    endpoint_url: Optional[str],
    profile: Optional[str],
    assume_role_arn: Optional[str],
    var_files: tuple[str, ...],
    as_json: bool,
) -> None:
    """Remove every Lambda fault (and Route 53 drill) this package made and print what was restored.

    Takes the run's configuration (the EXPERIMENT file and its --var-file, as
    chaos run). Visits the --region values, else every region that
    configuration names, else every region enabled for the account; finds the
    functions carrying a fault record (tags) in all of them at once (tagging
    API, else ListFunctions + ListTags) and restores them exactly as
    remove_faults does, a few at a time. Prints the regions visited, per region
    which path ran and how many functions were examined, found and restored,
    and one line per function it could not restore (vanished, denied,
    throttled); exits 1 when any may still carry a fault. With --function,
    only that one, in every region visited.
    """
    from chaoslib.exceptions import ActivityFailed

    from chaosaws_serverless.awslambda import emergency_stop
    from chaosaws_serverless.iam.cli import load_experiment, load_var_values

    loaded: Optional[dict[str, Any]] = None
    if experiment:
        loaded, configuration, secrets = load_experiment(
            experiment, var_files, require_values=False
        )
    else:
        given = load_var_values(var_files)
        configuration, secrets = given.configuration, given.secrets
    for key, value in (
        ("aws_endpoint_url", endpoint_url),
        ("aws_profile_name", profile),
        ("aws_assume_role_arn", assume_role_arn),
    ):
        if value:
            configuration[key] = value
    try:
        outcome = emergency_stop.run(
            list(regions) or None,
            configuration,
            secrets,
            experiment=loaded,
            function_name=function_name,
        )
    except ActivityFailed as error:
        raise click.ClickException(str(error)) from error
    report = outcome.as_dict()
    failed = outcome.failures()
    if not function_name:
        # Route 53 is global: the region evacuation drills, wherever the functions are.
        from chaosaws_serverless.route53 import evacuation

        report["health_checks"], drill_failures = evacuation.restore_all(configuration, secrets)
        failed += drill_failures
    if as_json:
        click.echo(json.dumps(report, indent=2, default=str))
    else:
        _print(report)
    if failed:
        raise click.ClickException(
            f"{len(failed)} not restored: " + "; ".join(failed) + ". Fix what each line names "
            "and run it again: it is idempotent"
        )


def _print(report: dict[str, Any]) -> None:
    for check in report.get("health_checks") or []:
        click.echo(
            f"health check {check['health_check_id']}: evacuation drill restored "
            f"(Inverted={str(check['inverted']).lower()})"
        )
    visited = ", ".join(report["visited"])
    click.echo(f"visited {visited} ({report['regions_from']})")
    if report.get("warning"):
        click.echo(f"warning: {report['warning']}")
    click.echo(region_table(report["regions"]) + "\n")
    for summary in report["regions"]:
        if summary.get("error"):
            click.echo(f"{summary['region']}: not searched: {summary['error']}")
    if report["problems"]:
        click.echo(problem_table(report["problems"]) + "\n")
    reports = report["functions"]
    if not reports and not report["problems"]:
        click.echo(f"no Lambda fault recorded in {visited}: nothing to restore")
        return
    if reports:
        click.echo(rollback_table(reports))
    restored = sum(1 for r in reports if r.get("removed"))
    click.echo(f"\n{restored} function(s) restored in {visited}")
