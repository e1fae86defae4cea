"""What the timeline takes from a journal (events, values) and how its control fails safe."""

import time
from typing import Any

from chaosaws_serverless.controls.timeline import after_experiment_control
from chaosaws_serverless.timeline.journal import JOURNAL_KEY, epoch, markers

MODULE = "chaosaws_serverless.awslambda.actions"


def entry(func: str, start: str, module: str = MODULE, **extra: Any) -> dict[str, Any]:
    return {
        "activity": {"name": func, "provider": {"type": "python", "module": module, "func": func}},
        "start": start,
        "status": "succeeded",
        **extra,
    }


def test_events_are_the_first_fault_the_failover_seen_the_rollback_and_a_stop() -> None:
    journal = {
        "run": [
            entry("inject_latency", "2026-01-01T10:00:05+00:00"),
            entry("inject_latency", "2026-01-01T10:00:06+00:00"),
            entry(
                "wait_for_failover",
                "2026-01-01T10:00:07+00:00",
                module="chaosaws_serverless.route53.probes",
                output=12.5,
            ),
            entry("inject_error", "2026-01-01T10:00:09", module="someone.else"),
        ],
        "rollbacks": [entry("remove_faults", "2026-01-01T10:01:00+00:00")],
        "stop_condition": {"alarm": "errors", "at": "2026-01-01T10:00:30+00:00"},
    }
    found = {m.label: m.time for m in markers(journal)}
    base = epoch("2026-01-01T10:00:00+00:00")
    assert base is not None
    assert {label: round(t - base, 1) for label, t in found.items()} == {
        "fault injected": 5.0,
        "failover seen (+12 s)": 19.5,
        "rollback": 60.0,
        "stop condition: errors": 30.0,
    }
    # A naive timestamp is UTC (chaoslib writes aware ones; older journals did not).
    assert epoch("2026-01-01T10:00:00") == base


def test_the_control_gives_up_in_time_and_never_raises(tmp_path: Any) -> None:
    journal: dict[str, Any] = {
        "experiment": {"title": "t", "configuration": {"aws_region": "us-east-1"}},
        "start": "2026-01-01T10:00:00+00:00",
        "end": "2026-01-01T10:01:00+00:00",
        "run": [],
    }
    configuration = {
        "aws_region": "us-east-1",
        "aws_endpoint_url": "http://127.0.0.1:9",  # nothing listens: botocore retries
        "api_url": "https://example.invalid/",
        "aws_secret_access_key": "must-not-be-recorded",
    }
    started = time.monotonic()
    after_experiment_control(
        journal["experiment"],
        state=journal,
        configuration=configuration,
        path=str(tmp_path / "t.png"),
        timeout_seconds=2,
    )
    assert time.monotonic() - started < 10
    record = journal[JOURNAL_KEY]
    assert "draw it later with: chaosaws-serverless timeline" in record["timeline_error"]
    assert "aws_secret_access_key" not in record["configuration"]
    assert journal["experiment"]["configuration"]["api_url"] == "https://example.invalid/"
    assert not (tmp_path / "t.png").exists()
