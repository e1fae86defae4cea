"""SSM Automation's rules as values: limits, statuses, names (sources: the package docstring).

Each constant names its source key ([A], [S], [T], ...) listed in ``__init__``.
Also the two things the tests vary: :class:`Fault` (one failure or cancellation) and
:class:`Readings` (the model's choice where the guide is silent).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

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
REFERENCE = re.compile(r"\{\{\s*([^{}\s]+)\s*\}\}")
DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")
# The automation APIs the model answers itself when a runbook's aws:executeAwsApi calls them.
OWN_APIS = (
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
