"""Run the doctor's checks and render them: one table line per check, or JSON for CI."""

import json
import shutil
import textwrap
from collections.abc import Mapping
from typing import Any, Optional

from chaoslib.types import Configuration, Secrets

from chaosaws_serverless.doctor.checks import read_only_checks
from chaosaws_serverless.doctor.plan import FAIL, Check, failed, plan_experiment, with_declared

__all__ = ["as_json", "run_doctor", "table"]

_MARK = {"pass": "PASS", "warn": "WARN", "skip": "SKIP", "fail": "FAIL"}


def run_doctor(
    experiment: Optional[Mapping[str, Any]],
    configuration: Configuration,
    secrets: Secrets = None,
    regions: Optional[list[str]] = None,
    live: bool = False,
    **live_options: Any,
) -> list[Check]:
    """Return every check's verdict; ``live`` adds the live proof after the read-only checks."""
    checks = read_only_checks(experiment, configuration, secrets, regions)
    if live:
        from chaosaws_serverless.doctor.live import live_checks

        plan = plan_experiment(experiment, with_declared(experiment, configuration), regions)
        checks.extend(live_checks(plan, configuration, secrets, **live_options))
    return checks


def table(checks: list[Check], width: Optional[int] = None) -> str:
    """Return the checks as a text table, one line per check, and a closing verdict line.

    The detail column wraps at ``width`` (default: the terminal's, at most 120
    and at least 80 columns) under itself, so no line runs past it.
    """
    width = width or max(80, min(120, shutil.get_terminal_size((100, 24)).columns))
    rows = [(_MARK[c.verdict], c.check, c.target, c.detail) for c in checks]
    widths = [max(len(r[i]) for r in [("verdict", "check", "target", ""), *rows]) for i in range(3)]
    indent = sum(widths) + 6
    room = max(30, width - indent)
    lines = [
        f"{'verdict':<{widths[0]}}  {'check':<{widths[1]}}  {'target':<{widths[2]}}  detail",
    ]
    for v, c, t, d in rows:
        wrapped = textwrap.wrap(d, room, break_on_hyphens=False, break_long_words=False) or [""]
        lines.append(f"{v:<{widths[0]}}  {c:<{widths[1]}}  {t:<{widths[2]}}  {wrapped[0]}")
        lines += [" " * indent + more for more in wrapped[1:]]
    bad = failed(checks)
    lines.append(
        f"doctor: {len(bad)} of {len(checks)} checks failed"
        if bad
        else f"doctor: all {len(checks)} checks passed (or warned/skipped)"
    )
    return "\n".join(lines)


def as_json(checks: list[Check]) -> str:
    """Return ``{"ok", "failed", "checks"}`` as JSON."""
    return json.dumps(
        {
            "ok": not failed(checks),
            "failed": sum(1 for c in checks if c.verdict == FAIL),
            "checks": [c.to_json() for c in checks],
        },
        indent=2,
        default=str,
    )
