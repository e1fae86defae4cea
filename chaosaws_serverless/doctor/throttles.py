"""The doctor's check of a throttle action: every function it names or selects can take it now.

The throttle's own checks (``awslambda.throttle.preview``: reads only) on each
function, and for a tag target the candidates and the ceiling as
``tag_targets`` counts them; nothing is changed.
"""

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets

from chaosaws_serverless.awslambda import tag_selection, tag_targets, throttle
from chaosaws_serverless.doctor.plan import FAIL, PASS, Check, Target

__all__ = ["throttle_target"]


def throttle_target(target: Target, configuration: Configuration, secrets: Secrets) -> Check:
    """Check that every function a throttle action names or selects can be throttled now."""
    arguments = target.arguments
    by_tags = target.kind.endswith("_by_tags")
    label = f"{target.function_name} ({target.region})"
    selection = None
    try:
        if by_tags:
            tags = tag_targets.tag_target(
                arguments.get("tags"),
                target.region,
                arguments.get("selection_id"),
                configuration,
                secrets,
            )
            label = tags.where
            selection = tags.selection_id
            names = sorted(f.name for f in tags.find().functions)
            if not names:
                return Check("throttle target", label, FAIL, "no function carries these tags")
            count = tag_selection.selection_count(arguments.get("selection", "ALL"), len(names))
            limit = tag_selection.ceiling(configuration)
            if count > limit:
                return Check(
                    "throttle target",
                    label,
                    FAIL,
                    f"the selection is {count} functions, more than the ceiling of {limit} "
                    f"(configuration {tag_selection.CEILING_KEY!r})",
                )
        else:
            names = [target.function_name]
        before = [
            throttle.preview(name, target.region, configuration, secrets, selection=selection)[
                "reserved_concurrency_before"
            ]
            for name in names
        ]
    except ActivityFailed as error:
        return Check("throttle target", label, FAIL, f"the throttle would refuse: {error}")
    shown = ", ".join(
        f"{n} {'unreserved' if b is None else b}" for n, b in zip(names, before, strict=True)
    )
    return Check(
        "throttle target", label, PASS, f"{len(names)} function(s) can be throttled: {shown}"
    )
