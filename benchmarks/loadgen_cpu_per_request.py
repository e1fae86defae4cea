"""CPU per request of each HTTP client of the load generator, at one fixed rate.

Command (what produced the figures in the README; about 1 minute):

    .venv/bin/python benchmarks/loadgen_cpu_per_request.py --rate 6000
    .venv/bin/python benchmarks/loadgen_cpu_per_request.py --tls --rate 3000 --clients httptools

Same set-up as ``loadgen_throughput.py`` (nginx with one worker on CPU 1, the generator
pinned to CPU 0, loopback; ``--tls``: nginx over HTTPS with a throwaway certificate). Each
client runs ``--seconds`` at ``--rate`` in its own process; the figure is the process's
CPU time (user + system, every thread, from ``getrusage``) divided by the requests sent,
and its ratio to the first client measured in the same run. Per 1 s interval it also
prints what was shed and the p99, so the cost of the first second (the pool's first
connections, TLS handshakes) shows apart from the steady state. A run that shed is
marked: its figure is a saturated generator's.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import loadgen_throughput as bench

ROOT = Path(__file__).resolve().parents[1]


def measure(url: str, rate: float, seconds: float, client: str) -> dict[str, Any]:
    """One run in this process (pinned by the parent); returns the figures."""
    sys.path.insert(0, str(ROOT))
    from chaosaws_serverless.loadgen.config import LoadConfig
    from chaosaws_serverless.loadgen.engine import run_load_sync

    config = LoadConfig(
        url=url,
        rate_per_second=rate,
        duration_seconds=seconds,
        interval_seconds=1.0,
        http_client=client,
        verify_tls=False,  # the --tls run's throwaway certificate
    )
    intervals: list[dict[str, Any]] = []

    def on_interval(interval: Any) -> None:
        intervals.append({"shed": interval.shed, "p99_ms": interval.latency_ms()["p99"]})

    before = resource.getrusage(resource.RUSAGE_SELF)
    summary = run_load_sync(config, handle_signals=False, on_interval=on_interval)
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "client": summary["http_client"],
        "sent": summary["sent"],
        "shed": summary["shed"],
        "p99_ms": summary["latency_ms"]["p99"],
        "cpu_us_per_request": round(cpu / max(1, summary["sent"]) * 1e6, 1),
        "intervals": intervals,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=6000.0)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--clients", default="httptools,aiohttp")
    parser.add_argument("--tls", action="store_true")
    parser.add_argument("--measure", nargs=2, metavar=("URL", "CLIENT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure[0], args.rate, args.seconds, args.measure[1])))
        return

    print("command: " + " ".join([os.path.relpath(sys.executable, ROOT), *sys.argv]))
    bench.ensure_tools()
    print(f"machine before: {bench.machine_facts()}")
    results = []
    with tempfile.TemporaryDirectory(prefix="loadgen-cpu-") as tmp:
        nginx, url = bench.start_nginx(Path(tmp), args.tls)
        try:
            for client in args.clients.split(","):
                out = subprocess.run(
                    [*bench.taskset(0), sys.executable, __file__, "--measure", url, client,
                     "--rate", str(args.rate), "--seconds", str(args.seconds)],
                    capture_output=True, text=True, check=True, cwd=ROOT,
                ).stdout  # fmt: skip
                results.append(json.loads(out.strip().splitlines()[-1]))
        finally:
            nginx.terminate()
            nginx.wait(10)
    reference = results[0]["cpu_us_per_request"]
    print(f"{url}: {args.rate:g} req/s for {args.seconds:g} s, generator on CPU 0")
    for r in results:
        first, rest = r["intervals"][0], r["intervals"][1:]
        print(
            f"  {r['client']:>9}: {r['cpu_us_per_request']:>6} us/request "
            f"({r['cpu_us_per_request'] / reference:.2f}x {results[0]['client']}), sent "
            f"{r['sent']}, shed {r['shed']}{' (SATURATED)' if r['shed'] else ''}, p99 "
            f"{r['p99_ms']} ms; first second: shed {first['shed']}, p99 {first['p99_ms']} ms; "
            f"then: shed {sum(i['shed'] for i in rest)}, p99 at most "
            f"{max((i['p99_ms'] or 0) for i in rest) if rest else '-'} ms"
        )
    print(f"machine after: {bench.machine_facts()}")


if __name__ == "__main__":
    main()
