"""Interrupt `chaos run` of the shipped reference experiment at random points: what is left behind.

Command (what produced the figures in the report):

    .venv/bin/python benchmarks/resilience_interruption.py --runs 20

For each signal (SIGINT, SIGTERM, SIGKILL) ``--runs`` times, with the
``safe_interrupt`` control (``chaos run --control-file``), and SIGTERM ``--runs``
times more with chaoslib alone (the baseline): deploys the lab's reference
stack into an in-process moto server (functions hardened with an extra layer,
variables and a planted secret), runs the method and rollbacks of
``experiments/region-failure.json`` unchanged (see
``tests/support/interruption.py``), sends the signal at a random point
after the method starts (40% among the injections, the rest while
``wait_for_failover`` polls), and compares every function with its picture
from before. After SIGKILL, ``chaosaws-serverless rollback`` runs first.

``--with-load``: the method first starts the customers' load as a background
activity (``loadgen.actions.generate_load``, 20 req/s for 120 s, on a local
API), as the catalog's ``method/customer-load`` piece does.

Columns: runs; functions left modified (after exit, or after the rollback CLI
for SIGKILL; must be 0); runs where a fault was in place when the signal hit
(SIGKILL: seen before the rollback CLI); journal status "interrupted";
activities started after the signal; worst seconds from signal to exit; worst
wall time of a run (chaos start-up included).
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: tests.support

from tests.support import interruption


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="interruptions per signal")
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument(
        "--baseline-runs", type=int, help="SIGTERM runs with chaoslib alone (default --runs)"
    )
    parser.add_argument(
        "--with-load",
        action="store_true",
        help="the method starts a 120 s background customer load (loadgen) on a local API",
    )
    args = parser.parse_args()
    os.environ.update(interruption.ENV)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    import logzero

    logzero.loglevel(logging.WARNING)
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    rng = random.Random(args.seed)
    baseline = args.runs if args.baseline_runs is None else args.baseline_runs
    cases = [
        ("SIGINT", signal.SIGINT, True, args.runs),
        ("SIGTERM", signal.SIGTERM, True, args.runs),
        ("SIGKILL", signal.SIGKILL, True, args.runs),
        ("SIGTERM", signal.SIGTERM, False, baseline),
    ]
    api = interruption.LocalApi() if args.with_load else None
    rows = []
    failures = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        stack = interruption.deploy_stack(url, Path(tmp), load_url=api.url if api else None)
        for label, signum, control, runs in cases:
            if not runs:
                continue
            outcomes = []
            for index in range(runs):
                delay = interruption.random_delay(rng)
                outcome = interruption.run_once(
                    stack,
                    signum,
                    delay,
                    control=control,
                    run_id=f"{label}-{control}-{index}",
                    exit_timeout_seconds=300,
                )
                outcomes.append(outcome)
                if outcome.modified:
                    failures.append((label, control, delay, outcome.modified, outcome.output))
                print(
                    f"  {label:7} control={control!s:5} #{index:02d} delay {delay:5.2f} s "
                    f"exit {outcome.exit_code} status {outcome.status or '-':11} "
                    f"left modified {len(outcome.modified)}",
                    file=sys.stderr,
                    flush=True,
                )
            faulted = sum(
                1
                for o in outcomes
                if (o.modified_at_kill if signum == signal.SIGKILL else o.rollbacks_restored)
            )
            rows.append(
                (
                    label,
                    "safe_interrupt" if control else "chaoslib only",
                    len(outcomes),
                    sum(len(o.modified) for o in outcomes),
                    faulted,
                    "-"
                    if signum == signal.SIGKILL
                    else str(sum(1 for o in outcomes if o.status == "interrupted")),
                    "-"
                    if signum == signal.SIGKILL
                    else str(sum(o.activities_after_signal for o in outcomes)),
                    max(o.seconds_to_exit for o in outcomes),
                    max(o.wall_seconds for o in outcomes),
                )
            )
    server.stop()
    if api:
        api.close()
    header = (
        "signal",
        "control",
        "runs",
        "functions left modified",
        "runs with a fault in place",
        "status interrupted",
        "activities after signal",
        "worst s to exit",
        "worst wall s",
    )
    load = ", 120 s background customer load" if args.with_load else ""
    print(
        f"\nInterrupted `chaos run` of region-failure.json{load} "
        f"({time.monotonic() - started:.0f} s)"
    )
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        cells = [f"{c:.2f}" if isinstance(c, float) else str(c) for c in row]
        print("| " + " | ".join(cells) + " |")
    print(
        "\nruns with a fault in place: rollbacks that restored something (SIGINT/SIGTERM) or "
        "functions found modified after the kill, before `chaosaws-serverless rollback` (SIGKILL)"
    )
    for label, control, delay, modified, output in failures:
        print(f"\nLEFT MODIFIED: {label} control={control} delay={delay:.2f}: {modified}")
        print(output[-3000:])
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
