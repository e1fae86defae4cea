"""What a tag-targeted injection would do, found by its own checks and changing nothing.

The doctor's view of ``inject_latency_by_tags`` / ``inject_error_by_tags``: the
rules 1-4 of :mod:`~chaosaws_serverless.awslambda.tag_targets` with the same
code (``fault_target``: validation and layer; ``select_by_tags``: candidates,
ceiling, selection id), then every check of a single injection
(``faults.inject(dry_run=True)``) on every candidate, not only on a random
pick: any candidate may be the one the selection takes on the day.
"""

from collections.abc import Callable
from typing import Any

from chaoslib.exceptions import ActivityFailed

from chaosaws_serverless.awslambda.tag_targets import (
    TagTarget,
    _pool_map,
    fault_kind,
    select_by_tags,
)

__all__ = ["check_by_tags"]


def check_by_tags(
    target: TagTarget, selection: Any, inject: Callable[[str, bool], Any]
) -> dict[str, Any]:
    """Return what the selection would take, and each candidate's refusals (none: it goes).

    ``target`` and ``inject`` come from ``tag_targets.fault_target``. Raises
    ``ActivityFailed`` with the activity's own words where it would refuse before
    choosing (no function carries the tags, over the ceiling, the selection id
    held by another run or holding more than it asks for now).
    """
    found, candidates, count, _ = select_by_tags(target, selection, fault_kind(target))
    results = _pool_map(lambda name: inject(name, True), candidates)
    refused = {name: str(r) for name, r in results if isinstance(r, ActivityFailed)}
    return {
        "where": target.where,
        "matched": len(candidates),
        "selected": count,
        "refused": refused,
        "found_by": found.path,
    }
