"""Interrupting `chaos run` of the shipped reference experiment never leaves a function modified.

SIGINT and SIGTERM: the rollbacks have run by the time the process exits (with
the ``safe_interrupt`` control, the run is interrupted where the signal lands,
even inside a Python activity, and nothing starts after it). SIGKILL:
``chaosaws-serverless rollback`` from a fresh process restores everything.
Three random points per signal here; ``benchmarks/resilience_interruption.py``
runs twenty and more and prints the table.
"""

import json
import random
import signal
from pathlib import Path

import pytest

from tests.support.interruption import LocalApi, deploy_stack, random_delay, run_once

RUNS_PER_SIGNAL = 3


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
def test_interrupted_runs_leave_every_function_exactly_as_before(
    moto_server: str, tmp_path: Path, signum: int
) -> None:
    stack = deploy_stack(moto_server, tmp_path)
    rng = random.Random(signum)
    for index in range(RUNS_PER_SIGNAL):
        delay = random_delay(rng) if index else 0.02  # one lands among the injections
        outcome = run_once(stack, signum, delay, run_id=f"run{index}", exit_timeout_seconds=60)
        context = f"{outcome.signal_name} after {delay:.2f} s:\n{outcome.output[-4000:]}"
        assert outcome.modified == {}, context
        if signum == signal.SIGKILL:
            continue
        assert outcome.status == "interrupted", context
        assert outcome.rollbacks_run == 2, context
        assert outcome.activities_after_signal == 0, context
        assert outcome.seconds_to_exit < 15, context


def test_sigterm_inside_an_activity_interrupts_the_run(moto_server: str, tmp_path: Path) -> None:
    """chaoslib alone turns it into a failed probe and reports the run 'completed' (exit 0)."""
    stack = deploy_stack(moto_server, tmp_path)
    outcome = run_once(stack, signal.SIGTERM, 1.5, run_id="sigterm-in-probe")
    assert outcome.status == "interrupted", outcome.output[-4000:]
    assert outcome.exit_code == 1
    assert "SIGTERM received: interrupting the experiment now" in outcome.output
    assert outcome.modified == {}


def test_default_strategy_interrupted_run_still_rolls_back(
    moto_server: str, tmp_path: Path
) -> None:
    """chaoslib's default strategy skips rollbacks on interruption; the control runs them."""
    stack = deploy_stack(moto_server, tmp_path)
    experiment = json.loads(stack.experiment_path.read_text())
    experiment.pop("runtime", None)
    stack.experiment_path.write_text(json.dumps(experiment))
    outcome = run_once(stack, signal.SIGINT, 1.0, run_id="default-strategy")
    assert outcome.status == "interrupted", outcome.output[-4000:]
    assert "chaoslib skipped the rollbacks" in outcome.output
    assert outcome.rollbacks_run == 2
    assert outcome.modified == {}


@pytest.mark.parametrize(("signum", "delay"), [(signal.SIGINT, 0.05), (signal.SIGTERM, 1.5)])
def test_a_background_load_does_not_delay_the_rollbacks(
    moto_server: str, tmp_path: Path, signum: int, delay: float
) -> None:
    """chaoslib waits for background activities before rolling back; the control stops the load.

    At 0.05 s the load's thread is still importing the load generator.
    """
    api = LocalApi()
    try:
        stack = deploy_stack(moto_server, tmp_path, load_url=api.url)
        outcome = run_once(stack, signum, delay, run_id="with-load")
    finally:
        api.close()
    assert outcome.status == "interrupted", outcome.output[-4000:]
    assert outcome.seconds_to_exit < 15, outcome.output[-4000:]  # the load was set for 120 s
    assert outcome.modified == {}
