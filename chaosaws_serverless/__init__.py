"""Chaos Toolkit extension for chaos engineering on AWS serverless architectures.

Activities live in ``chaosaws_serverless.<service>.actions`` and
``chaosaws_serverless.<service>.probes``; discovery finds them by walking the
package, so a new module is listed the moment it exists.
"""

import importlib
import pkgutil
from typing import List

from chaoslib.discovery.discover import (
    discover_actions,
    discover_probes,
    initialize_discovery_result,
)
from chaoslib.types import DiscoveredActivities, Discovery
from logzero import logger

__version__ = "0.1.0"
__all__ = [
    "__version__",
    "activity_modules",
    "activity_table",
    "discover",
    "load_exported_activities",
]

_ACTIVITY_MODULES = {"actions": discover_actions, "probes": discover_probes}


def activity_modules() -> List[str]:
    """Return the dotted names of every ``actions``/``probes`` module in the package."""
    names = []
    for info in pkgutil.walk_packages(__path__, prefix=f"{__name__}."):
        if info.name.rsplit(".", 1)[-1] in _ACTIVITY_MODULES and not info.ispkg:
            names.append(info.name)
    return sorted(names)


def discover(discover_system: bool = True) -> Discovery:
    """Discover this extension's activities (``chaos discover`` calls this)."""
    logger.info("Discovering capabilities from chaostoolkit-aws-serverless")
    discovery = initialize_discovery_result("chaostoolkit-aws-serverless", __version__, "aws")
    discovery["activities"].extend(load_exported_activities())
    return discovery


def load_exported_activities() -> List[DiscoveredActivities]:
    """Return every exported activity of the package, typed action or probe by module."""
    activities: List[DiscoveredActivities] = []
    for name in activity_modules():
        importlib.import_module(name)
        kind = name.rsplit(".", 1)[-1]
        activities.extend(_ACTIVITY_MODULES[kind](name))
    return activities


def activity_table() -> str:
    """Return a Markdown table of every activity: name, type, first docstring line."""
    rows = ["| activity | type | what it does |", "|---|---|---|"]
    for activity in load_exported_activities():
        summary = (activity["doc"] or "").splitlines()[0] if activity["doc"] else ""
        rows.append(f"| `{activity['mod']}.{activity['name']}` | {activity['type']} | {summary} |")
    return "\n".join(rows)
