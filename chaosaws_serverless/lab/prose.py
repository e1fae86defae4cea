"""The demo's words: a run's outcome and the demo's verdict, explained from the figures."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from chaosaws_serverless.lab.analysis import STOP_CONDITION, VARIANTS, RunResult


def explain(result: RunResult, regions: Sequence[str]) -> str:
    """Explain one run's outcome; ``regions`` are the stack's, the US one first."""
    if result.variant == STOP_CONDITION:
        return _explain_stop_condition(result)
    us = regions[0]
    lines = [""]
    ratio = ratio_text(result.us_failure_ratio_during_fault)
    eu_ratio = ratio_text(result.eu_failure_ratio_during_fault)
    if result.variant == "misconfigured":
        lines.append(
            f"Outcome: the hypothesis {'DEVIATED' if result.deviated else 'did not deviate'} "
            f"(chaos run: {result.status}, {result.run_seconds:.0f} s)."
        )
        lines.append(
            f"- US customers kept failing: {ratio} of their requests got 5xx or no answer "
            f"while the fault was on (EU customers: {eu_ratio})."
        )
        if result.us_unhealthy_after_seconds is None:
            lines.append(
                f"- The US health check never went unhealthy: it watches "
                f"{result.us_health_target}, which is healthy. Route 53 kept sending US "
                "customers to the broken us-east-1."
            )
        else:
            lines.append(
                f"- The US health check went unhealthy after {result.us_unhealthy_after_seconds} s."
            )
        if result.failover_probe_error:
            lines.append(f"- wait_for_failover: {result.failover_probe_error}")
        if result.failed_probes:
            lines.append(f"- Failed after the fault: {'; '.join(result.failed_probes)}")
        lines.append(
            "- The misconfiguration finder (route53.probes.find_failover_misconfigurations):"
        )
        lines.extend(f"    * {finding}" for finding in result.findings or ["(nothing found)"])
    else:
        lines.append(
            f"Outcome: the hypothesis {'HELD' if not result.deviated else 'DEVIATED'} "
            f"(chaos run: {result.status}, {result.run_seconds:.0f} s)."
        )
        if result.us_unhealthy_after_seconds is not None:
            lines.append(
                f"- The US health check went unhealthy {result.us_unhealthy_after_seconds:.1f} s "
                "after the fault was injected."
            )
        if result.failover_measured_seconds is not None:
            lines.append(
                f"- US customers were routed to "
                f"{_other(regions, us)} {result.failover_measured_seconds:.1f} s after the fault "
                "(measured by the lab's resolver)."
            )
        if result.failover_probe_seconds is not None:
            lines.append(
                f"- wait_for_failover (the experiment's probe, through CloudWatch) saw the "
                f"failover after {result.failover_probe_seconds:.1f} s of polling."
            )
        elif result.failover_probe_error:
            lines.append(f"- wait_for_failover: {result.failover_probe_error}")
        lines.append(
            f"- While the fault was on, {ratio} of US customers' requests failed (the ones "
            f"sent before the failover); EU customers: {eu_ratio}."
        )
        lines.append(
            "- The misconfiguration finder: "
            + ("nothing to report." if not result.findings else "; ".join(result.findings))
        )
    if result.fis_mode:
        lines.append(_engines_line(result))
    lines.append("Outputs: " + ", ".join(f"{k} {v}" for k, v in result.outputs.items()))
    if result.problems:
        lines.append("NOT AS EXPECTED: " + "; ".join(result.problems))
    return "\n".join(lines)


def _engines_line(result: RunResult) -> str:
    left = ", ".join(result.functions_modified) or "no function"
    return (
        f"- FIS ({result.fis_mode}) ended {result.fis_state or '?'} ({result.fis_reason}); "
        f"once FIS and SSM were done, {left} differed from before the run."
    )


def _explain_stop_condition(result: RunResult) -> str:
    ratio = ratio_text(result.us_failure_ratio_during_fault)
    lines = [
        "",
        f"Outcome: FIS {result.fis_state or '?'} ({result.fis_reason}); chaos run "
        f"{result.status}, {result.run_seconds:.0f} s.",
        f"- US customers failed ({ratio} of their requests while the fault was on) until "
        "their error alarm fired; FIS stopped the experiment, which cancelled the SSM "
        "automation, whose cancellation workflow restored the function."
        if result.fis_mode == "ssm-automation"
        else f"- US customers failed ({ratio} of their requests while the fault was on) until "
        "their error alarm fired; FIS stopped the experiment and removed its faults.",
        f"- Rollbacks of the package that ran: {result.rollbacks_run}. Functions left modified: "
        f"{', '.join(result.functions_modified) or 'none'}.",
        "Outputs: " + ", ".join(f"{k} {v}" for k, v in result.outputs.items()),
    ]
    if result.problems:
        lines.append("NOT AS EXPECTED: " + "; ".join(result.problems))
    return "\n".join(lines)


def verdict(results: list[RunResult], total: float, output: Path, expected: int) -> str:
    """Summarise the demo: one line per run, then whether it showed what it should."""
    lines = ["", rule("summary")]
    for result in results:
        mark = "as expected" if result.as_expected else "NOT as expected"
        figures = f"chaos run {result.run_seconds:.0f} s"
        if result.failover_measured_seconds is not None:
            figures += f", failover {result.failover_measured_seconds:.1f} s after the fault"
        if result.fis_mode:
            figures += f", FIS {result.fis_state}"
        lines.append(f"{result.variant:>13}: {result.status} ({figures}): {mark}")
    lines.append(f"Whole demo: {total:.0f} s. Outputs in {relative(output)}/ (summary.json).")
    ok = all(r.as_expected for r in results) and len(results) == expected
    if not ok:
        lines.append("The demo did not show the expected outcomes (see above).")
    elif {r.variant for r in results} >= set(VARIANTS):
        lines.append("The experiment caught the misconfiguration and confirmed the fix.")
        if any(r.variant == STOP_CONDITION for r in results):
            lines.append("The stop condition stopped FIS, and FIS left nothing behind.")
    else:
        lines.append("The outcome is the expected one.")
    return "\n".join(lines)


def _other(regions: Sequence[str], region: str) -> str:
    return next(r for r in regions if r != region)


def ratio_text(ratio: float | None) -> str:
    """Return a ratio as a percentage, or "n/a"."""
    return "n/a" if ratio is None else f"{ratio:.0%}"


def rule(title: str) -> str:
    """Return a section's heading line."""
    return f"== {title} " + "=" * max(0, 70 - len(title))


def relative(path: Path) -> str:
    """Return ``path`` relative to the working directory when it lies below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
