"""SIGKILL `chaos run` of the reference experiment mid-fault on a lab; wait for the switch alone.

What the lab test (``tests/lab/test_fault_switch_on_lab.py``, one run) and the benchmark
(``benchmarks/fault_switch_sigkill.py``, ten) share. Nothing runs after the kill but the lab
itself: its control plane fires the due schedules into the SSM model, which runs the
shipped document. Every function of the lab's regions is compared, as GetFunction and
ListTags show it, with its picture from before the run.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from tests.support.lab import CREDENTIALS, configuration

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
RECORD_KEY = "chaosaws-serverless:fault:0"
GROUP = "chaosaws-serverless"
VOLATILE = ("LastModified", "RevisionId", "LastUpdateStatus", "LastUpdateStatusReason")
_AT = re.compile(r"^at\((\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\)$")
PRECISION_SECONDS = 60  # Scheduler fires within the minute after a schedule's time


@dataclass
class Outcome:
    """One killed run: when the faults were on, the deadline, when every function was back."""

    injected_at: float  # time.time() when both US functions carried a fault
    deadline: float  # the latest schedule's time + Scheduler's minute (epoch seconds)
    restored_at: float | None  # when every function was as before (None: never, in the wait)
    modified: list[str]  # functions still not as before at the end
    schedules_left: int

    @property
    def seconds_past_deadline(self) -> float | None:
        return None if self.restored_at is None else self.restored_at - self.deadline


def clients(values: dict[str, Any], service: str) -> dict[str, Any]:
    return {
        region: boto3.client(
            service,
            region_name=region,
            endpoint_url=values["aws_endpoint_url"],
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        for region in values["aws_regions"]
    }


def pictures(lambdas: dict[str, Any]) -> dict[str, Any]:
    """Every function of every region: configuration (less what AWS changes) and tags."""
    found: dict[str, Any] = {}
    for region, lam in lambdas.items():
        for page in lam.get_paginator("list_functions").paginate():
            for summary in page["Functions"]:
                function = lam.get_function(FunctionName=summary["FunctionName"])
                config = function["Configuration"]
                found[f"{region}/{config['FunctionName']}"] = {
                    "configuration": {k: v for k, v in config.items() if k not in VOLATILE},
                    "tags": lam.list_tags(Resource=config["FunctionArn"])["Tags"],
                }
    return found


def schedules(schedulers: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for scheduler in schedulers.values():
        for item in scheduler.list_schedules(GroupName=GROUP)["Schedules"]:
            found.append(scheduler.get_schedule(Name=item["Name"], GroupName=GROUP))
    return found


def _faulty(lambdas: dict[str, Any], values: dict[str, Any]) -> bool:
    lam = lambdas[values["aws_region"]]
    for name in (values["us_hello_function"], values["us_health_function"]):
        arn = lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
        if RECORD_KEY not in lam.list_tags(Resource=arn)["Tags"]:
            return False
    return True


def run_killed(lab: Path, deadline_seconds: int, log: Path) -> Outcome:
    """Start the reference experiment, SIGKILL it once both US faults are on, wait and judge."""
    values = configuration(lab)
    lambdas, schedulers = clients(values, "lambda"), clients(values, "scheduler")
    before = pictures(lambdas)
    with log.open("w") as output:
        process = subprocess.Popen(
            [
                str(BIN / "chaos"),
                "--no-version-check",
                "run",
                "--var-file",
                str(lab / "values.json"),
                "--var",
                f"fault_deadline_seconds:int={deadline_seconds}",
                str(ROOT / "experiments" / "region-failure.json"),
            ],
            cwd=lab,
            env={**os.environ, **CREDENTIALS},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            limit = time.monotonic() + 120
            while not _faulty(lambdas, values):
                if process.poll() is not None or time.monotonic() > limit:
                    raise AssertionError(f"the faults never came on: see {log}")
                time.sleep(0.2)
            injected_at = time.time()
        finally:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
    armed = schedules(schedulers)
    assert len(armed) == 2, f"one switch per faulty function, found {len(armed)}"
    times = []
    for schedule in armed:
        match = _AT.match(schedule["ScheduleExpression"])
        assert match, schedule["ScheduleExpression"]
        at = dt.datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=dt.UTC)
        times.append(at.timestamp())
    deadline = max(times) + PRECISION_SECONDS
    restored_at = None
    while time.time() < deadline + PRECISION_SECONDS:
        now = pictures(lambdas)
        if now == before:
            restored_at = time.time()
            break
        time.sleep(1)
    now = pictures(lambdas)
    modified = sorted(k for k in before if now.get(k) != before[k])
    return Outcome(injected_at, deadline, restored_at, modified, len(schedules(schedulers)))
