"""Chaos Toolkit extension for chaos engineering on AWS serverless architectures.

Activities live in ``chaosaws_serverless.<service>.actions`` and
``chaosaws_serverless.<service>.probes``; discovery finds them by walking the
package, so a new module is listed the moment it exists.
"""

import importlib
import inspect
import pkgutil
import types
import typing
from typing import Any, List

from chaoslib.discovery.discover import (
    discover_actions,
    discover_probes,
    initialize_discovery_result,
    portable_type_name,
)
from chaoslib.types import DiscoveredActivities, Discovery
from logzero import logger

__version__ = "0.1.0"
__all__ = [
    "__version__",
    "activity_modules",
    "activity_reference",
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
        found = _ACTIVITY_MODULES[kind](name)
        for activity in found:
            _type_optional_arguments(activity)
        activities.extend(found)
    return activities


def _type_optional_arguments(activity: DiscoveredActivities) -> None:
    """Name the type of ``Optional[X]`` / ``X | None`` arguments, which chaoslib calls "object".

    chaoslib's ``portable_type_name`` knows plain types and ``list``/``dict``
    generics only; an optional argument is the type it holds, its default None.
    """
    module = importlib.import_module(str(activity["mod"]))
    func = getattr(module, str(activity["name"]))
    hints = typing.get_type_hints(func)
    for argument in activity.get("arguments", []):
        if argument.get("type") != "object" or argument["name"] not in hints:
            continue
        hint = hints[argument["name"]]
        if typing.get_origin(hint) in (typing.Union, types.UnionType):
            held = [a for a in typing.get_args(hint) if a is not type(None)]
            names = [portable_type_name(a) for a in held]
            argument["type"] = " or ".join(names) if "object" not in names else "object"


def activity_reference() -> str:
    """Return the Markdown reference of every activity, as discovery (chaos discover) sees it.

    One section per module, one per activity: its type, its arguments (type,
    default) and its docstring. ``docs/reference.md`` is this text.
    """
    lines = [
        "# Reference: every activity",
        "",
        "Generated from discovery (what `chaos discover chaostoolkit-aws-serverless` lists) by",
        "`make docs` (`chaosaws-serverless activities --reference`); a test keeps it in step.",
        "Every activity also takes the `configuration` and `secrets` Chaos Toolkit passes;",
        'name the `aws` secrets scope in its provider (`"secrets": ["aws"]`) for it to receive',
        "your credentials.",
    ]
    module = None
    for activity in load_exported_activities():
        if activity["mod"] != module:
            module = activity["mod"]
            lines += ["", f"## `{module}`"]
        lines += ["", f"### `{activity['name']}`", "", f"*{activity['type']}*"]
        arguments = activity.get("arguments") or []
        if arguments:
            lines += ["", "| argument | type | default |", "|---|---|---|"]
            for argument in arguments:
                default = _default_text(argument.get("default", inspect.Parameter.empty))
                lines.append(f"| `{argument['name']}` | {argument.get('type', '')} | {default} |")
        doc = str(activity.get("doc") or "")
        if doc:
            lines += ["", doc]
    return "\n".join(lines) + "\n"


def _default_text(default: Any) -> str:
    if default is inspect.Parameter.empty:
        return "required"
    return f"`{default!r}`".replace("|", "\\|")


def activity_table() -> str:
    """Return a Markdown table of every activity: name, type, first docstring line."""
    rows = ["| activity | type | what it does |", "|---|---|---|"]
    for activity in load_exported_activities():
        summary = (activity["doc"] or "").splitlines()[0] if activity["doc"] else ""
        rows.append(f"| `{activity['mod']}.{activity['name']}` | {activity['type']} | {summary} |")
    return "\n".join(rows)
