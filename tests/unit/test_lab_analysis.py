"""The demo's analysis of a run: figures from a saved journal and the lab's facts, no I/O.

The journal is a trimmed copy of a misconfigured run's (`tests/unit/data`); the
expected figures are worked out by hand from its times, not by the package.
"""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from chaosaws_serverless import metric_names
from chaosaws_serverless.lab.analysis import (
    RunResult,
    analyse_events,
    analyse_journal,
    epoch,
    failure_ratios,
    first_line,
    judge,
)
from chaosaws_serverless.timeline.metrics import Series, TimelineData

JOURNAL = Path(__file__).parent / "data" / "demo-misconfigured-journal.json"
US, EU = "us-east-1", "eu-west-1"
# The journal's times: the first inject_* action's start, the first rollback's start.
FAULT = datetime(2026, 11, 30, 0, 33, 54, 828104, tzinfo=UTC).timestamp()
ROLLBACK = datetime(2026, 11, 30, 0, 35, 4, 352173, tzinfo=UTC).timestamp()


def journal() -> dict:
    return json.loads(JOURNAL.read_text(encoding="utf-8"))


def result(variant: str = "misconfigured") -> RunResult:
    return RunResult(variant=variant, command=["chaos", "run"], chaos_exit_code=1, run_seconds=60)


def test_epoch_reads_naive_times_as_utc_and_keeps_offsets() -> None:
    assert epoch("2026-11-30T00:33:54.828104+00:00") == FAULT
    assert epoch("2026-11-30T00:33:54.828104") == FAULT
    assert epoch("2026-11-30T01:33:54.828104+01:00") == FAULT
    assert epoch(None) is None and epoch("") is None


def test_journal_gives_status_fault_rollback_and_failed_probes() -> None:
    run = result()
    analyse_journal(run, journal())
    assert run.deviated is True
    assert run.status == "deviated"  # deviated wins over "completed", as `chaos run` says
    assert run.fault_start == FAULT  # the first inject_* action's start
    assert run.rollback_start == ROLLBACK
    assert run.failover_probe_seconds is None
    # chaoslib doubled the exception's prefix: both go.
    assert run.failover_probe_error == (
        "Route 53 did not fail clients in us-east-1 over from us-east-1 within 25 s "
        "(last observed route: us-east-1)"
    )
    assert run.failed_probes == ["us-customers-error-ratio-within-budget (got 1.00)"]


def test_a_succeeded_failover_probe_gives_its_seconds() -> None:
    saved = journal()
    probe = saved["run"][2]
    probe.update(status="succeeded", output=12.5)
    del probe["exception"]
    saved.update(deviated=False)
    run = result("fixed")
    analyse_journal(run, saved)
    assert (run.status, run.failover_probe_seconds, run.failover_probe_error) == (
        "completed",
        12.5,
        "",
    )


def test_no_journal_reads_as_such() -> None:
    run = result()
    analyse_journal(run, {})
    assert (run.status, run.deviated, run.fault_start, run.rollback_start) == (
        "no journal",
        None,
        None,
        None,
    )


def test_events_give_health_and_route_changes_after_the_fault() -> None:
    run = result()
    analyse_journal(run, journal())
    events = [
        {"time": FAULT - 50, "event": "started"},
        # Before the fault: ignored.
        {"time": FAULT - 10, "event": "health", "region": US, "healthy": False},
        {"time": FAULT - 5, "event": "route", "client_region": US, "region": EU},
        # Other regions' changes: ignored.
        {"time": FAULT + 3, "event": "health", "region": EU, "healthy": False},
        {"time": FAULT + 4, "event": "route", "client_region": EU, "region": US},
        {"time": FAULT + 6, "event": "route", "client_region": US, "region": US},
        {"time": FAULT + 7.26, "event": "health", "region": US, "healthy": False},
        {"time": FAULT + 9.04, "event": "route", "client_region": US, "region": EU},
        {"time": FAULT + 20, "event": "health", "region": US, "healthy": False},
    ]
    analyse_events(run, events, US)
    assert run.us_unhealthy_after_seconds == 7.3
    assert run.failover_measured_seconds == 9.0


def test_events_without_a_fault_give_nothing() -> None:
    run = result()
    analyse_events(run, [{"time": 1.0, "event": "health", "region": US, "healthy": False}], US)
    assert run.us_unhealthy_after_seconds is None and run.failover_measured_seconds is None


def test_failure_ratios_count_from_the_fault_to_the_rollback() -> None:
    run = result()
    analyse_journal(run, journal())
    second = int(FAULT) + 1
    statuses = {
        US: {
            metric_names.STATUS_2XX: Series("2xx", {second - 5: 50, second: 10, second + 1: 5}),
            metric_names.STATUS_5XX: Series("5xx", {second: 20, second + 1: 40}),
            metric_names.STATUS_TIMEOUT: Series("timeout", {second + 2: 5, ROLLBACK + 1: 99}),
        },
        EU: {metric_names.STATUS_2XX: Series("2xx", {second: 30, second + 1: 30})},
    }
    data = TimelineData(
        start=FAULT - 60, end=ROLLBACK + 30, health={}, served={}, statuses=statuses
    )
    failure_ratios(run, data, US, EU)
    # US: 65 failed (20 + 40 + 5) of 80 (10 + 5 + 20 + 40 + 5); the point after the rollback is out.
    assert run.us_failure_ratio_during_fault == pytest.approx(0.812)
    assert run.eu_failure_ratio_during_fault == 0.0
    run.rollback_start = None  # then up to the timeline's end
    failure_ratios(run, data, US, EU)
    assert run.us_failure_ratio_during_fault == pytest.approx(round(164 / 179, 3))
    run = result()
    failure_ratios(run, data, US, EU)  # no fault: no ratio
    assert run.us_failure_ratio_during_fault is None


def test_judge_accepts_the_expected_misconfigured_outcome() -> None:
    run = result()
    analyse_journal(run, journal())
    run.findings = ["the US health check watches the EU domain"]
    judge(run)
    assert run.problems == [] and run.as_expected


def test_judge_names_each_unexpected_outcome() -> None:
    run = result()
    analyse_journal(run, {"status": "completed", "deviated": False})
    run.us_unhealthy_after_seconds = 8.0
    judge(run)
    assert run.problems == [
        "expected the hypothesis to deviate, got status 'completed' deviated=False",
        "the US health check turned unhealthy: the bug did not show",
        "the misconfiguration finder found nothing",
    ]
    fixed = result("fixed")
    analyse_journal(fixed, journal())
    fixed.findings = ["x"]
    judge(fixed)
    assert fixed.problems == [
        "expected the hypothesis to hold, got status 'deviated' deviated=True "
        "(failed: us-customers-error-ratio-within-budget (got 1.00))",
        "no failover was measured",
        "the finder reported findings: ['x']",
    ]


def test_first_line_takes_the_message_of_a_stored_traceback() -> None:
    assert first_line(["Traceback\n", "chaoslib.exceptions.ActivityFailed: boom\n"]) == "boom"
    assert first_line(ValueError("bad\nworse")) == "worse"
    assert first_line(None) == ""
