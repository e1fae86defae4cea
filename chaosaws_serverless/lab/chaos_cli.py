"""The lab runs the ``chaos`` command as a user would: ``chaos run`` of a variant, ``chaos report``.

``run`` streams the run's output into the demo's, with the stack's var file and
the emulator's endpoint and fake credentials in the environment (never the
caller's profile or role); ``report`` renders a journal's HTML report.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from chaosaws_serverless.lab.analysis import RunResult
from chaosaws_serverless.lab.emulator import FAKE_CREDENTIALS_ENV
from chaosaws_serverless.lab.processes import stop_pid
from chaosaws_serverless.lab.prose import relative
from chaosaws_serverless.lab.session import Lab

__all__ = ["report", "run"]


def run(
    variant: str, lab: Lab, experiment: Path, echo: Any, extra: list[str] | None = None
) -> RunResult:
    """Run ``chaos run`` of ``experiment`` on ``lab``, echoing its output; return the result."""
    chaos = shutil.which("chaos", path=str(Path(sys.executable).parent)) or "chaos"
    journal = lab.output / "journal.json"
    command = [
        chaos,
        "--log-file",
        str(lab.output / "chaostoolkit.log"),
        "run",
        "--journal-path",
        str(journal),
        "--var-file",
        str(lab.values_path),
        *(extra or []),
        str(experiment),
    ]
    env = {k: v for k, v in os.environ.items() if k not in ("AWS_PROFILE", "AWS_ROLE_ARN")}
    env.update(FAKE_CREDENTIALS_ENV)
    env["AWS_ENDPOINT_URL"] = lab.endpoint_url
    env.setdefault("AWS_DEFAULT_REGION", lab.deployment.regions[0])
    shown = ["chaos", "run", "--var-file", relative(lab.values_path), *(extra or [])]
    shown.append(relative(experiment))
    echo(f"$ {' '.join(shown)}")
    started = time.monotonic()
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env,
        # Its own session: on Ctrl-C the demo sends chaos exactly one SIGINT, which
        # chaos answers by interrupting the method and running the rollbacks.
        start_new_session=True,
    )
    assert process.stdout is not None
    try:
        for line in process.stdout:
            echo(f"  | {line.rstrip()}")
        code = process.wait()
    except BaseException:
        echo("Interrupted: letting chaos run the rollbacks...")
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGINT)
        try:
            out, _ = process.communicate(timeout=60)
            for line in (out or "").splitlines():
                echo(f"  | {line.rstrip()}")
        except subprocess.TimeoutExpired:
            stop_pid(process.pid)
        raise
    return RunResult(
        variant=variant,
        command=shown,
        chaos_exit_code=code,
        run_seconds=round(time.monotonic() - started, 1),
    )


def report(journal: Path, report: Path, values: Path) -> str:
    """Write the HTML report of ``journal``; return an error message, or "" on success.

    The run's var file goes along, or the report shows the experiment's default values.
    """
    chaos = shutil.which("chaos", path=str(Path(sys.executable).parent)) or "chaos"
    command = [
        chaos,
        "--log-file",
        str(report.with_name("chaos-report.log")),
        "report",
        "--export-format=html5",
        "--var-file",
        str(values),
        str(journal),
        str(report),
    ]
    try:
        completed = subprocess.run(
            command, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return str(error)
    if completed.returncode != 0 or not report.exists():
        tail = (completed.stderr or completed.stdout).strip().splitlines()[-3:]
        return " / ".join(tail) or f"exit code {completed.returncode}"
    return ""
