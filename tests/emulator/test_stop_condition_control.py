"""The stop-condition control in a real `chaos run`: an ALARM interrupts the run and rollbacks run.

moto never evaluates alarms, so the test drives them with SetAlarmState while
a tiny experiment holds a "fault" (a marker directory) for a minute.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import pytest

CHAOS = str(Path(sys.executable).with_name("chaos"))

FAULT_MODULE = """
import os, shutil, time

def inject(path: str) -> str:
    os.makedirs(path)
    return path

def hold(seconds: float) -> float:
    time.sleep(seconds)
    return seconds

def remove(path: str) -> bool:
    shutil.rmtree(path, ignore_errors=True)
    return True
"""


def experiment(
    tmp_path: Path, endpoint: str, hold_seconds: float, strategy: str | None = None
) -> dict[str, Any]:
    fault = str(tmp_path / "fault")

    def step(kind: str, name: str, func: str, **arguments: Any) -> dict[str, Any]:
        return {
            "type": kind,
            "name": name,
            "provider": {
                "type": "python",
                "module": "tiny_fault",
                "func": func,
                "arguments": arguments,
            },
        }

    hold = step("action", "hold-the-fault", "hold", seconds=hold_seconds)
    hold["pauses"] = {"after": hold_seconds}
    doc: dict[str, Any] = {
        "version": "1.0.0",
        "title": "A fault held under a stop condition",
        "description": "stop-condition control test",
        "configuration": {"aws_region": "us-east-1", "aws_endpoint_url": endpoint},
        "controls": [
            {
                "name": "stop-on-alarm",
                "provider": {
                    "type": "python",
                    "module": "chaosaws_serverless.controls.stop_condition",
                    "arguments": {"alarm_names": ["customers-errors"], "poll_seconds": 0.2},
                },
            }
        ],
        "method": [step("action", "inject-fault", "inject", path=fault), hold],
        "rollbacks": [step("action", "remove-fault", "remove", path=fault)],
    }
    if strategy:
        doc["runtime"] = {"rollbacks": {"strategy": strategy}}
    return doc


def start_run(tmp_path: Path, doc: dict[str, Any]) -> subprocess.Popen:
    (tmp_path / "tiny_fault.py").write_text(FAULT_MODULE)
    (tmp_path / "experiment.json").write_text(json.dumps(doc))
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    return subprocess.Popen(
        [
            CHAOS,
            "--no-version-check",
            "--settings",
            str(tmp_path / "no-settings.yaml"),
            "--log-file",
            str(tmp_path / "chaostoolkit.log"),
            "run",
            "--journal-path",
            str(tmp_path / "journal.json"),
            str(tmp_path / "experiment.json"),
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.fixture
def alarm(aws: Callable[..., Any]) -> Callable[[str], None]:
    cloudwatch = aws("cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName="customers-errors",
        Namespace="ChaosServerless",
        MetricName="status_5xx",
        Statistic="Sum",
        Period=10,
        EvaluationPeriods=1,
        Threshold=5,
        ComparisonOperator="GreaterThanThreshold",
    )

    def set_state(state: str) -> None:
        cloudwatch.set_alarm_state(
            AlarmName="customers-errors", StateValue=state, StateReason=f"test set {state}"
        )

    set_state("OK")
    return set_state


def finish(process: subprocess.Popen, tmp_path: Path, timeout: float) -> dict[str, Any]:
    output, _ = process.communicate(timeout=timeout)
    journal_path = tmp_path / "journal.json"
    assert journal_path.exists(), output
    return json.loads(journal_path.read_text())


@pytest.mark.parametrize(
    ("strategy", "rolled_back_by"),
    [
        (None, "stop_condition control"),  # chaoslib's default skips rollbacks when interrupted
        ("deviated", "stop_condition control"),
        ("always", "chaoslib"),
        ("never", None),  # an explicit choice is respected
    ],
)
def test_alarm_interrupts_the_run_and_the_rollbacks_still_run(
    tmp_path: Path,
    configuration: dict[str, Any],
    alarm: Callable[[str], None],
    strategy: str | None,
    rolled_back_by: str | None,
) -> None:
    process = start_run(
        tmp_path, experiment(tmp_path, configuration["aws_endpoint_url"], 60, strategy)
    )
    deadline = time.monotonic() + 60
    while not (tmp_path / "fault").exists():
        assert process.poll() is None, process.communicate()[0]
        assert time.monotonic() < deadline, "the experiment never injected its fault"
        time.sleep(0.1)
    alarm_at = time.monotonic()
    alarm("ALARM")
    journal = finish(process, tmp_path, timeout=45)
    stopped_after = time.monotonic() - alarm_at

    assert stopped_after < 15, "the 60 s hold and its 60 s pause were not cut short"
    assert journal["status"] == "interrupted"
    assert [r["activity"]["name"] for r in journal["run"]] == ["inject-fault", "hold-the-fault"]
    stop = journal["stop_condition"]
    assert stop["alarm"] == "customers-errors"
    assert stop["reason"] == "test set ALARM"
    assert stop.get("rollbacks_run_by") == rolled_back_by
    if rolled_back_by is None:
        assert journal["rollbacks"] == []
        assert (tmp_path / "fault").exists()
        return
    assert [(r["activity"]["name"], r["status"]) for r in journal["rollbacks"]] == [
        ("remove-fault", "succeeded")
    ]
    assert not (tmp_path / "fault").exists(), "the fault was left in place"


def test_quiet_alarm_changes_nothing(
    tmp_path: Path, configuration: dict[str, Any], alarm: Callable[[str], None]
) -> None:
    process = start_run(tmp_path, experiment(tmp_path, configuration["aws_endpoint_url"], 0.3))
    journal = finish(process, tmp_path, timeout=60)
    assert journal["status"] == "completed"
    assert [r["activity"]["name"] for r in journal["rollbacks"]] == ["remove-fault"]
    assert "stop_condition" not in journal


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("ALARM", "already in ALARM"),
        ("missing", "not found in us-east-1"),
    ],
)
def test_run_does_not_start_when_the_condition_is_already_met_or_unwatchable(
    tmp_path: Path,
    configuration: dict[str, Any],
    aws: Callable[..., Any],
    alarm: Callable[[str], None],
    setup: str,
    message: str,
) -> None:
    if setup == "ALARM":
        alarm("ALARM")
    else:
        aws("cloudwatch").delete_alarms(AlarmNames=["customers-errors"])
    process = start_run(tmp_path, experiment(tmp_path, configuration["aws_endpoint_url"], 60))
    journal = finish(process, tmp_path, timeout=60)
    assert journal["status"] == "interrupted"
    assert journal["run"] == []
    assert not (tmp_path / "fault").exists()
    assert message in (tmp_path / "chaostoolkit.log").read_text()
