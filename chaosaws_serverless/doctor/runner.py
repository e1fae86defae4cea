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
    """Return the checks as a text table, one row per check, and a closing verdict line.

    Rows fit ``width`` (default: the terminal's, at least 80 and at most 120
    columns): the target column is at most a third of it and the details wrap
    under themselves, so a long target (a probe and its arguments) or finding
    takes more lines, never a longer one.
    """
    width = width or max(80, min(120, shutil.get_terminal_size((100, 24)).columns))
    rows = [(_MARK[c.verdict], c.check, c.target, c.detail) for c in checks]
    header = ("verdict", "check", "target", "detail")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(2)]
    widths.append(min(width // 3, max(len(r[2]) for r in [header, *rows])))
    room = max(20, width - sum(widths) - 6)
    lines = []
    for v, c, t, d in [header, *rows]:
        targets = _wrap(t, widths[2])
        details = _wrap(d, room)
        for i in range(max(len(targets), len(details))):
            first = (v, c) if i == 0 else ("", "")
            target = targets[i] if i < len(targets) else ""
            detail = details[i] if i < len(details) else ""
            cells = f"{first[0]:<{widths[0]}}  {first[1]:<{widths[1]}}  {target:<{widths[2]}}"
            lines.append(f"{cells}  {detail}".rstrip())
    bad = failed(checks)
    lines.append(
        f"doctor: {len(bad)} of {len(checks)} checks failed"
        if bad
        else f"doctor: all {len(checks)} checks passed (or warned/skipped)"
    )
    return "\n".join(lines)


def _wrap(text: str, width: int) -> list[str]:
    return textwrap.wrap(text, width, break_on_hyphens=False) or [""]


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
