"""A PNG timeline of one run, drawn from the emulator's CloudWatch metrics.

The panels are those of the reference dashboards: Route 53 health per region
(``AWS/Route53 HealthCheckStatus``), requests answered per region
(``region_<region>``) and the status codes customers got in each client region
(``status_*``), per second, with the fault's start (and the rollback, and the
failover when there was one) marked.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from chaosaws_serverless import aws, metric_names
from chaosaws_serverless.lab.emulator import FAKE_CREDENTIALS

STATUS_COLOURS = {
    metric_names.STATUS_2XX: "tab:green",
    metric_names.STATUS_4XX: "tab:orange",
    metric_names.STATUS_5XX: "tab:red",
    metric_names.STATUS_TIMEOUT: "tab:purple",
    metric_names.STATUS_CONNECT_ERROR: "tab:brown",
}
REGION_COLOURS = ["tab:blue", "tab:orange", "tab:green", "tab:red"]


@dataclass
class Series:
    """Per-second values of one line of the timeline."""

    label: str
    points: dict[float, float] = field(default_factory=dict)  # epoch second -> value
    rates: dict[float, float] = field(default_factory=dict)  # epoch second -> per interval


@dataclass
class Marker:
    label: str
    time: float
    colour: str


@dataclass
class TimelineData:
    """Everything one PNG shows, read from the emulator."""

    start: float
    end: float
    health: dict[str, Series]  # region -> 1/0
    served: dict[str, Series]  # answering region -> requests
    statuses: dict[str, dict[str, Series]]  # client region -> status metric -> count
    markers: list[Marker] = field(default_factory=list)

    def total(
        self, client_region: str, metrics: Iterable[str], since: float, until: float
    ) -> float:
        chosen = self.statuses.get(client_region, {})
        return sum(
            v
            for name in metrics
            for t, v in chosen.get(name, Series(name)).points.items()
            if since <= t < until
        )


def read_timeline(
    configuration: dict[str, Any],
    *,
    url: str,
    health_check_ids: dict[str, str],
    start: float,
    end: float,
    namespace: str = metric_names.DEFAULT_NAMESPACE,
) -> TimelineData:
    """Read the run's metrics from the emulator's CloudWatch (per-second sums)."""
    start_dt = datetime.fromtimestamp(start, UTC).replace(microsecond=0)
    end_dt = datetime.fromtimestamp(end, UTC).replace(microsecond=0) + timedelta(seconds=1)
    queries: list[tuple[str, str, dict[str, Any], str]] = []
    for region, hc_id in health_check_ids.items():
        queries.append(
            (
                f"health|{region}",
                metric_names.ROUTE53_METRICS_REGION,
                {
                    "Namespace": metric_names.ROUTE53_NAMESPACE,
                    "MetricName": metric_names.HEALTH_CHECK_STATUS,
                    "Dimensions": [{"Name": "HealthCheckId", "Value": hc_id}],
                },
                "Minimum",
            )
        )
    region = metric_names.ROUTE53_METRICS_REGION
    cloudwatch = aws.client("cloudwatch", region, configuration, FAKE_CREDENTIALS)
    for metric in _list_metrics(cloudwatch, namespace):
        dims = {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])}
        if dims.get(metric_names.DIMENSION_URL) != url:
            continue
        client = dims.get(metric_names.DIMENSION_CLIENT_REGION)
        if client is None or set(dims) != {
            metric_names.DIMENSION_URL,
            metric_names.DIMENSION_CLIENT_REGION,
        }:
            continue
        name = metric["MetricName"]
        if name in STATUS_COLOURS or metric_names.region_of_metric(name):
            queries.append((f"{name}|{client}", region, metric, "Sum"))
            # One datapoint per interval: the Average of a bucket is the count of one
            # interval, even when drift puts two intervals in one second.
            queries.append((f"rate:{name}|{client}", region, metric, "Average"))

    values = {
        key: {t: v for t, v in points.items() if start - 1 <= t < end}
        for key, points in _get(cloudwatch, queries, start_dt, end_dt).items()
    }
    health = {r: Series(r, values.get(f"health|{r}", {})) for r in health_check_ids}
    served: dict[str, Series] = {}
    statuses: dict[str, dict[str, Series]] = defaultdict(dict)
    for key, points in sorted(values.items(), key=lambda item: item[0].startswith("rate:")):
        name, _, client = key.removeprefix("rate:").partition("|")
        if name == "health":
            continue
        answering = metric_names.region_of_metric(name)
        if answering:
            line = served.setdefault(answering, Series(answering))
            target = line.rates if key.startswith("rate:") else line.points
            for t, v in points.items():
                target[t] = target.get(t, 0.0) + v
        elif key.startswith("rate:"):
            statuses[client].setdefault(name, Series(name)).rates = points
        else:
            statuses[client][name] = Series(name, points)
    return TimelineData(start, end, health, served, dict(statuses))


def _list_metrics(cloudwatch: Any, namespace: str) -> list[dict[str, Any]]:
    # moto lists a metric once per datapoint: keep one entry per series.
    metrics: dict[tuple[Any, ...], dict[str, Any]] = {}
    for page in cloudwatch.get_paginator("list_metrics").paginate(Namespace=namespace):
        for metric in page["Metrics"]:
            dims = tuple(sorted((d["Name"], d["Value"]) for d in metric.get("Dimensions", [])))
            metrics.setdefault((metric["MetricName"], dims), metric)
    return list(metrics.values())


def _get(
    cloudwatch: Any,
    queries: list[tuple[str, str, dict[str, Any], str]],
    start: datetime,
    end: datetime,
) -> dict[str, dict[float, float]]:
    results: dict[str, dict[float, float]] = {}
    for offset in range(0, len(queries), 100):  # GetMetricData: 500 queries, kept small
        chunk = queries[offset : offset + 100]
        request = [
            {
                "Id": f"q{offset + i}",
                "MetricStat": {"Metric": metric, "Period": 1, "Stat": stat},
                "ReturnData": True,
            }
            for i, (_, _, metric, stat) in enumerate(chunk)
        ]
        by_id = {f"q{offset + i}": key for i, (key, *_rest) in enumerate(chunk)}
        token = None
        while True:
            kwargs: dict[str, Any] = {
                "MetricDataQueries": request,
                "StartTime": start,
                "EndTime": end,
            }
            if token:
                kwargs["NextToken"] = token
            page = cloudwatch.get_metric_data(**kwargs)
            for result in page["MetricDataResults"]:
                points = results.setdefault(by_id[result["Id"]], {})
                for stamp, value in zip(result["Timestamps"], result["Values"], strict=False):
                    second = float(int(stamp.timestamp()))
                    points[second] = points.get(second, 0.0) + float(value)
            token = page.get("NextToken")
            if not token:
                break
    return results


def draw_timeline(data: TimelineData, path: Path, *, title: str) -> Path:
    """Draw ``data`` into a PNG at ``path`` (matplotlib, no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    clients = sorted(data.statuses)
    rows = 2 + max(1, len(clients))
    figure, axes = plt.subplots(rows, 1, figsize=(11, 2.3 * rows + 0.6), sharex=True)
    t0 = data.start

    def xs(points: dict[float, float]) -> tuple[list[float], list[float]]:
        ordered = sorted(points.items())
        return [t - t0 for t, _ in ordered], [v for _, v in ordered]

    def rate(points: dict[float, float]) -> tuple[list[float], list[float]]:
        # The load generator labels an interval by the second it started in, and its
        # intervals start on the data plane's start (+ whole seconds): shift to it.
        ordered = sorted(points.items())
        return [t - int(t0) for t, _ in ordered], [v for _, v in ordered]

    health_axis = axes[0]
    for i, (region, series) in enumerate(sorted(data.health.items())):
        x, y = xs(series.points)
        # Offset the two lines slightly so overlapping "healthy" stays readable.
        shifted = [v + 0.03 * i for v in y]
        health_axis.step(x, shifted, where="post", label=f"{region}", lw=2, color=REGION_COLOURS[i])
    health_axis.set_ylim(-0.15, 1.25)
    health_axis.set_yticks([0, 1], ["unhealthy", "healthy"])
    health_axis.set_title("Route 53 health check status per region (AWS/Route53 HealthCheckStatus)")

    served_axis = axes[1]
    for i, (region, series) in enumerate(sorted(data.served.items())):
        x, y = rate(series.rates)
        served_axis.step(
            x, y, where="post", label=f"answered by {region}", color=REGION_COLOURS[i], lw=1.5
        )
    served_axis.set_ylabel("requests / s")
    served_axis.set_ylim(bottom=0)
    served_axis.set_title("Requests answered per region (all customers)")

    for axis, client in zip(axes[2:], clients or ["(no customers)"], strict=False):
        for name, colour in STATUS_COLOURS.items():
            counts = data.statuses.get(client, {}).get(name)
            if counts is None or not any(counts.points.values()):
                continue
            x, y = rate(counts.rates)
            axis.step(x, y, where="post", label=name.replace("status_", ""), color=colour, lw=1.5)
        axis.set_ylabel("requests / s")
        axis.set_ylim(bottom=0)
        axis.set_title(f"Status codes seen by customers in {client}")

    for axis in axes:
        for marker in data.markers:
            axis.axvline(marker.time - t0, color=marker.colour, ls="--", lw=1.2)
        axis.grid(alpha=0.3)
        if axis.get_legend_handles_labels()[0]:
            axis.legend(loc="upper right", fontsize=8, framealpha=0.8)
    for i, marker in enumerate(sorted(data.markers, key=lambda m: m.time)):
        axes[0].annotate(
            marker.label,
            (marker.time - t0 + 0.2, 0.7 - 0.2 * (i % 3)),  # staggered: close markers overlap
            fontsize=8,
            color=marker.colour,
            rotation=0,
            ha="left",
            va="top",
        )
    axes[-1].set_xlabel("seconds since the data plane started")
    figure.suptitle(title, fontsize=11)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return path
