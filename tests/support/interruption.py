"""Interrupt `chaos run` of the shipped reference experiment and check every function afterwards.

One run:

1. the lab's reference stack is deployed into the emulator (``lab.deploy``),
   and every function gets what makes a rollback hard: an extra layer already
   attached, more variables and a planted secret (``SECRET_TOKEN``);
2. ``chaos run experiments/region-failure.json`` starts in its own process
   with a var file for that stack. Its method and rollbacks are the shipped
   ones, unchanged (inject latency into both US functions, wait for the
   failover, pause; rollbacks ``remove_faults``; strategy ``always``); the
   steady-state hypothesis is left out because it reads the customers'
   metrics, which only the lab's data plane publishes. ``health_source`` is
   ``api`` (moto's health checks are always healthy), so ``wait_for_failover``
   polls for ``failover_timeout_seconds``: a long Python activity, where real
   runs spend their time and where signals land;
3. once chaos logs the start of the method, after a random delay, the process
   gets SIGINT, SIGTERM or SIGKILL; after SIGKILL ``chaosaws-serverless
   rollback`` runs (a fresh process, as an operator would);
4. every function is compared with its picture from before the run
   (``snapshots``).

With ``control=True`` the run declares ``chaosaws_serverless.controls.safe_interrupt``
(through ``chaos run --control-file``); without it, chaoslib alone.
"""

from __future__ import annotations

import copy
import json
import os
import random
import secrets as random_secrets
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3

from tests.support.lambdas import code_zip
from tests.support.snapshots import differences, snapshot

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
EXPERIMENT = REPO / "experiments" / "region-failure.json"
METHOD_STARTED = "Playing your experiment's method now"
CONTROL_FILE = """\
safe-interrupt:
  provider:
    type: python
    module: chaosaws_serverless.controls.safe_interrupt
"""
ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}


@dataclass
class Stack:
    """The deployed stack, the files of the run and the secret planted in the functions."""

    endpoint_url: str
    regions: list[str]
    workdir: Path
    values_path: Path
    experiment_path: Path
    secret: str
    functions: list[str] = field(default_factory=list)


@dataclass
class Outcome:
    """What one interrupted run left behind."""

    signal_name: str
    delay_seconds: float
    exit_code: int | None
    seconds_to_exit: float
    wall_seconds: float
    modified: dict[str, list[str]]
    rollbacks_run: int = 0
    # rollbacks that found a fault and removed it (output "removed": true)
    rollbacks_restored: int = 0
    activities_after_signal: int = 0
    rollback_cli_seconds: float = 0.0
    # SIGKILL only: functions carrying a fault when the process died (before the rollback CLI)
    modified_at_kill: dict[str, list[str]] = field(default_factory=dict)
    status: str = ""
    output: str = ""


def environment(endpoint_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(ENV)
    env["AWS_ENDPOINT_URL"] = endpoint_url
    env["PYTHONUNBUFFERED"] = "1"
    return env


def shipped_experiment_without_hypothesis() -> dict[str, Any]:
    experiment = json.loads(EXPERIMENT.read_text(encoding="utf-8"))
    experiment = copy.deepcopy(experiment)
    experiment.pop("steady-state-hypothesis", None)
    return experiment


def deploy_stack(
    endpoint_url: str,
    workdir: Path,
    secret: str | None = None,
    load_url: str | None = None,
) -> Stack:
    """Reset the emulator, deploy the reference stack, harden the functions, write the var file.

    With ``load_url``, the method starts with the customers' load as a
    background activity (``loadgen.actions.generate_load`` for 120 s, as the
    catalog's ``method/customer-load`` piece runs it), so signals land while
    the load runs.
    """
    from chaosaws_serverless import aws
    from chaosaws_serverless.lab import emulator
    from chaosaws_serverless.lab.deploy import deploy
    from chaosaws_serverless.lab.stack import load_stack

    emulator.reset(endpoint_url)
    aws.clear_client_cache()
    deployment = deploy(load_stack(), endpoint_url)
    secret = secret or random_secrets.token_hex(16)
    names = []
    for region, by_path in deployment.functions.items():
        lam = boto3.client("lambda", region_name=region, endpoint_url=endpoint_url)
        other = lam.publish_layer_version(
            LayerName="observability-agent",
            Content={"ZipFile": code_zip({"extensions/agent": "#!/bin/sh\n"})},
        )["LayerVersionArn"]
        for name in by_path.values():
            config = lam.get_function_configuration(FunctionName=name)
            variables = dict(config["Environment"]["Variables"])
            variables.update(SECRET_TOKEN=secret, LOG_LEVEL="INFO", TABLE="orders")
            lam.update_function_configuration(
                FunctionName=name, Layers=[other], Environment={"Variables": variables}
            )
            names.append(f"{region}/{name}")
    values = deployment.values()
    values["configuration"].update(
        health_source="api",
        latency_ms=5000,
        failover_timeout_seconds=20,
        failover_poll_seconds=1,
        observation_window_seconds=1,
    )
    workdir.mkdir(parents=True, exist_ok=True)
    values_path = workdir / "values.json"
    values_path.write_text(json.dumps(values, indent=2), encoding="utf-8")
    experiment_path = workdir / "region-failure-method.json"
    experiment = shipped_experiment_without_hypothesis()
    if load_url:
        experiment["method"].insert(0, background_load(load_url))
    experiment_path.write_text(json.dumps(experiment, indent=2), encoding="utf-8")
    (workdir / "controls.yaml").write_text(CONTROL_FILE, encoding="utf-8")
    (workdir / "settings.yaml").write_text("{}\n", encoding="utf-8")
    return Stack(
        endpoint_url=endpoint_url,
        regions=list(deployment.regions),
        workdir=workdir,
        values_path=values_path,
        experiment_path=experiment_path,
        secret=secret,
        functions=names,
    )


def background_load(url: str, duration_seconds: int = 120) -> dict[str, Any]:
    return {
        "type": "action",
        "name": "customers-call-the-api",
        "background": True,
        "provider": {
            "type": "python",
            "module": "chaosaws_serverless.loadgen.actions",
            "func": "generate_load",
            "arguments": {
                "url": url,
                "rate_per_second": 20,
                "duration_seconds": duration_seconds,
                "publish": "none",
            },
        },
    }


class LocalApi:
    """A local API answering ``Hello from region us-east-1`` (the customers' target)."""

    def __init__(self) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        class Hello(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = b"Hello from region us-east-1"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Hello)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/hello"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def chaos_command(stack: Stack, journal: Path, control: bool) -> list[str]:
    command = [
        str(BIN / "chaos"),
        "--no-version-check",
        "--settings",
        str(stack.workdir / "settings.yaml"),
        "--log-file",
        str(journal.with_suffix(".log")),
        "run",
        "--var-file",
        str(stack.values_path),
        "--journal-path",
        str(journal),
    ]
    if control:
        command += ["--control-file", str(stack.workdir / "controls.yaml")]
    return [*command, str(stack.experiment_path)]


def rollback_command(stack: Stack) -> list[str]:
    """``chaosaws-serverless rollback`` over every region of the stack, as an operator runs it."""
    command = [str(BIN / "chaosaws-serverless"), "rollback", "--endpoint-url", stack.endpoint_url]
    for region in stack.regions:
        command += ["--region", region]
    return command


def run_once(
    stack: Stack,
    signum: int,
    delay_seconds: float,
    *,
    control: bool = True,
    run_id: str = "run",
    exit_timeout_seconds: float = 120,
) -> Outcome:
    """Run the experiment, send ``signum`` ``delay_seconds`` after the method starts, check."""
    before = snapshot(stack.endpoint_url, stack.regions)
    journal = stack.workdir / f"{run_id}.journal.json"
    started = time.monotonic()
    process = subprocess.Popen(
        chaos_command(stack, journal, control),
        cwd=stack.workdir,
        env=environment(stack.endpoint_url),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    method_started = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if METHOD_STARTED in line:
                method_started.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    if not method_started.wait(60):
        process.kill()
        process.wait()
        raise RuntimeError("chaos never reached the method:\n" + "".join(lines))
    time.sleep(delay_seconds)
    signalled_at = time.monotonic()
    signalled_wall = datetime.now(UTC)
    exit_code: int | None
    if process.poll() is None:
        process.send_signal(signum)
    try:
        exit_code = process.wait(timeout=exit_timeout_seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        exit_code = process.wait()
    exited = time.monotonic()
    reader.join(timeout=5)
    outcome = Outcome(
        signal_name=signal.Signals(signum).name,
        delay_seconds=delay_seconds,
        exit_code=exit_code,
        seconds_to_exit=exited - signalled_at,
        wall_seconds=0.0,
        modified={},
    )
    if signum == signal.SIGKILL:
        outcome.modified_at_kill = differences(before, snapshot(stack.endpoint_url, stack.regions))
        rollback_started = time.monotonic()
        done = subprocess.run(
            rollback_command(stack),
            cwd=stack.workdir,
            env=environment(stack.endpoint_url),
            capture_output=True,
            text=True,
            timeout=120,
        )
        outcome.rollback_cli_seconds = time.monotonic() - rollback_started
        lines.append(done.stdout + done.stderr)
        if done.returncode != 0:
            lines.append(f"rollback exited {done.returncode}")
    elif journal.exists():
        data = json.loads(journal.read_text(encoding="utf-8"))
        outcome.status = str(data.get("status"))
        outcome.rollbacks_run = sum(
            1 for r in data.get("rollbacks") or [] if r.get("status") == "succeeded"
        )
        outcome.rollbacks_restored = sum(
            1
            for r in data.get("rollbacks") or []
            if isinstance(r.get("output"), dict) and r["output"].get("removed")
        )
        outcome.activities_after_signal = sum(
            1 for r in data.get("run") or [] if datetime.fromisoformat(r["start"]) > signalled_wall
        )
    outcome.wall_seconds = time.monotonic() - started
    outcome.output = "".join(lines)
    outcome.modified = differences(before, snapshot(stack.endpoint_url, stack.regions))
    return outcome


def random_delay(rng: random.Random) -> float:
    """Return when to signal after the method starts (seconds).

    On the emulator both injections take under 0.1 s after chaos logs the
    start of the method, then ``wait_for_failover`` polls for 20 s: 40% of
    the signals land among the injections, the rest while the method waits.
    """
    return rng.uniform(0.0, 0.12) if rng.random() < 0.4 else rng.uniform(0.12, 5.0)
