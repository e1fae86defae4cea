"""One lab: the emulator (started or reused), a deployed stack, and its data plane process.

``lab up`` starts one and leaves it running (state in ``<output>/lab-state.json``),
``lab down`` stops what that state names, and the demo starts one per run
with its own pid as the children's parent (they exit if it dies).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chaosaws_serverless.lab import emulator
from chaosaws_serverless.lab.dataplane import EVENTS_FILE, STATUS_FILE
from chaosaws_serverless.lab.deploy import Deployment, deploy
from chaosaws_serverless.lab.emulator import FAKE_CREDENTIALS_ENV
from chaosaws_serverless.lab.processes import (
    STATE_FILE,
    Child,
    is_running,
    read_state,
    spawn,
    stop_pid,
    write_state,
)
from chaosaws_serverless.lab.stack import Stack

DEPLOYMENT_FILE = "deployment.json"
VALUES_FILE = "values.json"
ENV_FILE = "lab.env"


@dataclass
class Lab:
    """The processes and files of one running lab."""

    output: Path
    stack: Stack
    deployment: Deployment
    endpoint_url: str
    emulator: Child | None = None  # None: the caller started the emulator and its front
    dataplane: Child | None = None
    children: list[Child] = field(default_factory=list)

    @property
    def values_path(self) -> Path:
        return self.output / VALUES_FILE

    @property
    def env_path(self) -> Path:
        """A ``.env`` var file: the emulator's endpoint and its fake credentials for ``chaos``."""
        return self.output / ENV_FILE

    @property
    def events_path(self) -> Path:
        return self.output / EVENTS_FILE

    def events(self) -> list[dict[str, Any]]:
        if not self.events_path.exists():
            return []
        lines = self.events_path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    def state(self) -> dict[str, Any]:
        return {
            "output": str(self.output),
            "endpoint_url": self.endpoint_url,
            "misconfigured": self.stack.misconfigured,
            "values": str(self.values_path),
            "processes": {c.name: c.pid for c in self.children},
            "emulator_started_by_lab": self.emulator is not None,
            "gateways": (self.dataplane.ready.get("gateways") if self.dataplane else {}),
            "started": time.time(),
        }

    def stop_dataplane(self) -> None:
        if self.dataplane is not None:
            stop_pid(self.dataplane.pid)
            self.children = [c for c in self.children if c is not self.dataplane]
            self.dataplane = None

    def stop(self) -> None:
        """Stop every process this lab started (data plane first, then the emulator)."""
        self.stop_dataplane()
        for child in reversed(self.children):
            stop_pid(child.pid)
        self.children.clear()
        self.emulator = None


def start_emulator(output: Path, *, endpoint_url: str | None, parent_pid: int) -> Child:
    """Start a moto server and its control plane, or the control plane in front of the given one.

    The child's ``ready["url"]`` is the lab's endpoint either way: SSM automations and FIS
    experiments run there (the models), everything else is moto's.
    """
    if endpoint_url:
        emulator.wait_until_up(endpoint_url)
        return emulator.start_front(
            endpoint_url, output / "control-plane.log", parent_pid=parent_pid
        )
    return emulator.start(output / "moto-server.log", parent_pid=parent_pid)


def start_lab(
    stack: Stack,
    output: Path,
    *,
    endpoint_url: str | None = None,
    emulator_child: Child | None = None,
    customers: bool = True,
    parent_pid: int | None = None,
    reset: bool = False,
    stack_file: str | Path | None = None,
) -> Lab:
    """Deploy ``stack`` and start its data plane; start an emulator unless one is given.

    ``parent_pid`` (default: this process) ties the children's lives to a
    process; 0 lets them outlive it (``lab up``).
    """
    output.mkdir(parents=True, exist_ok=True)
    parent = os.getpid() if parent_pid is None else parent_pid
    started = None
    if emulator_child is None:
        started = start_emulator(output, endpoint_url=endpoint_url, parent_pid=parent)
        emulator_child = started
    url = emulator_child.ready["url"]
    try:
        if reset:
            emulator.reset(url)
        deployment = deploy(stack, url)
    except BaseException:
        if started is not None:
            stop_pid(started.pid)
        raise
    lab = Lab(output=output, stack=stack, deployment=deployment, endpoint_url=url)
    if started is not None:
        lab.emulator = started
        lab.children.append(started)
    try:
        (output / DEPLOYMENT_FILE).write_text(
            json.dumps(deployment.to_json(), indent=2) + "\n", encoding="utf-8"
        )
        deployment.write_values(lab.values_path)
        lab.env_path.write_text(
            "".join(
                f"{k}={v}\n" for k, v in {**FAKE_CREDENTIALS_ENV, "AWS_ENDPOINT_URL": url}.items()
            ),
            encoding="utf-8",
        )
        for stale in (EVENTS_FILE, STATUS_FILE):
            (output / stale).unlink(missing_ok=True)
        args = [
            "-m",
            "chaosaws_serverless.lab.dataplane",
            "--deployment",
            str(output / DEPLOYMENT_FILE),
            "--output",
            str(output),
            "--parent-pid",
            str(parent),
        ]
        if not customers:
            args.append("--no-customers")
        if stack_file is not None:
            args.extend(["--stack", str(stack_file)])
        lab.dataplane = spawn("data plane", args, output / "dataplane.log")
        lab.children.append(lab.dataplane)
    except BaseException:
        lab.stop()
        raise
    return lab


def stop_recorded(output: Path) -> list[tuple[str, int, bool]]:
    """Stop the processes recorded in ``output``'s state file; return (name, pid, was running)."""
    state = read_state(output)
    if state is None:
        return []
    stopped = []
    # The data plane first: it publishes its last datapoints to the emulator.
    for name, pid in sorted(state.get("processes", {}).items(), key=lambda i: i[0] != "data plane"):
        stopped.append((name, int(pid), stop_pid(int(pid))))
    (output / STATE_FILE).unlink(missing_ok=True)
    return stopped


def recorded_status(output: Path) -> dict[str, Any] | None:
    """Return the recorded lab's state, its processes' liveness and the data plane's status."""
    state = read_state(output)
    if state is None:
        return None
    state["running"] = {name: is_running(int(pid)) for name, pid in state["processes"].items()}
    status_path = output / STATUS_FILE
    if status_path.exists():
        state["dataplane"] = json.loads(status_path.read_text(encoding="utf-8"))
    return state


def save_state(lab: Lab) -> Path:
    return write_state(lab.output, lab.state())
