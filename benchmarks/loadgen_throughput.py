"""Throughput of the load generator on one core, as ratios to wrk and hey in the same run.

Command (what produced the ratios in the README; about 2-3 minutes):

    .venv/bin/python benchmarks/loadgen_throughput.py

Needs nginx, wrk and hey (Debian: ``apt-get update && apt-get install -y nginx wrk hey``;
the script runs exactly that when one is missing and it is root), and the ``load`` extra in
the venv (``pip install -e '.[load]'``: httptools, aiohttp). What it does:

1. prints its command line and the machine: CPU model, cores, load average;
2. starts nginx with ONE worker on 127.0.0.1 (a free port), pinned to CPU 1, answering
   ``/api/hello`` with ``Hello from region us-east-1`` from memory, access log off;
3. reference tools pinned to CPU 0, ``--seconds`` each: ``wrk -t1 -c50`` and
   ``hey -c 50`` (GOMAXPROCS=1), both closed loop: their maximum throughput;
4. the generator pinned to CPU 0 (one worker: a per-core figure), open loop, for each HTTP
   client (httptools, the default; aiohttp, the fallback, as a reference): it climbs
   the rates (doubling from ``--start-rate``, then bisecting to 10 %) and keeps the
   highest rate sustained: < 1 % dropped, ≥ 99 % of the asked rate sent and answered 2xx,
   p99 latency from the intended send time ≤ ``--max-p99-ms`` (default 100), and not
   saturated;
5. a run asked for 3x that rate (with a counting CloudWatch client, 2 s intervals): it must
   report ``saturated`` with the rate it held, publish ``generator_saturated``, and keep
   its p99 out of the seconds (the generator sheds instead of queueing behind itself);
6. a failover at that rate: two fresh nginx (A and B, CPU 1); after 3 s customers resolve to
   B and A stops, so every customer needs a new connection at once (a cross-region failover
   on loopback: a cold start at full rate). Per 100 ms it prints what was due, answered,
   shed, and the connections the pool opened to B, and when it served the full rate again.

Every figure is printed as a ratio to wrk and hey from the same run: absolute req/s
depend on the machine and on what else runs on it (load average printed before/after).
"""

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
NGINX_CONF = """
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    keepalive_requests 10000000;
    keepalive_timeout 65;
    client_body_temp_path {dir};
    proxy_temp_path {dir};
    fastcgi_temp_path {dir};
    uwsgi_temp_path {dir};
    scgi_temp_path {dir};
    server {{
        listen 127.0.0.1:{port}{tls};
        {certificates}
        location /api/hello {{
            default_type text/plain;
            return 200 "Hello from region us-east-1";
        }}
    }}
}}
"""


def ensure_tools() -> None:
    missing = [
        pkg
        for tool, pkg in (("nginx", "nginx"), ("wrk", "wrk"), ("hey", "hey"))
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists()
    ]
    if not missing:
        return
    print(
        f"missing {' '.join(missing)}: running apt-get update && apt-get install -y "
        f"{' '.join(missing)} (Debian; as root)",
        file=sys.stderr,
    )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    # policy-rc.d 101: the package must not start a system nginx on port 80.
    policy = Path("/usr/sbin/policy-rc.d")
    created = not policy.exists()
    if created:
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
    try:
        subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True, env=env)
    finally:
        if created:
            policy.unlink()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def taskset(cpu: int) -> list[str]:
    return ["taskset", "-c", str(cpu)] if (os.cpu_count() or 1) > 1 else []


def start_nginx(workdir: Path, tls: bool) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    conf = workdir / "nginx.conf"
    certificates = ""
    if tls:  # a throwaway self-signed P-256 certificate: clients do not verify it
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=localhost",
             "-keyout", str(workdir / "key.pem"), "-out", str(workdir / "cert.pem")],
            check=True, capture_output=True,
        )  # fmt: skip
        certificates = f"ssl_certificate {workdir}/cert.pem; ssl_certificate_key {workdir}/key.pem;"
    conf.write_text(
        NGINX_CONF.format(
            dir=workdir, port=port, tls=" ssl" if tls else "", certificates=certificates
        )
    )
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    proc = subprocess.Popen([*taskset(1), nginx, "-c", str(conf), "-p", str(workdir)])
    url = f"{'https' if tls else 'http'}://127.0.0.1:{port}/api/hello"
    for _ in range(100):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.1):
                return proc, url
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"nginx did not listen on 127.0.0.1:{port}; see {workdir}/error.log")


def run_wrk(url: str, seconds: float) -> float:
    out = subprocess.run(
        [*taskset(0), "wrk", "-t1", "-c50", f"-d{seconds:g}s", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])  # type: ignore[index]


def run_hey(url: str, seconds: float) -> float:
    out = subprocess.run(
        [*taskset(0), "hey", "-z", f"{seconds:g}s", "-c", "50", url],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "GOMAXPROCS": "1"},
    ).stdout
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])  # type: ignore[index]


def run_generator(
    url: str,
    rate: float,
    seconds: float,
    client: str,
    loop: str,
    publish: bool = False,
    interval: float = 10.0,
    failover: str = "",
) -> dict[str, Any]:
    cmd = [
        *taskset(0),
        sys.executable,
        __file__,
        "--worker",
        url,
        str(rate),
        str(seconds),
        "--client",
        client,
        "--loop",
        loop,
        "--interval",
        str(interval),
    ]
    if publish:
        cmd.append("--count-publish")
    if failover:
        cmd += ["--failover", failover]
    out = subprocess.run(
        cmd, capture_output=True, text=True, check=True, cwd=ROOT, timeout=seconds + 60
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def sustained(summary: dict[str, Any], max_p99_ms: float) -> bool:
    """Return whether a run kept up: < 1 % dropped, all answered, no queue, not saturated.

    Latency counts from the intended send time, so a generator falling behind shows as
    a p99 far above the server's sub-millisecond answers, or as shed requests.
    """
    planned = summary["planned"]
    p99 = summary["latency_ms"]["p99"]
    return (
        summary["dropped"] < 0.01 * planned
        and summary["sent"] >= 0.99 * planned
        and summary["status_2xx"] >= 0.99 * summary["sent"]
        and p99 is not None
        and p99 <= max_p99_ms
        and not summary["saturated"]
    )


def worker(args: argparse.Namespace) -> None:
    """One generator run in this process (pinned by the parent); prints the summary JSON."""
    sys.path.insert(0, str(ROOT))
    if args.loop == "asyncio":
        sys.modules["uvloop"] = None  # type: ignore[assignment]  # makes `import uvloop` fail
    from chaosaws_serverless.loadgen.config import LoadConfig
    from chaosaws_serverless.loadgen.engine import run_load_sync
    from chaosaws_serverless.loadgen.publish import CloudWatchPublisher, NullPublisher

    class CountingCloudWatch:
        def __init__(self) -> None:
            self.calls = 0
            self.saturated_intervals = 0

        def put_metric_data(self, **kwargs: Any) -> None:
            assert len(kwargs["MetricData"]) <= 1000
            self.calls += 1
            self.saturated_intervals += sum(
                1
                for d in kwargs["MetricData"]
                if d["MetricName"] == "generator_saturated" and d["Value"] == 1.0
            )

    config = LoadConfig(
        url=args.url,
        rate_per_second=args.rate,
        duration_seconds=args.seconds,
        client_region="us-east-1",
        interval_seconds=args.interval,
        http_client=args.client,
        verify_tls=False,  # the --tls run's throwaway certificate; plain HTTP ignores it
        # The failover: customers that honour a record's short TTL (as the lab's do).
        dns_cache_seconds=0 if args.failover else 10.0,
    )
    publisher: Any = NullPublisher()
    counting = CountingCloudWatch()
    if args.count_publish:
        publisher = CloudWatchPublisher(counting, "Bench", args.url, "us-east-1")
    extra: dict[str, Any] = {}
    watch = None
    if args.failover:  # PORT_A:PORT_B:PID_A:AT_SECONDS
        port_a, port_b, pid_a, at = args.failover.split(":")
        watch = FailoverWatch(int(port_a), int(port_b), int(pid_a), float(at))
        extra = {"resolve": watch.resolve, "on_interval": watch.interval}
    summary = run_load_sync(config, publisher=publisher, handle_signals=False, **extra)
    summary["published_saturated_intervals"] = counting.saturated_intervals
    if watch is not None:
        summary["failover"] = watch.report()
    print(json.dumps(summary))


class FailoverWatch:
    """In the worker: moves customers from nginx A to B at ``at`` s, records each 100 ms."""

    def __init__(self, port_a: int, port_b: int, pid_a: int, at: float) -> None:
        import threading

        from chaosaws_serverless.loadgen.clients import http1_connection

        self.port, self.at, self.began = port_a, at, time.monotonic()
        self.opened: list[float] = []  # when each connection was made, since the start
        self.rows: list[dict[str, Any]] = []
        made = http1_connection.Connection.connection_made

        def counted(connection: Any, transport: Any) -> None:
            self.opened.append(time.monotonic() - self.began)
            made(connection, transport)

        http1_connection.Connection.connection_made = counted  # type: ignore[method-assign]

        def failover() -> None:
            self.port = port_b
            os.kill(pid_a, signal.SIGTERM)  # nginx's fast shutdown: every connection closes

        threading.Timer(at, failover).start()

    def resolve(self, host: str) -> tuple[str, int]:
        return ("127.0.0.1", self.port)

    def interval(self, stats: Any) -> None:
        self.rows.append(
            {
                "end_s": round(time.monotonic() - self.began, 2),
                "due": stats.sent + stats.dropped,
                "2xx": stats.counts["2xx"],
                "connect_error": stats.counts["connect_error"],
                "timeout": stats.counts["timeout"],
                "shed": stats.shed,
                "p99_ms": stats.latency_ms()["p99"],
            }
        )

    def report(self) -> dict[str, Any]:
        return {"at_s": self.at, "intervals": self.rows, "opened_s": self.opened}


def failover_options(spec: str) -> dict[str, Any]:
    port_a, port_b, pid_a, at = spec.split(":")
    watch = FailoverWatch(int(port_a), int(port_b), int(pid_a), float(at))
    return {"resolve": watch.resolve, "on_interval": watch.interval}


def machine_facts() -> str:
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    return f"{model}, {os.cpu_count()} cores, load average {load} (1/5/15 min)"


def climb(url: str, client: str, args: argparse.Namespace) -> tuple[float, dict[str, Any]] | None:
    """Return the highest sustained rate and its summary (doubling, then bisecting)."""
    best: tuple[float, dict[str, Any]] | None = None
    low, high = 0.0, None
    rate = args.start_rate
    for _ in range(args.max_steps):
        summary = run_generator(url, rate, args.seconds, client, args.loop)
        ok = sustained(summary, args.max_p99_ms)
        print(
            f"  {client:>9} {rate:>8.0f} req/s asked: sent {summary['sent']}, dropped "
            f"{summary['dropped']} (shed {summary['shed']}), p99 {summary['latency_ms']['p99']} ms,"
            f" saturated {summary['saturated']} -> {'ok' if ok else 'NOT sustained'}",
            file=sys.stderr,
        )
        if ok:
            low, best = rate, (rate, summary)
        else:
            high = rate
        if high is None:
            rate = min(rate * 2, args.max_rate)
            if rate == low:
                break
        else:
            if high - low <= 0.1 * high:
                break
            rate = round((low + high) / 2, -2)
            if rate <= 0:
                break
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", nargs=3, metavar=("URL", "RATE", "SECONDS"))
    parser.add_argument("--seconds", type=float, default=4.0, help="per run (default 4)")
    parser.add_argument("--start-rate", type=float, default=2000.0)
    parser.add_argument("--max-rate", type=float, default=80_000)
    parser.add_argument("--max-steps", type=int, default=7, help="runs per client's climb")
    parser.add_argument("--max-p99-ms", type=float, default=100.0)
    parser.add_argument("--clients", default="httptools,aiohttp")
    parser.add_argument("--client", default="auto", help=argparse.SUPPRESS)
    parser.add_argument("--loop", choices=["uvloop", "asyncio"], default="uvloop")
    parser.add_argument("--interval", type=float, default=10.0)
    parser.add_argument("--count-publish", action="store_true")
    parser.add_argument("--failover", default="", help=argparse.SUPPRESS)
    parser.add_argument(
        "--tls", action="store_true", help="nginx over HTTPS (self-signed), like API Gateway"
    )
    args = parser.parse_args()
    if args.worker:
        args.url, rate, seconds = args.worker
        args.rate, args.seconds = float(rate), float(seconds)
        worker(args)
        return

    print("command: " + " ".join([os.path.relpath(sys.executable, ROOT), *sys.argv]))
    ensure_tools()
    with tempfile.TemporaryDirectory(prefix="loadgen-bench-") as tmp:
        nginx, url = start_nginx(Path(tmp), args.tls)
        try:
            capacity, client = report(url, args)
        finally:
            nginx.terminate()
            nginx.wait(10)
        report_failover(Path(tmp), capacity, client, args)
        print(f"machine after: {machine_facts()}")


def report(url: str, args: argparse.Namespace) -> tuple[float, str]:
    seconds = args.seconds
    print(f"machine before: {machine_facts()}")
    print(f"target: nginx 1 worker on CPU 1, {url}; clients on CPU 0; {seconds:g} s per run")
    wrk = run_wrk(url, seconds)
    hey = run_hey(url, seconds)
    best: dict[str, tuple[float, dict[str, Any]] | None] = {}
    for client in args.clients.split(","):
        best[client] = climb(url, client, args)
    rows = [
        ("client (CPU 0, loopback, nginx 1 worker)", "mode", "req/s", "x wrk", "x hey", "p99 ms"),
        ("wrk -t1 -c50", "closed loop", f"{wrk:,.0f}", "1.00", f"{wrk / hey:.2f}", ""),
        ("hey -c 50 (GOMAXPROCS=1)", "closed loop", f"{hey:,.0f}", f"{hey / wrk:.2f}", "1.00", ""),
    ]
    for client, found in best.items():
        mode = f"open loop, <1% dropped, p99<={args.max_p99_ms:g} ms"
        if found is None:
            rows.append((f"loadgen {client}", mode, "none sustained", "", "", ""))
            continue
        rate, summary = found
        rows.append(
            (
                f"loadgen {client} ({summary['event_loop']}, 1 worker)",
                mode,
                f"{rate:,.0f}",
                f"{rate / wrk:.2f}",
                f"{rate / hey:.2f}",
                str(summary["latency_ms"]["p99"]),
            )
        )
    print()
    print_table(rows)
    primary = next((c for c in best if best[c] is not None), None)
    if primary is None:
        raise SystemExit("the generator sustained none of the rates tried")
    capacity = best[primary][0]  # type: ignore[index]
    over = run_generator(url, 3 * capacity, max(seconds, 6.0), primary, args.loop, True, 2.0)
    p99 = over["latency_ms"]["p99"] or 0.0
    print()
    print(
        f"asked 3x capacity ({primary}, {3 * capacity:,.0f} req/s): saturated "
        f"{over['saturated']} ({over['saturated_intervals']}/{over['intervals']} intervals, "
        f"published generator_saturated=1 in {over['published_saturated_intervals']}), held "
        f"{over['held_rate_per_second']:,.0f} req/s = {over['held_rate_per_second'] / wrk:.2f}x "
        f"wrk, shed {over['shed']} of {over['planned']}, p99 {p99:.0f} ms "
        f"({'no multi-second p99' if p99 < 1000 else 'MULTI-SECOND p99'})"
    )
    return capacity, primary


def report_failover(workdir: Path, rate: float, client: str, args: argparse.Namespace) -> None:
    """Step 6: all customers move to another server at once, at the sustained rate."""
    (workdir / "a").mkdir()
    (workdir / "b").mkdir()
    nginx_a, url_a = start_nginx(workdir / "a", args.tls)
    nginx_b, url_b = start_nginx(workdir / "b", args.tls)
    port_b = urlsplit(url_b).port
    at, seconds = 3.0, 6.0
    try:
        spec = f"{urlsplit(url_a).port}:{port_b}:{nginx_a.pid}:{at}"
        summary = run_generator(url_a, rate, seconds, client, args.loop, False, 0.1, spec)
    finally:
        for proc in (nginx_a, nginx_b):
            proc.terminate()
            proc.wait(10)
    watch = summary["failover"]
    print()
    print(
        f"failover at {at:g} s ({client}, {rate:,.0f} req/s; nginx A stopped, customers resolve "
        "to B): per 100 ms, due / 2xx / connect_error / shed / p99 ms / connections opened"
    )
    rows = watch["intervals"]
    after = [r for r in rows if r["end_s"] > at - 0.2 and r["end_s"] <= at + 1.5]
    for row in after:
        opened = sum(1 for t in watch["opened_s"] if row["end_s"] - 0.1 < t <= row["end_s"])
        print(
            f"  {row['end_s'] - at:+5.1f} s: {row['due']:>5} / {row['2xx']:>5} / "
            f"{row['connect_error']:>3} / {row['shed']:>4} / {row['p99_ms']} / {opened}"
        )
    later = [t - at for t in watch["opened_s"] if t > at]
    clean = next(
        (r for r in rows if r["end_s"] > at and all(
            later_row["shed"] == 0 for later_row in rows if later_row["end_s"] >= r["end_s"]
        )),
        None,
    )  # fmt: skip
    first_opened = sum(1 for t in watch["opened_s"] if t <= at)
    shed_after = sum(r["shed"] for r in rows if at < r["end_s"] <= at + 1.0)
    print(
        f"connections opened: {first_opened} before the failover; {len(later)} to B after it, "
        f"the last {max(later, default=0.0) * 1000:.0f} ms after; shed in the second after it: "
        f"{shed_after}; nothing shed from {((clean or {}).get('end_s', 0.0) - at) * 1000:.0f} ms "
        "after it to the end"
        if clean
        else f"connections opened: {first_opened} + {len(later)}; still shedding at the end"
    )


def print_table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


if __name__ == "__main__":
    main()
