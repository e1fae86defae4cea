"""Throttles on the Lambda functions chosen by their tags: tag_targets' rules, throttle's record.

The selection, the ceiling, the claim of the selection id, the all-or-nothing
application and the exact rollback are ``awslambda.tag_targets``'; each
function gets what ``awslambda.throttle`` does to one, its record carrying the
selection id.
"""

from typing import Any, Optional

from chaoslib.types import Configuration, Secrets
from logzero import logger

from chaosaws_serverless.aws import client
from chaosaws_serverless.awslambda import engine, faults, tag_search, tag_targets
from chaosaws_serverless.awslambda.throttle import (
    FIRST_THROTTLE_KEY,
    inject,
    preview,
    read_record,
    remove,
)

__all__ = ["inject_by_tags", "remove_by_tags"]


def _kind(target: tag_targets.TagTarget) -> tag_targets.Kind:
    def claim(function: tag_search.TaggedFunction) -> Optional[tag_targets.Claim]:
        try:
            record = read_record(function.tags, f"function {function.name!r}")
        except engine.FaultError as error:
            logger.warning(str(error))
            return None
        return tag_targets.Claim(record.selection, record.by, record.at) if record else None

    def remove_one(name: str) -> Any:
        return remove(name, target.region, target.configuration, target.secrets)

    def fresh_selection(name: str) -> Optional[str]:
        ref = faults.function_ref(name, target.region, None, target.configuration)
        lam = client("lambda", ref.region, target.configuration, target.secrets)
        with faults.engine_errors():
            config = engine.get_function(lam, ref)["Configuration"]
            record = read_record(engine.read_tags(lam, config, ref.resource), ref.resource)
        return record.selection if record else None

    return tag_targets.Kind(FIRST_THROTTLE_KEY, claim, remove_one, fresh_selection)


def inject_by_tags(
    tags: Any,
    selection: Any,
    region: Optional[str],
    given_selection_id: Any,
    configuration: Optional[Configuration],
    secrets: Optional[Secrets],
) -> dict[str, Any]:
    """Throttle the functions ``tags`` + ``selection`` choose, all or none."""
    target = tag_targets.tag_target(tags, region, given_selection_id, configuration, secrets)

    def inject_one(name: str, dry_run: bool) -> Any:
        act = preview if dry_run else inject
        return act(name, target.region, configuration, secrets, selection=target.selection_id)

    applied = tag_targets.apply_by_tags(target, selection, _kind(target), inject_one)
    logger.info(
        f"{target.where}: throttled {len(applied['functions'])} of {applied['matched']} "
        f"({selection})"
    )
    return {**applied, "fault": "throttle"}


def remove_by_tags(
    tags: Any,
    region: Optional[str],
    given_selection_id: Any,
    configuration: Optional[Configuration],
    secrets: Optional[Secrets],
) -> dict[str, Any]:
    """Restore exactly the functions whose throttle record carries the selection's id."""
    target = tag_targets.tag_target(tags, region, given_selection_id, configuration, secrets)
    return tag_targets.restore_by_tags(target, _kind(target))
