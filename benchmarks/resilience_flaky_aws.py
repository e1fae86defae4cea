"""Inject → rollback through a flaky AWS (the fault proxy): is every function exactly restored?

Command (what produced the figures in the report):

    .venv/bin/python benchmarks/resilience_flaky_aws.py --runs 50 --fault-rate 0.2

Creates ``--functions`` functions on an in-process moto server (layers
already attached, a planted secret, every third with an alias ``live``; see
``tests/support/flaky.py``), then runs ``--runs`` rounds: every function
in parallel threads (as background activities run) gets ``inject_latency`` or
``inject_error`` (on the alias for half the aliased ones) and then
``remove_faults``, the package talking to moto through the fault proxy
(``tests/support/faultproxy.py``): ``--fault-rate`` of all calls answered
with throttling, 500, 409 "update in progress" (Lambda writes), a dropped
connection, or a write applied and its answer dropped. Reference rounds at 0%
faults run first, in the same process, for the wall-time ratio.

Columns: rounds; functions left modified after a round (must be 0); activity
errors (an injection or rollback that gave up after its retries); calls
answered with a fault; calls retried (botocore's retries, counted from the
``amz-sdk-request: attempt=N`` header, plus the package's own 409/429
retries); median and worst wall time of a round, and worst/median of the
0%-fault reference.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: tests.support

from tests.support import flaky, interruption
from tests.support.faultproxy import FaultProxy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--fault-rate", type=float, default=0.2)
    parser.add_argument("--functions", type=int, default=8)
    parser.add_argument("--reference-runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    os.environ.update(interruption.ENV)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    import logzero

    logzero.loglevel(logging.ERROR)
    from moto.server import ThreadedMotoServer

    from chaosaws_serverless.awslambda.engine import calls

    package_retries = Counter()
    backoff = calls.backoff_seconds

    def counted_backoff(attempt: int) -> float:
        package_retries["n"] += 1
        return backoff(attempt)

    calls.backoff_seconds = counted_backoff  # type: ignore[assignment]

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    fleet = flaky.create_fleet(url, args.functions, secret="planted-secret-benchmark")
    rows = []
    problems = []
    started = time.monotonic()
    for label, rate, runs in (
        ("reference", 0.0, args.reference_runs),
        ("flaky", args.fault_rate, args.runs),
    ):
        package_retries.clear()
        with FaultProxy(url, fault_rate=rate, seed=args.seed) as proxy:
            rounds = []
            for index in range(runs):
                result = flaky.run_round(fleet, proxy, args.seed + index)
                rounds.append(result)
                if result.modified or result.errors:
                    problems.append((label, index, result.modified, result.errors))
                print(
                    f"  {label} #{index:02d} {result.wall_seconds:5.2f} s {result.proxy} "
                    f"modified {len(result.modified)} errors {len(result.errors)}",
                    file=sys.stderr,
                    flush=True,
                )
            stats = proxy.stats
        walls = [r.wall_seconds for r in rounds]
        rows.append(
            {
                "rounds": runs,
                "label": f"{label} ({rate:.0%} faults)",
                "left modified": sum(len(r.modified) for r in rounds),
                "activity errors": sum(len(r.errors) for r in rounds),
                "calls": stats.requests,
                "faulted": stats.faults,
                "kinds": dict(stats.injected),
                "retried": stats.retried + package_retries["n"],
                "retried_botocore": stats.retried,
                "retried_package": package_retries["n"],
                "median": statistics.median(walls),
                "worst": max(walls),
            }
        )
    server.stop()
    reference = rows[0]
    print(
        f"\nInject → rollback, {args.functions} functions in parallel per round, us-east-1 "
        f"({time.monotonic() - started:.0f} s in all)"
    )
    header = (
        "rounds",
        "AWS",
        "functions left modified",
        "activity errors",
        "calls",
        "answered with a fault",
        "calls retried (botocore + package)",
        "median wall s",
        "worst wall s",
        "worst vs reference median",
    )
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print(
            f"| {row['rounds']} | {row['label']} | {row['left modified']} | "
            f"{row['activity errors']} | {row['calls']} | {row['faulted']} | "
            f"{row['retried']} ({row['retried_botocore']} + {row['retried_package']}) | "
            f"{row['median']:.2f} | {row['worst']:.2f} | "
            f"{row['worst'] / reference['median']:.1f}x |"
        )
    print(f"\nfaults by kind: {rows[-1]['kinds']}")
    for label, index, modified, errors in problems:
        print(f"\nPROBLEM in {label} round {index}: modified={modified} errors={errors}")
    sys.exit(1 if any(p[2] for p in problems) else 0)


if __name__ == "__main__":
    main()
