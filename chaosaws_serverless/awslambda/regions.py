"""Which regions the emergency stop visits, and why: the ones named, else every enabled one.

A fault may sit in any region an experiment touched, so a stop without
``--region`` must not stop at the shell's default region. The regions named
are the union of what the run's configuration names (``aws_regions``,
``aws_region``, the keys of ``chaos_layer_arns``) and the ``region`` arguments
of the experiment's activities, when the experiment is given. With none named,
every region enabled for the account: EC2 ``DescribeRegions`` (botocore's
model: without ``AllRegions`` it "describes the Regions that are enabled for
your account"; the ``opt-in-status`` filter keeps ``opt-in-not-required`` and
``opted-in``), asked in the region of the environment (``AWS_REGION`` /
``AWS_DEFAULT_REGION``). Account ``ListRegions`` answers the same question but
needs ``account:ListRegions`` and has no emulator; ``DescribeRegions`` is
allowed to most principals that can read anything. The answer is filtered
again on our side (opt-in status, the asking region's partition), so a lenient
endpoint cannot send the stop into a region the account cannot use. When it is
denied or unreachable, the stop visits the environment's region and says so.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Optional

import boto3
from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets

from chaosaws_serverless.aws import client, resolve_region
from chaosaws_serverless.errors import aws_errors
from chaosaws_serverless.experiment import activities
from chaosaws_serverless.patterns import REGION

__all__ = ["ENABLED_STATUSES", "Visit", "named_regions", "regions_to_visit"]

# DescribeRegions' OptInStatus of a region the account can use (EC2 API reference).
ENABLED_STATUSES = ("opt-in-not-required", "opted-in")


@dataclass(frozen=True)
class Visit:
    """The regions to visit, where they came from, and a warning when the answer is partial."""

    regions: list[str]
    source: str
    warning: Optional[str] = None


def named_regions(
    configuration: Optional[Configuration], experiment: Optional[Mapping[str, Any]] = None
) -> list[str]:
    """Return every region the configuration and the experiment's activities name, sorted."""
    configuration = configuration or {}
    named: set[str] = set()
    regions = configuration.get("aws_regions")
    if isinstance(regions, str):
        regions = [r.strip() for r in regions.split(",")]
    if isinstance(regions, list | tuple):
        named.update(str(r) for r in regions if r)
    if configuration.get("aws_region"):
        named.add(str(configuration["aws_region"]))
    layers = configuration.get("chaos_layer_arns")
    if isinstance(layers, Mapping):
        named.update(str(r) for r in layers)
    for activity in activities(experiment) if experiment else []:
        arguments = (activity.get("provider") or {}).get("arguments")
        if isinstance(arguments, Mapping) and isinstance(arguments.get("region"), str):
            named.add(arguments["region"])
    return sorted(resolve_region(r, None) for r in named)


def _enabled(asking: str, configuration: Configuration, secrets: Optional[Secrets]) -> list[str]:
    ec2 = client("ec2", asking, configuration, secrets)
    with aws_errors("ec2:DescribeRegions", f"the regions enabled for the account (from {asking})"):
        answer = ec2.describe_regions(
            Filters=[{"Name": "opt-in-status", "Values": list(ENABLED_STATUSES)}]
        )
    partition = boto3.session.Session().get_partition_for_region(asking)
    same = set(boto3.session.Session().get_available_regions("ec2", partition_name=partition))
    return sorted(
        str(r["RegionName"])
        for r in answer.get("Regions", [])
        if r.get("OptInStatus", "opt-in-not-required") in ENABLED_STATUSES
        and REGION.match(str(r.get("RegionName", "")))
        and (r["RegionName"] in same or r["RegionName"] == asking)
    )


def regions_to_visit(
    explicit: Optional[list[str]],
    configuration: Optional[Configuration],
    secrets: Optional[Secrets],
    experiment: Optional[Mapping[str, Any]] = None,
) -> Visit:
    """Return the regions to visit: ``explicit``, else the named ones, else every enabled one."""
    configuration = configuration or {}
    if explicit:
        return Visit(sorted({resolve_region(r, None) for r in explicit}), "given")
    named = named_regions(configuration, experiment)
    if named:
        return Visit(named, "named by the configuration")
    try:
        asking = resolve_region(None, configuration)
    except ActivityFailed as error:
        raise ActivityFailed(
            "no region to visit: none is named (--region, aws_regions / aws_region in the "
            "--var-file or experiment) and none is set to ask for the account's enabled regions "
            "from; pass --region (repeatable) or set AWS_REGION"
        ) from error
    try:
        enabled = _enabled(asking, configuration, secrets)
    except ActivityFailed as error:
        return Visit(
            [asking],
            "the environment's region",
            f"could not list the account's enabled regions ({error}); visited only {asking}: "
            "pass --region for every region the experiments used, or grant ec2:DescribeRegions",
        )
    return Visit(enabled or [asking], "every region enabled for the account (ec2:DescribeRegions)")
