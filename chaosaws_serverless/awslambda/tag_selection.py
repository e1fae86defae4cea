"""What a tag target selects, as pure rules: tags, ALL | COUNT(n) | PERCENT(p), id, ceiling.

``awslambda.tag_targets`` runs them before any AWS call; the arithmetic is
checked on its own in ``tests/unit/test_lambda_tag_targets.py``.
"""

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any, Optional

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration

__all__ = [
    "CEILING_KEY",
    "DEFAULT_CEILING",
    "ceiling",
    "selection_count",
    "selection_id",
    "validate_tags",
]

DEFAULT_CEILING = 20
CEILING_KEY = "lambda_max_functions_per_action"
_SELECTION = re.compile(r"^\s*(ALL|COUNT\((\d+)\)|PERCENT\((\d+)\))\s*$", re.IGNORECASE)
_SELECTION_ID = re.compile(r"^[A-Za-z0-9_.:=@+-]{1,64}$")
# TagFilters limits (botocore model: 50 filters); tag key/value lengths as AWS tags.
_MAX_TAG_FILTERS = 50


def validate_tags(tags: Any) -> dict[str, str]:
    """Return ``tags`` as a non-empty ``{key: value}`` map of strings."""
    if not isinstance(tags, Mapping) or not tags:
        raise ActivityFailed(
            f'tags must be a non-empty object of tag key -> value (e.g. {{"service": '
            f'"checkout"}}), got {tags!r}'
        )
    if len(tags) > _MAX_TAG_FILTERS:
        raise ActivityFailed(f"tags may hold at most {_MAX_TAG_FILTERS} keys, got {len(tags)}")
    checked: dict[str, str] = {}
    for key, value in tags.items():
        if not isinstance(key, str) or not 1 <= len(key) <= 128:
            raise ActivityFailed(f"tag key must be a string of 1..128 characters, got {key!r}")
        if key.startswith("chaosaws-serverless:"):
            raise ActivityFailed(
                f"tag key {key!r} is this package's own record tag: target your functions' tags"
            )
        if not isinstance(value, str) or len(value) > 256:
            raise ActivityFailed(
                f"tag {key!r} must have a string value of at most 256 characters (the exact "
                f"value to match), got {value!r}"
            )
        checked[key] = value
    return checked


def selection_count(selection: Any, candidates: int) -> int:
    """Return how many of ``candidates`` functions a selection (ALL, COUNT, PERCENT) takes."""
    match = _SELECTION.match(str(selection)) if isinstance(selection, str) else None
    if not match:
        raise ActivityFailed(
            f"selection must be ALL, COUNT(n) or PERCENT(p) (as AWS FIS's selectionMode), got "
            f"{selection!r}"
        )
    if match.group(1).upper() == "ALL":
        return candidates
    if match.group(2) is not None:
        count = int(match.group(2))
        if count < 1:
            raise ActivityFailed(f"selection COUNT(n) needs n >= 1, got {selection!r}")
        return min(count, candidates)
    percent = int(match.group(3))
    if not 1 <= percent <= 100:
        raise ActivityFailed(f"selection PERCENT(p) needs p in 1..100, got {selection!r}")
    return min(candidates, max(1, candidates * percent // 100)) if candidates else 0


def selection_id(given: Any, region: str, tags: Mapping[str, str]) -> str:
    """Return the id that marks the selection's records: ``given``, else one derived from tags."""
    if given:
        if not isinstance(given, str) or not _SELECTION_ID.match(given):
            raise ActivityFailed(
                f"selection_id must be 1..64 letters, digits or _.:=@+- (e.g. the experiment's "
                f"name), got {given!r}"
            )
        return given
    canonical = json.dumps([region, sorted(tags.items())], separators=(",", ":"))
    return "tags-" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:12]


def ceiling(configuration: Optional[Configuration]) -> int:
    """Return the most functions one tag-targeted action may change (configuration)."""
    value = (configuration or {}).get(CEILING_KEY, DEFAULT_CEILING)
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if isinstance(value, bool) or number < 1:
        raise ActivityFailed(
            f"configuration {CEILING_KEY!r} must be a positive integer (most functions one "
            f"action may change), got {value!r}"
        )
    return number
