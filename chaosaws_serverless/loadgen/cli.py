"""``chaosaws-serverless load``: customers from this machine, with a live progress line."""

import json
import os
import sys
from typing import Any, Optional

import click

from chaosaws_serverless.extras import needs_extra
from chaosaws_serverless.loadgen.config import HTTP_CLIENTS
from chaosaws_serverless.options import check_region, name_options

__all__ = ["load"]


def _parse_resolve(values: tuple[str, ...]) -> dict[str, tuple[str, Optional[int]]]:
    """Return host -> (ip, port) from curl-like ``HOST:IP[:PORT]`` options."""
    table: dict[str, tuple[str, Optional[int]]] = {}
    for value in values:
        parts = value.split(":")
        if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
            raise click.BadParameter(f"expected HOST:IP or HOST:IP:PORT, got {value!r}")
        port = None
        if len(parts) == 3:
            if not parts[2].isdigit() or not 0 < int(parts[2]) < 65536:
                raise click.BadParameter(f"port must be 1..65535 in {value!r}")
            port = int(parts[2])
        table[parts[0]] = (parts[1], port)
    return table


@click.command("load")
@click.option("--url", required=True, help="URL the customers call (http:// or https://).")
@click.option("--rate", "rate_per_second", type=float, required=True, help="Requests per second.")
@click.option("--duration", "duration_seconds", type=float, required=True, help="Seconds.")
@click.option("--client-region", help="ClientRegion dimension (default: the AWS region).")
@click.option(
    "--publish",
    type=click.Choice(["none", "cloudwatch", "emf"]),
    default="none",
    show_default=True,
    help="Where per-interval counts go.",
)
@click.option("--namespace", help="CloudWatch namespace (default ChaosServerless).")
@click.option("--region", callback=check_region, help="AWS region of the CloudWatch metrics.")
@click.option("--endpoint-url", help="AWS endpoint (the lab, a moto server).")
@click.option(
    "--timeout",
    "timeout_seconds",
    type=float,
    default=5.0,
    show_default=True,
    help="Seconds a request may take; a slower one counts as status_timeout.",
)
@click.option(
    "--interval",
    "interval_seconds",
    type=float,
    default=10.0,
    show_default=True,
    help="Seconds per published interval of counts (and per progress line).",
)
@click.option("--max-in-flight", type=int, default=0, help="0: rate x timeout, at least 100.")
@click.option(
    "--storage-resolution",
    type=click.Choice(["1", "60"]),
    default="1",
    show_default=True,
    help="CloudWatch storage resolution of the published counts, in seconds: 1 (high "
    "resolution, what the probes' 10 s periods read) or 60 (standard, cheaper).",
)
@click.option(
    "--resolve",
    "resolve_options",
    multiple=True,
    metavar="HOST:IP[:PORT]",
    help="Send HOST to IP (and PORT), like curl --resolve; repeatable.",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 256),
    default=None,
    help="Worker processes sharing the rate, merged into one summary and one publish per "
    "interval (default: one per usable core).",
)
@click.option(
    "--http-client",
    type=click.Choice(HTTP_CLIENTS),
    default="auto",
    show_default=True,
    help="HTTP client (auto: httptools, the cheapest per request; aiohttp for HEAD or a proxy).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@needs_extra("load")
def load(
    endpoint_url: Optional[str],
    max_in_flight: int,
    storage_resolution: str,
    resolve_options: tuple[str, ...],
    workers: Optional[int],
    http_client: str,
    as_json: bool,
    **shared: Any,  # url, rate_per_second, ..., region: generate_load's arguments, same names
) -> None:
    """Send open-loop customer traffic and print a summary table (Ctrl-C stops cleanly)."""
    from dataclasses import replace

    from chaoslib.exceptions import ActivityFailed

    from chaosaws_serverless.loadgen.actions import load_config, make_publisher
    from chaosaws_serverless.loadgen.config import DEFAULT_REGION_PATTERN, LoadConfigError
    from chaosaws_serverless.loadgen.engine import run_load_sync
    from chaosaws_serverless.loadgen.workers import run_load_workers

    table = _parse_resolve(resolve_options)
    configuration: dict[str, Any] = {}
    if endpoint_url:
        configuration["aws_endpoint_url"] = endpoint_url
    if shared["region"]:
        configuration["aws_region"] = shared["region"]
    try:
        config = load_config(
            **shared,
            storage_resolution=int(storage_resolution),
            region_pattern=DEFAULT_REGION_PATTERN,
            configuration=configuration,
        )
        config = replace(config, max_in_flight=max_in_flight, http_client=http_client)
        publisher = make_publisher(shared["publish"], config, shared["region"], configuration, {})
    except (ActivityFailed, LoadConfigError) as error:
        command = click.get_current_context().command
        raise click.UsageError(name_options(str(error), command)) from error

    def resolve(host: str) -> Any:
        if host not in table:
            return None
        ip, port = table[host]
        return ip if port is None else (ip, port)

    live = sys.stderr.isatty() and not as_json
    workers = workers or default_workers()
    if workers == 1:
        summary = run_load_sync(
            config,
            publisher=publisher,
            on_progress=_progress_line if live else None,
            resolve=resolve if table else None,
        )
    else:
        summary = run_load_workers(
            config,
            workers,
            publisher=publisher,
            on_progress=_progress_line if live else None,
            resolve_table=table or None,
        )
    if live:
        click.echo("", err=True)
    click.echo(json.dumps(summary, indent=2) if as_json else summary_table(summary))


def default_workers() -> int:
    """Return one worker per core this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def _progress_line(snapshot: dict[str, Any]) -> None:
    counts = snapshot["counts"]
    p99 = snapshot["latency_ms"]["p99"]
    line = (
        f"\r{snapshot['elapsed_seconds']:7.1f}s  sent {snapshot['sent']:>8}  "
        f"2xx {counts['2xx']:>8}  4xx {counts['4xx']:>6}  5xx {counts['5xx']:>6}  "
        f"timeout {counts['timeout']:>6}  conn {counts['connect_error']:>6}  "
        f"in-flight {snapshot['in_flight']:>5}  dropped {snapshot['dropped']:>6}  "
        f"p99 {'-' if p99 is None else f'{p99:.1f} ms':>10}"
    )
    if snapshot.get("saturated"):
        # Never silently valid: the figures on this line measure the generator too.
        line += (
            f"  SATURATED: generator holds {snapshot['held_rate_per_second']:,.0f} req/s, "
            f"shed {snapshot['shed']}"
        )
    sys.stderr.write(line)
    sys.stderr.flush()


def summary_table(summary: dict[str, Any]) -> str:
    """Return the final table of a run's summary."""
    completed = summary["completed"] or 1
    rows = [
        ("url", summary["url"]),
        ("client region", summary["client_region"] or "-"),
        (
            "planned / sent / dropped",
            f"{summary['planned']} / {summary['sent']} / {summary['dropped']}",
        ),
        (
            "achieved rate",
            f"{summary['achieved_rate_per_second']} req/s (asked {summary['rate_per_second']})",
        ),
    ]
    if summary.get("saturated"):
        rows.append(
            (
                "SATURATED",
                f"the generator could not keep the asked rate in {summary['saturated_intervals']} "
                f"of {summary['intervals']} intervals: it held "
                f"{summary['held_rate_per_second']} req/s and shed {summary['shed']}; "
                "latency and counts measure the generator, not only the API",
            )
        )
    for key in (
        "status_2xx",
        "status_4xx",
        "status_5xx",
        "status_timeout",
        "status_connect_error",
        "status_invalid_response",
        "status_other",
    ):
        rows.append((key, f"{summary[key]:>8}  {100 * summary[key] / completed:6.2f} %"))
    for answering, count in summary["regions"].items():
        rows.append((f"answered by {answering}", f"{count:>8}  {100 * count / completed:6.2f} %"))
    latency = summary["latency_ms"]
    rows.append(
        (
            "latency ms p50/p90/p99/max",
            " / ".join("-" if v is None else f"{v:.1f}" for v in latency.values()),
        )
    )
    lag = summary.get("generator_lag_ms")
    if lag is not None:
        rows.append(
            (
                "generator lag ms slip/loop",
                f"{lag['send_slip_max']:.1f} / {lag['loop_lag_max']:.1f} (max)",
            )
        )
    rows.append(("event loop", summary["event_loop"]))
    if "http_client" in summary:
        rows.append(
            ("http client / workers", f"{summary['http_client']} / {summary.get('workers', 1)}")
        )
    if "put_metric_data_calls" in summary:
        rows.append(
            (
                "PutMetricData calls (failed)",
                f"{summary['put_metric_data_calls']} ({summary['failed_calls']})",
            )
        )
    if "emf_lines" in summary:
        rows.append(("EMF lines", str(summary["emf_lines"])))
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)
