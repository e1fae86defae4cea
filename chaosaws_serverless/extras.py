"""Optional features (``lab``, ``load``, ``report``): is the extra installed, and if not, one line.

The distributions of an extra come from the installed package's own metadata
(``Requires-Dist: ...; extra == "lab"``, written from setup.cfg), so this
module keeps no list of its own that could drift from setup.cfg.
"""

import functools
import re
import sys
from collections.abc import Callable
from importlib import metadata
from typing import Any, TypeVar

import click

__all__ = ["DISTRIBUTION", "extra_requirements", "missing_for_extra", "needs_extra"]

DISTRIBUTION = "chaostoolkit-aws-serverless"
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_EXTRA = re.compile(r"""extra\s*==\s*["']([^"']+)["']""")
F = TypeVar("F", bound=Callable[..., Any])


def extra_requirements(extra: str) -> list[str]:
    """Return the distribution names ``extra`` installs on this platform (empty if unknown)."""
    try:
        requirements = metadata.requires(DISTRIBUTION) or []
    except metadata.PackageNotFoundError:  # imported from a checkout that was never installed
        return []
    names = []
    for requirement in requirements:
        spec, _, marker = requirement.partition(";")
        if extra not in _EXTRA.findall(marker):
            continue
        if 'sys_platform != "win32"' in marker and sys.platform == "win32":
            continue
        match = _NAME.match(spec)
        if match:
            names.append(match.group(1))
    return names


def missing_for_extra(extra: str) -> list[str]:
    """Return the distributions of ``extra`` that are not installed."""
    missing = []
    for name in extra_requirements(extra):
        try:
            metadata.distribution(name)
        except metadata.PackageNotFoundError:
            missing.append(name)
    return missing


def needs_extra(extra: str) -> Callable[[F], F]:
    """Decorate a click command: without ``extra``, exit 1 with one line naming it and pip's."""

    def decorate(command: F) -> F:
        @functools.wraps(command)
        def checked(*args: Any, **kwargs: Any) -> Any:
            missing = missing_for_extra(extra)
            if missing:
                raise click.ClickException(
                    f"this command needs the {extra!r} extra ({', '.join(missing)} missing): "
                    f"pip install '{DISTRIBUTION}[{extra}]'"
                )
            return command(*args, **kwargs)

        return checked  # type: ignore[return-value]  # same signature, wraps keeps click's params

    return decorate
