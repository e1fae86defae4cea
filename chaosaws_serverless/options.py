"""What the commands share about their options: checks that name the option, and option names.

A command's error names what the user typed (``--rate``, ``--region``,
``--profile``), never the Python argument or the configuration key behind it:

- ``check_region`` / ``check_profile`` are click callbacks: a wrong value is
  click's one line, ``Invalid value for '--region': ...``;
- ``name_options`` rewrites a message of the activities' shared checks
  (``rate_per_second must be ...``) with the command's option names.
"""

import re
from typing import Any, Optional

import click

from chaosaws_serverless.regions import region_problem

__all__ = ["check_profile", "check_region", "name_options"]


def check_region(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """Refuse a value (or any of a repeatable option's values) that is not an AWS region name."""
    for region in value if isinstance(value, tuple | list) else [value]:
        problem = region_problem(region) if region is not None else None
        if problem:
            raise click.BadParameter(problem, ctx, param)
    return value


def check_profile(ctx: click.Context, param: click.Parameter, value: Optional[str]) -> Any:
    """Refuse a profile that is in neither ~/.aws/config nor ~/.aws/credentials."""
    if value:
        import boto3

        known = boto3.session.Session().available_profiles
        if value not in known:
            listed = ", ".join(sorted(known)) or "none"
            raise click.BadParameter(
                f"no profile {value!r} in ~/.aws/config or ~/.aws/credentials (profiles: "
                f"{listed}); fix the name or create it (aws configure --profile {value})",
                ctx,
                param,
            )
    return value


def name_options(message: str, command: click.Command) -> str:
    """Return ``message`` with each of ``command``'s Python argument names as its option.

    Only names with an underscore (``rate_per_second``) are rewritten: they are
    never English words of the sentence.
    """
    for param in command.params:
        name = param.name or ""
        options = [o for o in param.opts if o.startswith("--")]
        if "_" in name and options:
            message = re.sub(rf"(?<![\w-]){re.escape(name)}(?![\w-])", options[0], message)
    return message
