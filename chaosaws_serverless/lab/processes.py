"""Processes the lab starts: started in their own session, tracked by pid, always stopped.

Every child is started with :func:`spawn`, which waits for the child's first
stdout line, a JSON "ready" message (so ports are chosen by the child binding
port 0 and reported back: no race for a free port). The lab's state file
records the pids, so ``lab down`` from another shell stops exactly those
processes and nothing else. Children given ``--parent-pid`` also exit on their
own when that parent dies (a ``kill -9`` of the demo leaves nothing behind).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

STATE_FILE = "lab-state.json"


class LabProcessError(RuntimeError):
    """A lab process failed to start; the message carries its last output lines."""


@dataclass
class Child:
    """One process the lab started, and what it announced when ready."""

    name: str
    process: subprocess.Popen[str]
    ready: dict[str, Any]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid


def spawn(
    name: str,
    args: list[str],
    log_path: Path,
    *,
    env: dict[str, str] | None = None,
    ready_timeout_seconds: float = 30.0,
) -> Child:
    """Start ``python args...`` in its own session and return once it printed its ready line."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = log_path.open("a", encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, *args],
        stdout=subprocess.PIPE,
        stderr=log,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env,
        start_new_session=True,  # Ctrl-C reaches the lab, which stops children in order
    )
    log.close()
    assert process.stdout is not None
    line = _read_line(process.stdout, ready_timeout_seconds)
    if not line:
        stop_pid(process.pid)
        tail = _tail(log_path)
        raise LabProcessError(f"{name} did not start (see {log_path}):\n{tail}")
    ready = json.loads(line)
    # Keep draining stdout into the log so the child never blocks on a full pipe.
    threading.Thread(
        target=_drain, args=(process.stdout, log_path), name=f"{name}-stdout", daemon=True
    ).start()
    return Child(name=name, process=process, ready=ready, log_path=log_path)


def _read_line(stream: IO[str], timeout_seconds: float) -> str:
    result: list[str] = []
    reader = threading.Thread(target=lambda: result.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout_seconds)
    return result[0].strip() if result else ""


def _drain(stream: IO[str], log_path: Path) -> None:
    with contextlib.suppress(ValueError, OSError), log_path.open("a", encoding="utf-8") as log:
        for line in stream:
            log.write(line)
            log.flush()


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8").splitlines()[-lines:])
    except OSError:
        return ""


def is_running(pid: int) -> bool:
    """Return whether process ``pid`` exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().split(") ", 1)[1][:1] != "Z"
    except (OSError, IndexError):
        return True


def stop_pid(pid: int, timeout_seconds: float = 5.0) -> bool:
    """Stop the process group led by ``pid`` (SIGTERM, then SIGKILL); return whether it ran."""
    if not is_running(pid):
        _reap(pid)
        return False
    _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        _reap(pid)
        if not is_running(pid):
            return True
        time.sleep(0.05)
    _signal_group(pid, signal.SIGKILL)
    for _ in range(100):
        _reap(pid)
        if not is_running(pid):
            break
        time.sleep(0.05)
    return True


def _signal_group(pid: int, sig: signal.Signals) -> None:
    # Children run in their own session: their pid is their process group id.
    # Only signal the group if it really is the one we started.
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def watch_parent(parent_pid: int, on_exit: Any) -> None:
    """Call ``on_exit()`` from a daemon thread once ``parent_pid`` is gone (0: never)."""
    if not parent_pid:
        return

    def watch() -> None:
        while is_running(parent_pid) and os.getppid() == parent_pid:
            time.sleep(0.5)
        on_exit()

    threading.Thread(target=watch, name="watch-parent", daemon=True).start()


def write_state(directory: Path, state: dict[str, Any]) -> Path:
    """Write the lab's state file (pids, URLs, paths) into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / STATE_FILE
    path.write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")
    return path


def read_state(directory: Path) -> dict[str, Any] | None:
    """Return the lab's state from ``directory``, or None when no lab is recorded there."""
    path = directory / STATE_FILE
    if not path.exists():
        return None
    return dict(json.loads(path.read_text(encoding="utf-8")))
