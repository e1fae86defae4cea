"""The dead man's switch end to end: `chaos run` killed with SIGKILL mid-fault, nothing run after.

The lab's control plane fires the schedules the faults armed (its EventBridge Scheduler
model) into its SSM model, which runs the shipped document in restore mode: every function
must be exactly as before by the deadline plus one minute, and the schedules gone
(ActionAfterCompletion DELETE). One run here, with the shortest deadline; ten in
``benchmarks/fault_switch_sigkill.py``.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.lab import lab_up, wait_for_customer_metrics
from tests.support.switch_kill import PRECISION_SECONDS, run_killed

DEADLINE_SECONDS = 120  # the shortest the switch takes


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with lab_up(tmp_path_factory.mktemp("switch-lab")) as output:
        yield output


@pytest.mark.slow
@pytest.mark.timeout(420)
def test_a_killed_run_leaves_every_function_as_before_by_the_deadline(lab: Path) -> None:
    wait_for_customer_metrics(lab)
    outcome = run_killed(lab, DEADLINE_SECONDS, lab / "killed-run.log")
    assert outcome.deadline - outcome.injected_at <= DEADLINE_SECONDS + 2
    assert outcome.modified == [], outcome
    assert outcome.seconds_past_deadline is not None, outcome
    assert outcome.seconds_past_deadline <= PRECISION_SECONDS, outcome
    assert outcome.schedules_left == 0, outcome
