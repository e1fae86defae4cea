"""What happened in one demo run, from its journal and the lab's facts: pure functions.

No I/O and no AWS calls: the caller (:mod:`.demo`) reads the journal, the data
plane's events, the misconfiguration finder and the timeline's metrics, then
hands them here. :func:`judge` says whether the outcome is the expected one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from chaosaws_serverless import metric_names
from chaosaws_serverless.timeline.journal import FAULT_FUNCS
from chaosaws_serverless.timeline.metrics import TimelineData

VARIANTS = ("misconfigured", "fixed")
# An FIS experiment's third run: the misconfigured stack, its template with the customers'
# error alarm as stop condition, and no rollback of the package (--rollback-strategy never).
STOP_CONDITION = "stop-condition"


@dataclass
class RunResult:
    """The figures and the verdict of one run."""

    variant: str
    command: list[str]
    chaos_exit_code: int
    run_seconds: float
    status: str = ""
    deviated: bool | None = None
    fault_start: float | None = None
    rollback_start: float | None = None
    failover_probe_seconds: float | None = None
    failover_probe_error: str = ""
    failover_measured_seconds: float | None = None
    us_unhealthy_after_seconds: float | None = None
    us_health_target: str = ""
    us_failure_ratio_during_fault: float | None = None
    eu_failure_ratio_during_fault: float | None = None
    failed_probes: list[str] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    # Runs of an FIS experiment: the template mode, how FIS ended, what was left.
    fis_mode: str = ""
    fis_state: str = ""
    fis_reason: str = ""
    rollbacks_run: int = 0
    functions_modified: list[str] = field(default_factory=list)

    @property
    def as_expected(self) -> bool:
        return not self.problems


def epoch(text: str | None) -> float | None:
    """Return the epoch seconds of a journal's ISO time (naive means UTC), or None."""
    if not text:
        return None
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def first_line(value: Any) -> str:
    """Return the message of an error or of a traceback chaoslib stored in a journal."""
    if value is None:
        return ""
    if isinstance(value, list):
        value = "".join(value)
    text = str(value).strip().splitlines()
    # chaoslib stores the traceback; its last line carries the message.
    line = text[-1] if text else ""
    prefix = "chaoslib.exceptions.ActivityFailed: "
    while line.startswith(prefix):
        line = line[len(prefix) :]
    return line


def analyse_journal(result: RunResult, journal: dict[str, Any]) -> None:
    """Fill ``result``'s status, fault and rollback times, failover probe and failed probes."""
    result.deviated = journal.get("deviated")
    # What `chaos run` prints at the end: "deviated" wins over the run's status.
    result.status = "deviated" if result.deviated else str(journal.get("status", "no journal"))
    for run in journal.get("run", []):
        activity = run.get("activity", {})
        func = activity.get("provider", {}).get("func", "")
        if (func.startswith("inject_") or func in FAULT_FUNCS) and result.fault_start is None:
            result.fault_start = epoch(run.get("start"))
        if func == "wait_for_failover":
            if run.get("status") == "succeeded" and run.get("output") is not None:
                result.failover_probe_seconds = float(run["output"])
            else:
                result.failover_probe_error = first_line(run.get("exception"))
    rollbacks = journal.get("rollbacks", [])
    result.rollbacks_run = len(rollbacks)
    if rollbacks:
        result.rollback_start = epoch(rollbacks[0].get("start"))
    after = (journal.get("steady_states") or {}).get("after") or {}
    for probe in after.get("probes", []):
        if not probe.get("tolerance_met", True):
            output = probe.get("output")
            shown = f"{output:.2f}" if isinstance(output, float) else repr(output)
            result.failed_probes.append(f"{probe['activity']['name']} (got {shown})")


def analyse_events(result: RunResult, events: Iterable[dict[str, Any]], us: str) -> None:
    """Fill when the US health check turned unhealthy and US customers were routed away.

    ``events`` are the data plane's, oldest first; both figures count from the fault.
    """
    if result.fault_start is None:
        return
    events = list(events)
    for event in events:
        if event["event"] != "health" or event.get("region") != us or event["healthy"]:
            continue
        if event["time"] >= result.fault_start:
            result.us_unhealthy_after_seconds = round(event["time"] - result.fault_start, 1)
            break
    for event in events:
        if (
            event["event"] == "route"
            and event["client_region"] == us
            and event.get("region") != us
            and event["time"] >= result.fault_start
        ):
            result.failover_measured_seconds = round(event["time"] - result.fault_start, 1)
            break


def failure_ratios(result: RunResult, data: TimelineData, us: str, eu: str) -> None:
    """Fill the share of each region's customers' requests that failed while the fault was on."""
    if result.fault_start is None:
        return
    end = result.rollback_start or data.end
    for client, attr in (
        (us, "us_failure_ratio_during_fault"),
        (eu, "eu_failure_ratio_during_fault"),
    ):
        total = data.total(client, metric_names.STATUS_METRICS, result.fault_start, end)
        failed = data.total(client, metric_names.ERROR_METRICS, result.fault_start, end)
        setattr(result, attr, round(failed / total, 3) if total else None)


def judge(result: RunResult) -> None:
    """Add to ``result.problems`` every way the run's outcome differs from the expected one."""
    if result.fis_mode and result.functions_modified:
        result.problems.append(
            f"FIS left {', '.join(result.functions_modified)} modified after the run"
        )
    if result.variant == STOP_CONDITION:
        if result.fis_state != "stopped" or "stop condition" not in result.fis_reason:
            result.problems.append(
                f"expected the stop condition to stop the FIS experiment, got {result.fis_state!r} "
                f"({result.fis_reason})"
            )
        if result.rollbacks_run:
            result.problems.append(f"{result.rollbacks_run} rollbacks of the package ran")
        return
    if result.fis_mode and result.fis_state != "completed":
        result.problems.append(
            f"expected the FIS experiment to complete, got {result.fis_state!r} "
            f"({result.fis_reason})"
        )
    if result.variant == "misconfigured":
        if result.deviated is not True:
            result.problems.append(
                f"expected the hypothesis to deviate, got status {result.status!r} "
                f"deviated={result.deviated}"
            )
        if result.us_unhealthy_after_seconds is not None:
            result.problems.append("the US health check turned unhealthy: the bug did not show")
        if not result.findings:
            result.problems.append("the misconfiguration finder found nothing")
    else:
        if result.status != "completed":
            result.problems.append(
                f"expected the hypothesis to hold, got status {result.status!r} "
                f"deviated={result.deviated} (failed: {', '.join(result.failed_probes) or '-'})"
            )
        if result.failover_probe_seconds is None and result.failover_measured_seconds is None:
            result.problems.append("no failover was measured")
        if result.findings:
            result.problems.append(f"the finder reported findings: {result.findings}")
