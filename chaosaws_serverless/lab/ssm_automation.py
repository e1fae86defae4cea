"""SSM Automation from the Systems Manager User Guide: the lab's runbook runner, the tests' judge.

moto stores Automation documents and runs none. This module runs them, rule by rule as the
guide states them, the source named beside each rule (as :mod:`.extension` does for the chaos
extension). It imports nothing from ``chaosaws_serverless.ssm``, ``.awslambda`` or ``.fis``
(``tests/unit/test_engine_models.py`` enforces it): it is an independent reading of what SSM
does with a runbook, so the shipped document is judged by SSM's rules and not by the
package's idea of them. Scripts are the document's own text, run on a real python3.11 (SSM's
runtime) by :class:`ScriptRunner`, against whatever AWS endpoint the model is given (the moto
server in the tests and the lab).

Sources, all in the AWS Systems Manager User Guide
(https://docs.aws.amazon.com/systems-manager/latest/userguide/<page>), read in
awsdocs/aws-systems-manager-user-guide ``doc_source/<page>.md`` at dd495cc (June 2023, the
last commit before the guide left GitHub) and, where the search corpus holds them, on the
current pages (python3.11; no throttling retry for aws:executeScript; 100 concurrent
automations):

[A] automation-actions.html#automation-common   properties shared by all actions
[S] automation-action-executeScript.html        aws:executeScript
[X] automation-action-executeAutomation.html    aws:executeAutomation
[P] automation-action-executeAwsApi.html        aws:executeAwsApi
[Q] automation-action-assertAwsResourceProperty.html   aws:assertAwsResourceProperty
[B] automation-action-branch.html               aws:branch
[Z] automation-action-sleep.html                aws:sleep
[T] automation-statuses.html                    step and automation statuses
[V] automation-variables.html                   system and automation variables
[D] documents-syntax-data-elements-parameters.html   parameters: type, default,
                                                 allowedValues, allowedPattern
[O] automation-action-outputs-inputs.html        outputs, Selector (JSONPath)
[C] adaptive-concurrency.html                    "By default, Automation lets you run up to 100
                                                 concurrent automations at a time"
[R] automation-throttling-retry.html             throttling retry: every action but
                                                 aws:executeScript (an account preference,
                                                 off unless set: not modelled)

Where the guide is silent the model says so (``SILENT:``) and takes the stricter reading:
the one under which a runbook must do more to be right.

- ``isEnd`` on a step that also names ``onFailure``/``onCancel`` ``step:X``: [A] says isEnd
  "stops an automation at the end of a specific step ... if the step failed or succeeded",
  which contradicts the jump. The model refuses such a document (ambiguous).
- ``isCritical``: [A] says it "is only evaluated if you explicitly define it" and also that
  it defaults to true. The model counts a failed step as critical only when it says
  ``isCritical: true``; otherwise an automation that recovers with ``onFailure: step:X``
  ends Success.
- ``aws:executeAutomation`` when the child fails: [X] names the step's outputs
  ``ExecutionId`` and ``Status`` and says nothing of the step's own status; nor does it say
  whether cancelling the parent cancels the child. Both readings of each are modelled
  (:class:`Readings`) and the tests run a runbook under all four: it must hold under each.
- A cancellation reaching a running ``aws:executeScript``: the model lets the script finish
  and discards its output; the tests' fault plan also cuts a script short at any AWS call
  (``kill``), so both readings are exercised.
- A step that times out follows its ``onFailure`` like a failed one; the execution's final
  status is then TimedOut when it aborts on it ([T] lists TimedOut for both).
- An unresolved ``{{ reference }}`` fails the step that uses it; a reference to nothing the
  document declares is refused when the execution starts.
- Automations beyond the concurrency quota wait ``Pending`` in a FIFO queue ([C] names the
  quota; the queue and its 1000 limit are the Systems Manager quotas page's, not in a stored
  copy); a parent waiting on a child that cannot start waits forever, as on AWS.

Time: waits declared by documents (``aws:sleep``) run ``wait_scale`` times their length (the
lab compresses them like it compresses health-check intervals); the limits on work (600 s
per script [S], two minutes of cancellation workflow [A]) are never scaled.

For executions started by anything, not only FIS: :meth:`Automation.start` is the
``StartAutomationExecution`` API (also reachable over HTTP through the lab's control plane,
:mod:`.control_plane`), so a scheduler model (EventBridge Scheduler's universal target
``ssm:startAutomationExecution``) calls it the same way::

    automation = Automation(AwsAccess(endpoint_url), ScriptRunner())
    execution_id = automation.start("chaosaws-serverless-chaos-layer",
                                    {"FunctionName": ["hello"], "ChaosMode": ["DISABLED"], ...},
                                    region="us-east-1")
    automation.wait(execution_id)                   # -> "Success" | "Failed" | ...
    automation.get(execution_id)                    # GetAutomationExecution's AutomationExecution
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import yaml

__all__ = [
    "TERMINAL",
    "Automation",
    "AutomationError",
    "AwsAccess",
    "Fault",
    "Readings",
    "ScriptRunner",
    "find_python311",
]

# [T] "Detailed status for an automation": the terminal ones.
TERMINAL = frozenset({"Success", "TimedOut", "Cancelled", "Failed"})
# [A] onCancel "doesn't support moving to the following actions".
NO_CANCEL_TARGET = frozenset(
    {
        "aws:approve",
        "aws:copyImage",
        "aws:createImage",
        "aws:createStack",
        "aws:createTags",
        "aws:pause",
        "aws:runInstances",
        "aws:sleep",
    }
)
MODELLED_ACTIONS = frozenset(
    {
        "aws:executeScript",
        "aws:executeAwsApi",
        "aws:assertAwsResourceProperty",
        "aws:executeAutomation",
        "aws:branch",
        "aws:sleep",
    }
)
# [A] name: "Allowed pattern: [a-zA-Z0-9_]+$".
STEP_NAME = re.compile(r"^[a-zA-Z0-9_]+$")
SCRIPT_MAX_SECONDS = 600.0  # [S] "a maximum duration of 600 seconds (10 minutes)"
SLEEP_MAX_SECONDS = 604799  # [Z] "a maximum delay of 604799 seconds (7 days)"
CANCEL_WORKFLOW_SECONDS = 120.0  # [A] onCancel: "for a maximum of two minutes"
PAYLOAD_MAX_BYTES = 100 * 1024  # [S] Payload: "Up to 100KB is returned"
DOCUMENT_MAX_BYTES = 64 * 1024  # SSM quotas: a document's content (not in a stored copy)
CONCURRENCY = 100  # [C]
QUEUE_LIMIT = 1000  # SSM quotas: the automation queue (not in a stored copy)
# [S] Runtime: python3.11 on the current page (3.6-3.8 can no longer run since 2025-02-18).
PYTHON_RUNTIMES = frozenset({"python3.11"})
# [V] "System variables" and "Automation variables".
SYSTEM_VARIABLES = (
    "global:ACCOUNT_ID",
    "global:DATE",
    "global:DATE_TIME",
    "global:AWS_PARTITION",
    "global:REGION",
    "automation:EXECUTION_ID",
)
_REFERENCE = re.compile(r"\{\{\s*([^{}\s]+)\s*\}\}")
_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")
# The automation APIs the model answers itself when a runbook's aws:executeAwsApi calls them.
_OWN_APIS = (
    "GetAutomationExecution",
    "StartAutomationExecution",
    "StopAutomationExecution",
    "DescribeAutomationExecutions",
)


class AutomationError(Exception):
    """A request SSM refuses: ``code`` is the API's error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# --- AWS access and time ----------------------------------------------------------------


class AwsAccess:
    """boto3 clients on one endpoint (the lab's moto server), with the lab's fake credentials."""

    CREDENTIALS: ClassVar[dict[str, str]] = {
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
        "aws_session_token": "testing",
    }

    def __init__(self, endpoint_url: str, account: str = "123456789012") -> None:
        import boto3

        self.endpoint_url = endpoint_url
        self.account = account
        self._session = boto3.session.Session(**self.CREDENTIALS)
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def client(self, service: str, region: str) -> Any:
        with self._lock:
            key = (service, region)
            if key not in self._clients:
                self._clients[key] = self._session.client(
                    service, region_name=region, endpoint_url=self.endpoint_url
                )
            return self._clients[key]

    def script_environment(self, region: str) -> dict[str, str]:
        """What a script's boto3 sees: the execution's region and (assumed-role) credentials."""
        return {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": region,
            "AWS_REGION": region,
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        }


class Clock:
    """Real time; waits declared by documents last ``wait_scale`` times their length."""

    def __init__(self, wait_scale: float = 1.0) -> None:
        self.wait_scale = wait_scale

    def now(self) -> float:
        return time.monotonic()

    def wait(
        self, seconds: float, interrupted: threading.Event, until: float | None = None
    ) -> bool:
        """Wait ``seconds`` of document time, never past ``until`` (a :meth:`now` value).

        Returns True when the wait ended early (``interrupted`` set, or ``until`` reached).
        """
        real = max(0.0, seconds) * self.wait_scale
        if until is not None and until - self.now() < real:
            interrupted.wait(max(0.0, until - self.now()))
            return True
        return interrupted.wait(real)


# --- aws:executeScript on python3.11 --------------------------------------------------------


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


# --- the tests' single fault ----------------------------------------------------------------


@dataclass(frozen=True)
class Fault:
    """One failure or cancellation at one point of one execution (the tests' fault plan).

    ``execution``: the ordinal of the execution in the order the model started them (0: the
    first). ``step``: the step's name. ``kind``: ``fail`` (the step fails; in a script, the
    AWS call ``call`` answers a 500), ``lost`` (a script's call ``call`` reaches AWS and its
    answer is lost), ``kill`` (the execution is cancelled while its script is about to send
    call ``call``: the script stops there) or ``cancel`` (the execution is cancelled while
    the step runs: during a sleep, while a child runs, or as the step starts).
    ``persistent``: a failure recurs every time the step runs (each attempt [A], each
    re-run); else it happens once.
    """

    execution: int
    step: str
    kind: str
    call: int = 0
    persistent: bool = False

    def script_fault(self) -> dict[str, Any] | None:
        if self.kind in ("fail", "lost", "kill") and self.call > 0:
            return {"kind": self.kind, "call": self.call}
        return None


@dataclass(frozen=True)
class Readings:
    """The model's choice on each point the guide leaves open where both readings matter.

    The tests run a document under every combination: an artifact must hold under all.
    ``child_failure_fails_step``: an ``aws:executeAutomation`` step fails when its child
    ends in anything but Success (else it succeeds with the child's ``Status``).
    ``cancel_reaches_children``: cancelling an automation also cancels the children it
    waits for (else they go on).
    """

    child_failure_fails_step: bool = False
    cancel_reaches_children: bool = False

    @classmethod
    def all(cls) -> tuple[Readings, ...]:
        return tuple(cls(a, b) for a in (False, True) for b in (False, True))


# --- documents ------------------------------------------------------------------------------


def parse_duration(text: str) -> float:
    """ISO 8601 duration -> seconds [Z] ("You can't specify a negative duration")."""
    match = _DURATION.match(str(text).strip())
    if not match or text.strip() in ("P", "PT"):
        raise ValueError(f"{text!r} is not an ISO 8601 duration such as PT10M")
    days, hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    return days * 86400 + hours * 3600 + minutes * 60 + seconds


@dataclass
class Document:
    name: str
    version: str
    content: dict[str, Any]
    steps: list[dict[str, Any]]
    parameters: dict[str, dict[str, Any]]

    def index(self, name: str) -> int:
        for position, step in enumerate(self.steps):
            if step["name"] == name:
                return position
        raise KeyError(name)


def _jump(value: Any) -> str | None:
    text = str(value or "")
    return text[len("step:") :] if text.startswith("step:") else None


def _references(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield from _REFERENCE.findall(node)
    elif isinstance(node, Mapping):
        for value in node.values():
            yield from _references(value)
    elif isinstance(node, list):
        for value in node:
            yield from _references(value)


def load_document(name: str, version: str, text: str) -> Document:
    """Parse and check a runbook as SSM does before running it (problems: InvalidDocument)."""
    if len(text.encode("utf-8")) > DOCUMENT_MAX_BYTES:
        raise AutomationError(
            "InvalidDocumentContent", f"{name}: more than {DOCUMENT_MAX_BYTES} bytes"
        )
    try:
        content = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as error:
        raise AutomationError("InvalidDocumentContent", f"{name}: {error}") from error
    problems: list[str] = []
    if not isinstance(content, dict) or str(content.get("schemaVersion")) != "0.3":
        raise AutomationError(
            "InvalidDocumentContent", f"{name}: an Automation runbook has schemaVersion '0.3'"
        )
    steps = content.get("mainSteps")
    if not isinstance(steps, list) or not steps:
        raise AutomationError("InvalidDocumentContent", f"{name}: no mainSteps")
    parameters = dict(content.get("parameters") or {})
    names = [str(step.get("name")) for step in steps]
    by_name = {str(step.get("name")): step for step in steps}
    for step in steps:
        label = f"step {step.get('name')!r}"
        if not STEP_NAME.match(str(step.get("name", ""))):  # [A] name
            problems.append(f"{label}: name must match [a-zA-Z0-9_]+")
        action = step.get("action")
        if action not in MODELLED_ACTIONS:
            problems.append(f"{label}: action {action!r} is not modelled")
        on_failure = str(step.get("onFailure", "Abort"))
        if on_failure not in ("Abort", "Continue") and _jump(on_failure) not in by_name:
            problems.append(f"{label}: onFailure {on_failure!r} (Abort | Continue | step:name)")
        on_cancel = str(step.get("onCancel", "Abort"))
        target = _jump(on_cancel)
        if on_cancel != "Abort" and target not in by_name:
            problems.append(f"{label}: onCancel {on_cancel!r} (Abort | step:name)")
        elif target and by_name[target].get("action") in NO_CANCEL_TARGET:
            problems.append(f"{label}: onCancel cannot move to a {by_name[target]['action']} step")
        if step.get("nextStep") is not None and str(step["nextStep"]) not in by_name:
            problems.append(f"{label}: nextStep {step['nextStep']!r} is not a step")
        # SILENT: isEnd "stops ... if the step failed or succeeded" [A] vs a jump.
        if step.get("isEnd") is True and (_jump(on_failure) or target):
            problems.append(
                f"{label}: isEnd with onFailure/onCancel step:X is ambiguous in the guide "
                "(isEnd stops the automation whether the step failed or succeeded)"
            )
        if action == "aws:branch":
            for choice in (step.get("inputs") or {}).get("Choices") or []:
                if str(choice.get("NextStep")) not in by_name:
                    problems.append(f"{label}: choice NextStep {choice.get('NextStep')!r}")
            default = (step.get("inputs") or {}).get("Default")
            if default is not None and str(default) not in by_name:
                problems.append(f"{label}: Default {default!r} is not a step")
        if action == "aws:executeScript":
            runtime = (step.get("inputs") or {}).get("Runtime")
            if runtime not in PYTHON_RUNTIMES:
                problems.append(f"{label}: Runtime {runtime!r} (the model runs python3.11)")
    if len(set(names)) != len(names):  # [A] name: "unique across all step names"
        problems.append("step names are not unique")
    declared_outputs = {f"{s['name']}.{o['Name']}" for s in steps for o in s.get("outputs") or []}
    for step in steps:
        if step.get("action") == "aws:executeAutomation":  # [X] outputs
            declared_outputs |= {f"{step['name']}.{o}" for o in ("ExecutionId", "Status", "Output")}
        if step.get("action") == "aws:executeScript":  # [S] output Payload
            declared_outputs.add(f"{step['name']}.OutputPayload")
    known = set(parameters) | set(SYSTEM_VARIABLES) | declared_outputs
    for reference in _references({"steps": steps, "assumeRole": content.get("assumeRole")}):
        if reference not in known:
            problems.append(f"{{{{ {reference} }}}} refers to nothing the document declares")
    if problems:
        raise AutomationError("InvalidDocumentContent", f"{name}: " + "; ".join(problems))
    return Document(name, version, content, steps, parameters)


def resolve_parameters(document: Document, given: Mapping[str, Any] | None) -> dict[str, Any]:
    """[D] the execution's parameter values: given, else default; checked, or it fails to start."""
    given = dict(given or {})
    values: dict[str, Any] = {}
    problems: list[str] = []
    for unknown in sorted(set(given) - set(document.parameters)):
        problems.append(f"{unknown} is not a parameter of the document")
    for name, spec in document.parameters.items():
        kind = str((spec or {}).get("type", "String"))
        if name in given:
            raw = given[name]
            items = [str(v) for v in raw] if isinstance(raw, list | tuple) else [str(raw)]
            if kind == "StringList":
                value: Any = items
            elif len(items) != 1:
                problems.append(f"{name} is a {kind}: one value, got {len(items)}")
                continue
            else:
                value = items[0]
        elif "default" in (spec or {}):
            value = spec["default"]
        else:
            problems.append(f"{name} is required")
            continue
        texts = value if isinstance(value, list) else [value]
        allowed = (spec or {}).get("allowedValues")
        if allowed is not None and any(str(t) not in [str(a) for a in allowed] for t in texts):
            problems.append(f"{name}={value!r} is not one of {allowed}")  # [D] allowedValues
        pattern = (spec or {}).get("allowedPattern")
        # [D] allowedPattern: "doesn't match the allowed pattern, the execution fails to start".
        # SILENT: Java's matches() or find(); the model requires the whole value to match.
        if pattern is not None and any(re.fullmatch(pattern, str(t)) is None for t in texts):
            problems.append(f"{name}={value!r} does not match {pattern}")
        values[name] = value
    if problems:
        raise AutomationError(
            "InvalidAutomationExecutionParametersException",
            f"{document.name}: " + "; ".join(problems),
        )
    return values


def select(data: Any, selector: str) -> tuple[bool, Any]:
    """[O] a JSONPath Selector on a step's response: ``$``, ``.name`` and ``[index]`` only."""
    if not selector.startswith("$"):
        raise ValueError(f"selector {selector!r} does not start with $")
    rest = selector[1:]
    node = data
    for match in re.finditer(r"\.([A-Za-z0-9_]+)|\[(\d+)\]|(.)", rest):
        key, index, other = match.groups()
        if other is not None:
            raise ValueError(f"selector {selector!r}: only .name and [n] are modelled")
        if key is not None:
            if not isinstance(node, Mapping) or key not in node:
                return False, None
            node = node[key]
        else:
            position = int(index)
            if not isinstance(node, list) or position >= len(node):
                return False, None
            node = node[position]
    return True, node


def _typed(value: Any, kind: str, name: str) -> Any:
    """An output's value as its declared Type [O]; a mismatch fails the step (SILENT)."""
    checks: dict[str, Callable[[Any], bool]] = {
        "String": lambda v: isinstance(v, str),
        "Integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "Boolean": lambda v: isinstance(v, bool),
        "StringList": lambda v: isinstance(v, list) and all(isinstance(i, str) for i in v),
        "StringMap": lambda v: isinstance(v, dict),
        "MapList": lambda v: isinstance(v, list) and all(isinstance(i, dict) for i in v),
    }
    if kind not in checks or not checks[kind](value):
        raise StepFailure(f"output {name} is not a {kind}: {value!r}")
    return value


def _json_safe(node: Any) -> Any:
    if isinstance(node, dt.datetime):
        return node.isoformat()
    if isinstance(node, Mapping):
        return {str(k): _json_safe(v) for k, v in node.items() if k != "ResponseMetadata"}
    if isinstance(node, list | tuple):
        return [_json_safe(v) for v in node]
    if isinstance(node, bytes):
        return node.decode("utf-8", "replace")
    return node


class StepFailure(Exception):
    """The step fails with this message (its onFailure applies)."""


# --- executions -----------------------------------------------------------------------------


@dataclass
class StepRecord:
    name: str
    action: str
    status: str = "Pending"
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    failure: str = ""
    started: dt.datetime | None = None
    ended: dt.datetime | None = None
    attempts: int = 0
    step_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    calls: list[str] = field(default_factory=list)


@dataclass
class Execution:
    id: str
    ordinal: int
    document: Document
    region: str
    parameters: dict[str, Any]
    parent: str | None
    tags: list[dict[str, str]]
    status: str = "Pending"
    steps: list[StepRecord] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    failure: str = ""
    started: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    ended: dt.datetime | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    cancel_at: float | None = None
    current: str | None = None
    critical_failure: bool = False
    children: list[str] = field(default_factory=list)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Automation:
    """SSM Automation of one account: executions, their steps, the concurrency quota.

    ``aws`` reaches the other services (the documents are read from SSM there: moto stores
    them); ``runner`` runs scripts on python3.11; ``faults`` is the tests' single fault.
    """

    def __init__(
        self,
        aws: AwsAccess,
        runner: ScriptRunner | None = None,
        *,
        clock: Clock | None = None,
        concurrency: int = CONCURRENCY,
        queue_limit: int = QUEUE_LIMIT,
        faults: tuple[Fault, ...] = (),
        readings: Readings = Readings(),
        cancel_workflow_seconds: float = CANCEL_WORKFLOW_SECONDS,
    ) -> None:
        self.aws = aws
        self.readings = readings
        # [A] two minutes; the tests shorten it to see the cut-off without waiting for it.
        self.cancel_workflow_seconds = cancel_workflow_seconds
        self._owns_runner = runner is None
        self.runner = runner or ScriptRunner()
        self.clock = clock or Clock()
        self.concurrency = concurrency
        self.queue_limit = queue_limit
        self.faults = tuple(faults)
        self.executions: dict[str, Execution] = {}
        self._queue: deque[str] = deque()
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._ordinal = 0
        self._fired: set[Fault] = set()
        self._documents: dict[tuple[str, str, str], Document] = {}

    # -- the API ----------------------------------------------------------------------------

    def start(
        self,
        document_name: str,
        parameters: Mapping[str, Any] | None = None,
        *,
        region: str,
        document_version: str | None = None,
        parent: str | None = None,
        tags: list[dict[str, str]] | None = None,
    ) -> str:
        """StartAutomationExecution: check the document and parameters, run or queue it."""
        name = document_name.rsplit("document/", 1)[-1]  # a document ARN names it too
        document = self._document(name, document_version, region)
        values = resolve_parameters(document, parameters)
        with self._lock:
            if len(self._queue) >= self.queue_limit:
                raise AutomationError(
                    "AutomationExecutionLimitExceededException",
                    "The number of simultaneously running Automation executions exceeded the "
                    "allowable limit",
                )
            execution = Execution(
                id=str(uuid.uuid4()),
                ordinal=self._ordinal,
                document=document,
                region=region,
                parameters=values,
                parent=parent,
                tags=list(tags or []),
            )
            self._ordinal += 1
            self.executions[execution.id] = execution
            if parent:
                self.executions[parent].children.append(execution.id)
            self._queue.append(execution.id)
            self._dispatch()
            return execution.id

    def stop(self, execution_id: str, stop_type: str = "Cancel") -> None:
        """StopAutomationExecution (Type Cancel): the running step's onCancel applies [A]."""
        if stop_type != "Cancel":
            raise AutomationError(
                "InvalidAutomationStatusUpdateException", "only Cancel is modelled"
            )
        with self._lock:
            execution = self._execution(execution_id)
            if execution.status in TERMINAL or execution.cancel.is_set():
                return
            execution.cancel_at = self.clock.now()
            execution.cancel.set()
            if execution.status == "Pending":  # queued: never runs
                with contextlib.suppress(ValueError):
                    self._queue.remove(execution.id)
                self._finish(execution, "Cancelled", "Cancelled before it started")
            else:
                execution.status = "Cancelling"  # [T]
            self._changed.notify_all()
            children = list(execution.children) if self.readings.cancel_reaches_children else []
        for child in children:  # SILENT: Readings.cancel_reaches_children
            self.stop(child)

    def get(self, execution_id: str) -> dict[str, Any]:
        """GetAutomationExecution's ``AutomationExecution`` (botocore's shape)."""
        with self._lock:
            execution = self._execution(execution_id)
            answer: dict[str, Any] = {
                "AutomationExecutionId": execution.id,
                "DocumentName": execution.document.name,
                "DocumentVersion": execution.document.version,
                "ExecutionStartTime": execution.started,
                "AutomationExecutionStatus": execution.status,
                "StepExecutions": [self._step_answer(record) for record in execution.steps],
                "StepExecutionsTruncated": False,
                "Parameters": {k: _as_list(v) for k, v in execution.parameters.items()},
                "Outputs": dict(execution.outputs),
                "Mode": "Auto",
                "ExecutedBy": f"arn:aws:sts::{self.aws.account}:assumed-role/lab/chaos",
            }
            if execution.ended:
                answer["ExecutionEndTime"] = execution.ended
            if execution.failure:
                answer["FailureMessage"] = execution.failure
            if execution.parent:
                answer["ParentAutomationExecutionId"] = execution.parent
            if execution.current:
                answer["CurrentStepName"] = execution.current
            return answer

    def describe(self, filters: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        """DescribeAutomationExecutions' metadata list (DocumentNamePrefix, ExecutionStatus,
        ExecutionId, ParentExecutionId filters)."""
        wanted = {str(f.get("Key")): [str(v) for v in f.get("Values") or []] for f in filters or []}
        found = []
        with self._lock:
            for execution in self.executions.values():
                checks = {
                    "DocumentNamePrefix": lambda v, e=execution: e.document.name.startswith(v),
                    "ExecutionStatus": lambda v, e=execution: e.status == v,
                    "ExecutionId": lambda v, e=execution: e.id == v,
                    "ParentExecutionId": lambda v, e=execution: e.parent == v,
                }
                if all(any(checks[k](v) for v in values) for k, values in wanted.items()):
                    metadata = {
                        "AutomationExecutionId": execution.id,
                        "DocumentName": execution.document.name,
                        "DocumentVersion": execution.document.version,
                        "AutomationExecutionStatus": execution.status,
                        "ExecutionStartTime": execution.started,
                        "Mode": "Auto",
                        "AutomationType": "Local",
                    }
                    if execution.ended:
                        metadata["ExecutionEndTime"] = execution.ended
                    if execution.parent:
                        metadata["ParentAutomationExecutionId"] = execution.parent
                    found.append(metadata)
        return found

    def wait(self, execution_id: str, timeout: float = 900.0) -> str:
        """Block until the execution is terminal (``timeout``: real seconds); return its status."""
        deadline = time.monotonic() + timeout
        with self._lock:
            execution = self._execution(execution_id)
            while execution.status not in TERMINAL and time.monotonic() < deadline:
                self._changed.wait(min(1.0, max(0.0, deadline - time.monotonic())))
            return execution.status

    def wait_all(self, timeout: float = 900.0) -> bool:
        """Block until no execution can still change anything; False if some never can end.

        An execution waiting for a child that stays queued (the quota is used up by its
        ancestors) never ends: this returns False once only such waits are left.
        """
        deadline = time.monotonic() + timeout
        with self._lock:
            while time.monotonic() < deadline:
                live = [e for e in self.executions.values() if e.status not in TERMINAL]
                if not live:
                    return True
                running = [e for e in live if e.status != "Pending"]
                if self._queue and running and all(self._blocked(e) for e in running):
                    return False
                self._changed.wait(0.2)
            return False

    def started_count(self) -> int:
        with self._lock:
            return len(self.executions)

    def close(self) -> None:
        """Cancel what still runs, then stop the script workers (when this model started them)."""
        with self._lock:
            live = [e.id for e in self.executions.values() if e.status not in TERMINAL]
        for execution_id in live:
            with contextlib.suppress(AutomationError):
                self.stop(execution_id)
        if self._owns_runner:
            self.runner.close()

    # -- internals --------------------------------------------------------------------------

    def _execution(self, execution_id: str) -> Execution:
        try:
            return self.executions[execution_id]
        except KeyError:
            raise AutomationError(
                "AutomationExecutionNotFoundException",
                f"Automation execution {execution_id} not found",
            ) from None

    def _document(self, name: str, version: str | None, region: str) -> Document:
        ssm = self.aws.client("ssm", region)
        try:
            params = {"Name": name, **({"DocumentVersion": version} if version else {})}
            answer = ssm.get_document(**params)
        except Exception as error:
            code = getattr(error, "response", {}).get("Error", {}).get("Code", "")
            if code in ("InvalidDocument", "InvalidDocumentVersion"):
                raise AutomationError(
                    "AutomationDefinitionNotFoundException", f"document {name} not found"
                ) from error
            raise
        if answer.get("DocumentType") not in (None, "Automation"):
            raise AutomationError(
                "InvalidDocumentType", f"{name} is a {answer['DocumentType']} document"
            )
        version = str(answer.get("DocumentVersion", "1"))
        key = (name, version, answer["Content"])
        with self._lock:
            if key not in self._documents:
                self._documents[key] = load_document(name, version, answer["Content"])
            return self._documents[key]

    def _blocked(self, execution: Execution) -> bool:
        """Waiting on a child that is queued, or itself blocked (the quota is all waiting)."""
        waiting_on = [
            self.executions[c]
            for c in execution.children
            if self.executions[c].status not in TERMINAL
        ]
        return bool(waiting_on) and all(
            child.status == "Pending" or self._blocked(child) for child in waiting_on
        )

    def _dispatch(self) -> None:
        """[C] start queued executions while fewer than the quota run (FIFO)."""
        running = sum(
            1
            for e in self.executions.values()
            if e.status not in TERMINAL and e.status != "Pending"
        )
        while self._queue and running < self.concurrency:
            execution = self.executions[self._queue.popleft()]
            execution.status = "InProgress"  # [T]
            running += 1
            threading.Thread(
                target=self._run, args=(execution,), name=f"ssm-{execution.id[:8]}", daemon=True
            ).start()
        self._changed.notify_all()

    def _finish(self, execution: Execution, status: str, failure: str = "") -> None:
        execution.status = status
        execution.failure = execution.failure or failure
        execution.ended = _now()
        execution.current = None
        self._dispatch()

    def _fault(self, execution: Execution, step: str) -> Fault | None:
        for fault in self.faults:
            if fault.execution == execution.ordinal and fault.step == step:
                return fault
        return None

    def _run(self, execution: Execution) -> None:
        try:
            status = self._run_steps(execution)
        except Exception as error:  # a defect of the model: say so in the execution
            status = "Failed"
            execution.failure = f"automation model error: {error!r}"
        with self._lock:
            self._collect_outputs(execution)
            self._finish(execution, status)

    def _run_steps(self, execution: Execution) -> str:
        document = execution.document
        position: int | None = 0
        cancel_deadline: float | None = None
        aborted: str | None = None
        while position is not None and position < len(document.steps):
            step = document.steps[position]
            if cancel_deadline is None and execution.cancel.is_set():
                # The cancellation arrived before this step started: it is this step's.
                record = self._record(execution, step)
                record.status = "Cancelled"
                record.ended = _now()
                position, cancel_deadline = self._cancel_workflow(execution, step)
                continue
            if cancel_deadline is not None and self.clock.now() >= cancel_deadline:
                execution.failure = "the cancellation workflow ran out of its two minutes"
                break  # [A] onCancel: "a maximum of two minutes"
            record = self._attempt(execution, step, cancel_deadline)
            if record.status == "Cancelled" and cancel_deadline is None:
                position, cancel_deadline = self._cancel_workflow(execution, step)
                continue
            succeeded = record.status == "Success"
            if step.get("isEnd") is True:  # [A] isEnd: stops "if the step failed or succeeded"
                if not succeeded:
                    aborted = self._failed_outcome(execution, step, record)
                break
            if succeeded:
                position = self._next(execution, step, position, record)
                continue
            on_failure = str(step.get("onFailure", "Abort"))  # [A] onFailure, default abort
            if step.get("isCritical") is True:  # [A] isCritical (explicit only: SILENT)
                execution.critical_failure = True
                execution.failure = (
                    execution.failure or f"Step {step['name']} failed: {record.failure}"
                )
            if on_failure == "Abort":
                aborted = self._failed_outcome(execution, step, record)
                break
            if on_failure == "Continue":
                position = self._next(execution, step, position, record)
            else:
                position = document.index(str(_jump(on_failure)))
        if cancel_deadline is not None or execution.cancel.is_set():
            return "Cancelled"  # [T] "stopped by a requester before it completed"
        if aborted:
            return aborted
        return "Failed" if execution.critical_failure else "Success"

    def _failed_outcome(
        self, execution: Execution, step: dict[str, Any], record: StepRecord
    ) -> str:
        execution.failure = execution.failure or f"Step {step['name']} failed: {record.failure}"
        return "TimedOut" if record.status == "TimedOut" else "Failed"

    def _cancel_workflow(
        self, execution: Execution, step: dict[str, Any]
    ) -> tuple[int | None, float | None]:
        """[A] onCancel: Abort (default) ends the automation; step:X runs from X, two minutes."""
        target = _jump(step.get("onCancel", "Abort"))
        started = execution.cancel_at if execution.cancel_at is not None else self.clock.now()
        if target is None:
            return None, started
        return execution.document.index(target), started + self.cancel_workflow_seconds

    def _next(
        self, execution: Execution, step: dict[str, Any], position: int, record: StepRecord
    ) -> int | None:
        document = execution.document
        if step.get("action") == "aws:branch":
            target = record.outputs.get("NextStep")
            if target:
                return document.index(str(target))
        if step.get("nextStep") is not None:  # [A] nextStep
            return document.index(str(step["nextStep"]))
        return position + 1 if position + 1 < len(document.steps) else None

    def _record(self, execution: Execution, step: dict[str, Any]) -> StepRecord:
        with self._lock:
            record = StepRecord(name=str(step["name"]), action=str(step["action"]))
            record.started = _now()
            execution.steps.append(record)
            execution.current = record.name
            self._changed.notify_all()
            return record

    def _attempt(
        self, execution: Execution, step: dict[str, Any], cancel_deadline: float | None
    ) -> StepRecord:
        """Run a step up to maxAttempts times [A]; a cancellation stops the retries."""
        attempts = max(1, int(step.get("maxAttempts", 1)))
        record = self._record(execution, step)
        for attempt in range(1, attempts + 1):
            record.attempts = attempt
            record.status = "InProgress"
            try:
                outcome = self._execute(execution, step, record, cancel_deadline)
            except StepFailure as failure:
                record.status, record.failure = "Failed", str(failure)
            else:
                record.status = outcome
            if cancel_deadline is None and execution.cancel.is_set():
                record.status = "Cancelled"
            if record.status in ("Success", "Cancelled"):
                break
        record.ended = _now()
        with self._lock:
            self._changed.notify_all()
        return record

    def _execute(
        self,
        execution: Execution,
        step: dict[str, Any],
        record: StepRecord,
        cancel_deadline: float | None,
    ) -> str:
        fault = self._fault(execution, str(step["name"]))
        with self._lock:  # a single fault happens once (but a persistent one)
            if fault is not None and fault in self._fired and not fault.persistent:
                fault = None
            elif fault is not None:
                self._fired.add(fault)
        if fault and fault.kind == "fail" and not fault.script_fault():
            raise StepFailure("injected failure")
        if (
            fault
            and fault.kind == "cancel"
            and step["action"] not in ("aws:sleep", "aws:executeAutomation")
        ):
            self.stop(execution.id)
        inputs = self._resolve(execution, step.get("inputs") or {})
        record.inputs = inputs
        action = step["action"]
        timeout = float(step["timeoutSeconds"]) if step.get("timeoutSeconds") else None
        if action == "aws:executeScript":
            return self._execute_script(execution, step, record, inputs, timeout, fault)
        if action in ("aws:executeAwsApi", "aws:assertAwsResourceProperty"):
            return self._execute_api(execution, step, record, inputs)
        if action == "aws:executeAutomation":
            return self._execute_automation(
                execution, record, inputs, timeout, fault, cancel_deadline
            )
        if action == "aws:branch":
            return self._branch(execution, record, inputs)
        if action == "aws:sleep":
            return self._sleep(execution, inputs, fault, cancel_deadline)
        raise StepFailure(f"action {action} is not modelled")

    def _execute_script(
        self,
        execution: Execution,
        step: dict[str, Any],
        record: StepRecord,
        inputs: dict[str, Any],
        timeout: float | None,
        fault: Fault | None,
    ) -> str:
        """[S] run Script's Handler(events=InputPayload, context) on python3.11, 600 s at most."""
        if not isinstance(inputs.get("Script"), str):
            raise StepFailure("the model runs embedded Scripts only (no Attachment)")
        result = self.runner.run(
            inputs["Script"],
            str(inputs.get("Handler")),
            inputs.get("InputPayload") or {},
            self.aws.script_environment(execution.region),
            timeout=min(SCRIPT_MAX_SECONDS, timeout or SCRIPT_MAX_SECONDS),
            fault=fault.script_fault() if fault else None,
        )
        record.calls = result.calls
        if result.status == "Killed":
            self.stop(execution.id)
            return "Cancelled"
        if result.status == "TimedOut":
            record.failure = result.error
            return "TimedOut"
        if result.status != "Success":
            raise StepFailure(result.error or "the script failed")
        payload = result.payload
        if len(json.dumps(payload).encode("utf-8")) > PAYLOAD_MAX_BYTES:
            raise StepFailure("the script's output exceeds 100 KB")
        record.outputs["OutputPayload"] = json.dumps({"Payload": payload})
        self._outputs(step, record, {"Payload": payload})
        return "Success"

    def _execute_api(
        self, execution: Execution, step: dict[str, Any], record: StepRecord, inputs: dict[str, Any]
    ) -> str:
        """[P] call Service's Api with the other inputs as its parameters; outputs by Selector.

        [Q] aws:assertAwsResourceProperty: the same call; the step fails unless the value at
        PropertySelector is one of DesiredValues.
        """
        from botocore import xform_name

        asserting = step["action"] == "aws:assertAwsResourceProperty"
        own = ("Service", "Api", "PropertySelector", "DesiredValues") if asserting else ()
        params = {k: v for k, v in inputs.items() if k not in ("Service", "Api", *own)}
        service, api = str(inputs.get("Service")), str(inputs.get("Api"))
        try:
            if service == "ssm" and api in _OWN_APIS:
                response = self._own_api(execution, api, params)
            else:
                client = self.aws.client(service, execution.region)
                response = getattr(client, xform_name(api))(**params)
        except AutomationError as error:
            raise StepFailure(f"{error.code}: {error.message}") from error
        except Exception as error:
            raise StepFailure(f"{service}:{api} failed: {error}") from error
        response = _json_safe(response)
        if asserting:
            try:
                found, value = select(response, str(inputs.get("PropertySelector")))
            except ValueError as error:
                raise StepFailure(str(error)) from error
            desired = [_text(v) for v in inputs.get("DesiredValues") or []]
            if not found or _text(value) not in desired:
                raise StepFailure(
                    f"{inputs.get('PropertySelector')} is {value!r}, not one of {desired}"
                )
        self._outputs(step, record, response)
        return "Success"

    def _own_api(self, execution: Execution, api: str, params: dict[str, Any]) -> Any:
        if api == "GetAutomationExecution":
            return {"AutomationExecution": self.get(str(params["AutomationExecutionId"]))}
        if api == "DescribeAutomationExecutions":
            return {"AutomationExecutionMetadataList": self.describe(params.get("Filters"))}
        if api == "StopAutomationExecution":
            self.stop(str(params["AutomationExecutionId"]), str(params.get("Type", "Cancel")))
            return {}
        child = self.start(
            str(params["DocumentName"]),
            params.get("Parameters"),
            region=execution.region,
            document_version=params.get("DocumentVersion"),
        )
        return {"AutomationExecutionId": child}

    def _execute_automation(
        self,
        execution: Execution,
        record: StepRecord,
        inputs: dict[str, Any],
        timeout: float | None,
        fault: Fault | None,
        cancel_deadline: float | None,
    ) -> str:
        """[X] start the secondary runbook and wait for it; outputs ExecutionId, Status, Output."""
        runtime = inputs.get("RuntimeParameters") or {}
        try:
            child_id = self.start(
                str(inputs["DocumentName"]),
                {k: v for k, v in runtime.items()},
                region=execution.region,
                document_version=inputs.get("DocumentVersion"),
                parent=execution.id,
                tags=list(inputs.get("Tags") or []),
            )
        except AutomationError as error:
            raise StepFailure(f"{error.code}: {error.message}") from error
        record.outputs["ExecutionId"] = child_id
        if fault and fault.kind == "cancel":
            self.stop(execution.id)
        started = self.clock.now()
        with self._lock:
            child = self.executions[child_id]
            while child.status not in TERMINAL:
                if cancel_deadline is None and execution.cancel.is_set():
                    return "Cancelled"  # SILENT: the child goes on
                if cancel_deadline is not None and self.clock.now() >= cancel_deadline:
                    return "Cancelled"
                if timeout is not None and self.clock.now() - started >= timeout:
                    return "TimedOut"
                self._changed.wait(0.5)
            record.outputs["Status"] = child.status
            record.outputs["Output"] = [
                v for values in child.outputs.values() for v in _as_list(values)
            ]
            status = child.status
        if status != "Success" and self.readings.child_failure_fails_step:  # SILENT: Readings
            raise StepFailure(f"the secondary automation {child_id} ended {status}")
        return "Success"

    def _branch(self, execution: Execution, record: StepRecord, inputs: dict[str, Any]) -> str:
        """[B] the first true choice's NextStep, else Default, else the next step."""
        for choice in inputs.get("Choices") or []:
            if _choice_true(choice):
                record.outputs["NextStep"] = choice["NextStep"]
                return "Success"
        if inputs.get("Default") is not None:
            record.outputs["NextStep"] = inputs["Default"]
        return "Success"

    def _sleep(
        self,
        execution: Execution,
        inputs: dict[str, Any],
        fault: Fault | None,
        cancel_deadline: float | None,
    ) -> str:
        """[Z] wait Duration (ISO 8601, not negative, 604799 s at most) or until Timestamp."""
        if inputs.get("Duration") is not None:
            try:
                seconds = parse_duration(str(inputs["Duration"]))
            except ValueError as error:
                raise StepFailure(str(error)) from error
        elif inputs.get("Timestamp") is not None:
            until = dt.datetime.fromisoformat(str(inputs["Timestamp"]).replace("Z", "+00:00"))
            seconds = max(0.0, (until - _now()).total_seconds())
        else:
            raise StepFailure("aws:sleep needs Duration or Timestamp")
        if seconds > SLEEP_MAX_SECONDS:
            raise StepFailure(f"{seconds:.0f} s is more than the 604799 s aws:sleep allows")
        if fault and fault.kind == "cancel":
            self.stop(execution.id)
        interrupt = threading.Event() if cancel_deadline is not None else execution.cancel
        if self.clock.wait(seconds, interrupt, until=cancel_deadline):
            return "Cancelled"
        return "Success"

    def _outputs(self, step: dict[str, Any], record: StepRecord, response: Any) -> None:
        for output in step.get("outputs") or []:
            name = str(output["Name"])
            try:
                found, value = select(response, str(output["Selector"]))
            except ValueError as error:
                raise StepFailure(str(error)) from error
            if found:
                record.outputs[name] = _typed(value, str(output.get("Type", "String")), name)

    def _resolve(self, execution: Execution, node: Any) -> Any:
        """Substitute ``{{ reference }}``s: parameters, variables [V], earlier steps' outputs."""
        if isinstance(node, Mapping):
            return {k: self._resolve(execution, v) for k, v in node.items()}
        if isinstance(node, list):
            return [self._resolve(execution, v) for v in node]
        if not isinstance(node, str):
            return node
        whole = _REFERENCE.fullmatch(node.strip())
        if whole:
            return self._value(execution, whole.group(1))
        return _REFERENCE.sub(lambda m: _text(self._value(execution, m.group(1))), node)

    def _value(self, execution: Execution, reference: str) -> Any:
        if reference in execution.parameters:
            return execution.parameters[reference]
        now = dt.datetime.now(dt.UTC)
        variables = {
            "automation:EXECUTION_ID": execution.id,
            "global:ACCOUNT_ID": self.aws.account,
            "global:REGION": execution.region,
            "global:AWS_PARTITION": "aws",
            "global:DATE": now.strftime("%Y-%m-%d"),
            "global:DATE_TIME": now.strftime("%Y-%m-%d_%H.%M.%S"),
        }
        if reference in variables:
            return variables[reference]
        step, _, output = reference.partition(".")
        for record in reversed(execution.steps):
            if record.name == step and output in record.outputs:
                return record.outputs[output]
        raise StepFailure(f"{{{{ {reference} }}}} has no value: step {step} produced no {output}")

    def _collect_outputs(self, execution: Execution) -> None:
        for reference in execution.document.content.get("outputs") or []:
            step, _, output = str(reference).partition(".")
            for record in reversed(execution.steps):
                if record.name == step and output in record.outputs:
                    execution.outputs[str(reference)] = _as_list(record.outputs[output])
                    break

    def _step_answer(self, record: StepRecord) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "StepName": record.name,
            "Action": record.action,
            "StepStatus": record.status,
            "StepExecutionId": record.step_id,
            "Inputs": {k: json.dumps(v) for k, v in record.inputs.items() if k != "Script"},
            "Outputs": {k: _as_list(v) for k, v in record.outputs.items()},
        }
        if record.started:
            answer["ExecutionStartTime"] = record.started
        if record.ended:
            answer["ExecutionEndTime"] = record.ended
        if record.failure:
            answer["FailureMessage"] = record.failure
        return answer


def _as_list(value: Any) -> list[str]:
    if isinstance(value, list):
        return [_text(v) for v in value]
    return [_text(value)]


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value) if isinstance(value, dict | list) else str(value)


def _choice_true(choice: Mapping[str, Any]) -> bool:
    """[B] one choice: Variable with an operation, or And / Or / Not of choices."""
    if "And" in choice:
        return all(_choice_true(c) for c in choice["And"])
    if "Or" in choice:
        return any(_choice_true(c) for c in choice["Or"])
    if "Not" in choice:
        return not _choice_true(choice["Not"])
    value = choice.get("Variable")
    text = _text(value)
    operations: dict[str, Callable[[Any], bool]] = {
        "StringEquals": lambda v: text == str(v),
        "EqualsIgnoreCase": lambda v: text.lower() == str(v).lower(),
        "StartsWith": lambda v: text.startswith(str(v)),
        "EndsWith": lambda v: text.endswith(str(v)),
        "Contains": lambda v: str(v) in text,
        "NumericEquals": lambda v: float(text) == float(v),
        "NumericGreater": lambda v: float(text) > float(v),
        "NumericLesser": lambda v: float(text) < float(v),
        "NumericGreaterOrEquals": lambda v: float(text) >= float(v),
        "NumericLesserOrEquals": lambda v: float(text) <= float(v),
        "BooleanEquals": lambda v: text.lower() == str(v).lower(),
    }
    for operation, test in operations.items():
        if operation in choice:
            return bool(test(choice[operation]))
    raise StepFailure(f"choice {dict(choice)} has no operation the guide lists")
