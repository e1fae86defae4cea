"""Tolerance functions, so steady-state hypotheses read naturally.

Chaos Toolkit calls a ``"type": "probe"`` tolerance with the probe's result
as the argument ``value`` (``chaoslib.hypothesis.within_tolerance`` sets
``arguments["value"]``), next to the arguments written in the experiment::

    "tolerance": {"type": "probe", "name": "error-ratio-at-most-5-percent",
                  "provider": {"type": "python",
                               "module": "chaosaws_serverless.cloudwatch.tolerances",
                               "func": "ratio_at_most", "arguments": {"max_ratio": 0.05}}}

Give the tolerance an ``arguments`` block even when it needs no argument
(``"arguments": {}`` for ``is_empty``): chaoslib adds ``value`` to it.
Each returns a bool and logs the comparison, so a failed hypothesis says why.
A value of the wrong type (say a probe error text) is ``False``, never a pass.
These are tolerances, not activities: this module has no ``__all__`` entry in
discovery (only ``actions``/``probes`` modules are discovered).
"""

import contextlib
import math
from collections.abc import Sized
from typing import Any

from chaoslib.exceptions import ActivityFailed
from logzero import logger

__all__ = [
    "at_least",
    "at_most",
    "is_empty",
    "latency_at_most",
    "ratio_at_least",
    "ratio_at_most",
]


def _number(value: Any, label: str) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        logger.warning(f"tolerance: the probe returned {value!r}, not a number")
        return None
    return float(value)


def _limit(limit: Any, label: str, ratio: bool) -> float:
    if isinstance(limit, str):
        # configuration substitution may deliver "0.05"
        with contextlib.suppress(ValueError):
            limit = float(limit)
    if isinstance(limit, bool) or not isinstance(limit, int | float) or math.isnan(limit):
        raise ActivityFailed(f"{label} must be a number, got {limit!r}")
    if ratio and not 0 <= limit <= 1:
        raise ActivityFailed(f"{label} is a ratio: it must be within 0..1, got {limit!r}")
    return float(limit)


def ratio_at_most(value: Any = None, max_ratio: Any = None) -> bool:
    """Return True when the ratio ``value`` is at most ``max_ratio`` (0..1)."""
    return _compare(value, "<=", max_ratio, "max_ratio", ratio=True)


def ratio_at_least(value: Any = None, min_ratio: Any = None) -> bool:
    """Return True when the ratio ``value`` is at least ``min_ratio`` (0..1)."""
    return _compare(value, ">=", min_ratio, "min_ratio", ratio=True)


def at_most(value: Any = None, maximum: Any = None) -> bool:
    """Return True when the number ``value`` is at most ``maximum`` (seconds, counts...)."""
    return _compare(value, "<=", maximum, "maximum", ratio=False)


def at_least(value: Any = None, minimum: Any = None) -> bool:
    """Return True when the number ``value`` is at least ``minimum``."""
    return _compare(value, ">=", minimum, "minimum", ratio=False)


def latency_at_most(value: Any = None, max_ms: Any = None) -> bool:
    """Return True when the latency ``value`` (ms, e.g. a p99) is at most ``max_ms`` (> 0)."""
    if _limit(max_ms, "max_ms", ratio=False) <= 0:
        raise ActivityFailed(f"max_ms must be a latency in milliseconds > 0, got {max_ms!r}")
    return _compare(value, "<=", max_ms, "max_ms", ratio=False)


def _compare(value: Any, operator: str, limit: Any, label: str, ratio: bool) -> bool:
    """Compare a probe's ``value`` with a validated limit and log the comparison."""
    bound = _limit(limit, label, ratio=ratio)
    number = _number(value, "value")
    ok = number is not None and (number <= bound if operator == "<=" else number >= bound)
    logger.info(f"tolerance: {'ratio ' if ratio else ''}{value!r} {operator} {bound:g}? {ok}")
    return ok


def is_empty(value: Any = None) -> bool:
    """Return True when ``value`` is an empty list (e.g. no failover misconfigurations)."""
    if isinstance(value, str) or not isinstance(value, Sized):
        logger.warning(f"tolerance: expected a list, the probe returned {value!r}")
        return False
    if len(value):
        # The probe logged each one already: the count only, so no finding is read twice.
        logger.warning(f"tolerance: {len(value)} finding(s), expected none")
    return len(value) == 0
