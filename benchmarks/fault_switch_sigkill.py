"""SIGKILL `chaos run` of the reference experiment mid-fault, N times: the switch alone restores?

Command (what produced the figures in docs/safety.md):

    .venv/bin/python benchmarks/fault_switch_sigkill.py --runs 10

One `chaosaws-serverless lab up`; then, ``--runs`` times: `chaos run` of
``experiments/region-failure.json`` with the lab's var file and
``fault_deadline_seconds`` = ``--deadline``, SIGKILL as soon as both US functions carry
their fault, and no further command: the lab's control plane fires the switches
(its EventBridge Scheduler model, 60-second precision) into its SSM model, which runs the
shipped document in restore mode. Every function of both regions is compared with its
picture from before (``tests/support/switch_kill.py``). Between runs the lab rests
``--rest`` seconds so the next run's steady state holds (an attempt whose steady state
failed injects nothing and is tried again, said so).

Columns per run: seconds from the injection to every function restored; seconds past
the deadline (the latest switch's time plus Scheduler's minute; must be <= 60); functions
left modified (must be 0); schedules left (must be 0: ActionAfterCompletion DELETE).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: tests.support

from tests.support.lab import lab_up, wait_for_customer_metrics
from tests.support.switch_kill import run_killed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--deadline", type=int, default=120, help="fault_deadline_seconds")
    parser.add_argument("--rest", type=float, default=45.0, help="seconds between runs")
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="switch-bench-")
    with lab_up(Path(folder)) as lab:
        wait_for_customer_metrics(lab)
        print("run  restored_after_s  past_deadline_s  modified  schedules_left")
        worst_past, modified, left = float("-inf"), 0, 0
        run, attempts = 0, 0
        while run < args.runs and attempts < 2 * args.runs:
            attempts += 1
            try:
                outcome = run_killed(lab, args.deadline, lab / f"run-{attempts}.log")
            except AssertionError as error:  # the steady state did not hold: no fault
                print(f"  attempt {attempts} injected nothing ({error}); again", flush=True)
                time.sleep(args.rest)
                continue
            run += 1
            restored = (
                f"{outcome.restored_at - outcome.injected_at:16.1f}"
                if outcome.restored_at
                else "           never"
            )
            past = outcome.seconds_past_deadline
            print(
                f"{run:3}  {restored}  {past if past is None else round(past, 1):>15}  "
                f"{len(outcome.modified):8}  {outcome.schedules_left:14}",
                flush=True,
            )
            worst_past = max(worst_past, past if past is not None else float("inf"))
            modified += len(outcome.modified)
            left += outcome.schedules_left
            time.sleep(args.rest)
        print(
            f"runs {run} ({attempts} attempts), deadline {args.deadline} s: functions left "
            f"modified "
            f"{modified}, schedules left {left}, worst seconds past the deadline "
            f"{worst_past:.1f} (bound 60)"
        )


if __name__ == "__main__":
    main()
