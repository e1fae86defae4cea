"""aws:executeScript on python3.11 [S]: the document's own script, run by a worker process.

The worker (:mod:`.script_worker`, stdlib and boto3 only) runs on a real python3.11, SSM's
runtime; a script that outlives its timeout (600 s at most [S]) is killed with its worker.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chaosaws_serverless.lab.ssm.rules import SCRIPT_MAX_SECONDS


def find_python311() -> str:
    """Return a python3.11 interpreter (SSM's runtime [S]): this one, PATH, or pyenv's."""
    if sys.version_info[:2] == (3, 11):
        return sys.executable
    candidates = [shutil.which("python3.11") or ""]
    for root in (os.environ.get("PYENV_ROOT", ""), str(Path.home() / ".pyenv"), "/root/.pyenv"):
        if root:
            candidates.extend(str(p) for p in sorted(Path(root).glob("versions/3.11*/bin/python")))
    for candidate in candidates:
        if candidate and Path(candidate).exists():
            probe = subprocess.run(
                [candidate, "-c", "import sys; print(sys.version_info[:2] == (3, 11))"],
                capture_output=True,
                text=True,
                check=False,
            )
            if probe.stdout.strip() == "True":
                return candidate
    raise RuntimeError(
        "no python3.11 found (PATH or pyenv): SSM's aws:executeScript runs python3.11, and the "
        "SSM Automation model runs the document's script on the same interpreter. Install it "
        "(pyenv install 3.11) or put python3.11 on PATH"
    )


def _boto3_site_dirs() -> list[str]:
    """The directories boto3 and its (pure Python) dependencies are imported from here."""
    import boto3
    import botocore
    import dateutil
    import jmespath
    import s3transfer
    import urllib3

    dirs = []
    for module in (boto3, botocore, dateutil, jmespath, s3transfer, urllib3):
        parent = str(Path(str(module.__file__)).resolve().parent.parent)
        if parent not in dirs:
            dirs.append(parent)
    with contextlib.suppress(ImportError):
        import six  # python-dateutil's dependency

        parent = str(Path(str(six.__file__)).resolve().parent)
        if parent not in dirs:
            dirs.append(parent)
    return dirs


@dataclass
class ScriptResult:
    status: str  # Success | Failed | Killed | TimedOut
    payload: Any = None
    error: str = ""
    calls: list[str] = field(default_factory=list)
    output: str = ""


class _Worker:
    def __init__(self, python: str) -> None:
        worker = Path(__file__).with_name("script_worker.py")
        self.process = subprocess.Popen(
            [python, "-I", str(worker), *_boto3_site_dirs()],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            bufsize=1,
        )
        ready = self._read(60.0)
        if ready is None or "ready" not in ready:
            self.kill()
            raise RuntimeError(f"the python3.11 script worker ({python}) did not start")
        self.version = ready["ready"]

    def _read(self, timeout: float) -> dict[str, Any] | None:
        assert self.process.stdout is not None
        result: list[str] = []
        reader = threading.Thread(
            target=lambda: result.append(self.process.stdout.readline()),  # type: ignore[union-attr]
            daemon=True,
        )
        reader.start()
        reader.join(timeout)
        if not result or not result[0]:
            return None
        return dict(json.loads(result[0]))

    def run(self, request: dict[str, Any], timeout: float) -> dict[str, Any] | None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        return self._read(timeout)

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(5)


class ScriptRunner:
    """Runs ``aws:executeScript`` steps on python3.11 workers (started once, reused).

    A script that outlives its timeout (600 s at most [S]) is killed with its worker: the
    step times out.
    """

    def __init__(self, python: str | None = None) -> None:
        self.python = python or find_python311()
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()
        self._closed = False

    def run(
        self,
        script: str,
        handler: str,
        payload: Mapping[str, Any],
        environ: Mapping[str, str],
        *,
        timeout: float = SCRIPT_MAX_SECONDS,
        fault: Mapping[str, Any] | None = None,
    ) -> ScriptResult:
        with self._lock:
            if self._closed:
                raise RuntimeError("the script runner is closed")
            worker = self._idle.pop() if self._idle else None
        worker = worker or _Worker(self.python)
        request = {
            "script": script,
            "handler": handler,
            "payload": dict(payload),
            "environ": dict(environ),
            "fault": dict(fault) if fault else None,
        }
        answer = worker.run(request, timeout)
        if answer is None:
            worker.kill()
            return ScriptResult("TimedOut", error=f"the script ran longer than {timeout:.0f} s")
        with self._lock:
            if self._closed:
                worker.kill()
            else:
                self._idle.append(worker)
        return ScriptResult(
            status=str(answer.get("status")),
            payload=answer.get("payload"),
            error=str(answer.get("error") or ""),
            calls=list(answer.get("calls") or []),
            output=str(answer.get("output") or ""),
        )

    def close(self) -> None:
        with self._lock:
            self._closed = True
            workers, self._idle = self._idle, []
        for worker in workers:
            worker.kill()
