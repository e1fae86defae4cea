"""Read a run's timeline from CloudWatch: the series each panel of the PNG draws.

The panels are those of the reference dashboard: Route 53 health per region
(``AWS/Route53 HealthCheckStatus``, in us-east-1), requests answered per region
(``region_<region>``) and the status codes customers got in each client region
(``status_*``), with the journal's events marked. Clients come from ``aws.py``
with the run's configuration and secrets: a real account, the lab or any
endpoint.
"""

from __future__ import annotations

import itertools
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from chaosaws_serverless import aws, metric_names
from chaosaws_serverless.errors import aws_errors

__all__ = ["Marker", "Series", "TimelineData", "read_timeline"]

STATUS_COLOURS = {
    metric_names.STATUS_2XX: "tab:green",
    metric_names.STATUS_4XX: "tab:orange",
    metric_names.STATUS_5XX: "tab:red",
    metric_names.STATUS_TIMEOUT: "tab:purple",
    metric_names.STATUS_CONNECT_ERROR: "tab:brown",
}
REGION_COLOURS = ["tab:blue", "tab:orange", "tab:green", "tab:red"]
# CloudWatch keeps 1 s datapoints 3 hours, then only 1 min aggregates.
HIGH_RESOLUTION_SECONDS = 3 * 3600 - 300


@dataclass
class Series:
    """Per-second values of one line of the timeline."""

    label: str
    points: dict[float, float] = field(default_factory=dict)  # epoch second -> value
    # epoch second -> requests per second over the publishing interval starting then
    rates: dict[float, float] = field(default_factory=dict)


@dataclass
class Marker:
    label: str
    time: float
    colour: str


@dataclass
class TimelineData:
    """Everything one PNG shows, read from CloudWatch."""

    start: float
    end: float
    health: dict[str, Series]  # region -> 1/0
    served: dict[str, Series]  # answering region -> requests
    statuses: dict[str, dict[str, Series]]  # client region -> status metric -> count
    markers: list[Marker] = field(default_factory=list)
    url: str = ""
    title: str = ""
    origin: float = 0.0  # the x axis counts seconds from here (the run's start)
    period_seconds: int = 1

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
    secrets: dict[str, Any] | None = None,
    client_regions: Iterable[str] = (),
    metrics_region: str | None = None,
) -> TimelineData:
    """Read the run's metrics from CloudWatch for ``[start, end]`` (epoch seconds).

    The load generator's counts are read in ``metrics_region`` (default the
    configuration's ``aws_region``), Route 53's in us-east-1. Series are found
    with ListMetrics and, because ListMetrics lags on AWS, also asked for by the
    names the load generator publishes for ``client_regions``. High-resolution
    data is kept 3 hours: older runs are read with 60 s periods.
    """
    period = 1 if time.time() - start < HIGH_RESOLUTION_SECONDS else 60
    region = aws.resolve_region(metrics_region, configuration)
    queries = _health_queries(health_check_ids) + _customer_queries(
        aws.client("cloudwatch", region, configuration, secrets),
        region,
        namespace,
        url,
        list(client_regions),
    )
    values = _fetch(queries, configuration, secrets, start, end, period)
    health = {r: Series(r, values.get(f"health|{r}", {})) for r in health_check_ids}
    served, statuses = _customer_series(values, period)
    return TimelineData(
        start, end, health, served, statuses, url=url, origin=start, period_seconds=period
    )


# A query: (key, region, metric, statistic); the key names the series it feeds.
Query = tuple[str, str, dict[str, Any], str]


def _health_queries(health_check_ids: dict[str, str]) -> list[Query]:
    """Return the HealthCheckStatus query of each region's check (Route 53's, in us-east-1)."""
    return [
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
        for region, hc_id in health_check_ids.items()
    ]


def _customer_queries(
    cloudwatch: Any, region: str, namespace: str, url: str, client_regions: list[str]
) -> list[Query]:
    """Return the queries of the load generator's counts for ``url``, per calling region.

    Series are found with ListMetrics and, because ListMetrics lags on AWS, also
    asked for by the names the load generator publishes for ``client_regions``.
    """
    series = _list_metrics(cloudwatch, namespace)
    for calling in client_regions:
        for name in (*STATUS_COLOURS, *(metric_names.region_metric(r) for r in client_regions)):
            expected = [
                {"Name": metric_names.DIMENSION_URL, "Value": url},
                {"Name": metric_names.DIMENSION_CLIENT_REGION, "Value": calling},
            ]
            identity = (name, tuple(sorted((d["Name"], d["Value"]) for d in expected)))
            series.setdefault(
                identity, {"Namespace": namespace, "MetricName": name, "Dimensions": expected}
            )
    queries: list[Query] = []
    for metric in series.values():
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
    return queries


def _fetch(
    queries: list[Query],
    configuration: dict[str, Any],
    secrets: dict[str, Any] | None,
    start: float,
    end: float,
    period: int,
) -> dict[str, dict[float, float]]:
    """Return each query's datapoints in ``[start, end]``, region by region (GetMetricData)."""
    start_dt = datetime.fromtimestamp(start, UTC).replace(microsecond=0)
    end_dt = datetime.fromtimestamp(end, UTC).replace(microsecond=0) + timedelta(seconds=1)
    raw: dict[str, dict[float, float]] = {}
    for where in sorted({q[1] for q in queries}):
        client_api = aws.client("cloudwatch", where, configuration, secrets)
        raw.update(
            _get(client_api, [q for q in queries if q[1] == where], start_dt, end_dt, period)
        )
    return {
        key: {t: v for t, v in points.items() if start - period <= t < end}
        for key, points in raw.items()
    }


def _customer_series(
    values: dict[str, dict[float, float]], period: int
) -> tuple[dict[str, Series], dict[str, dict[str, Series]]]:
    """Return the answering regions' series and each calling region's status series."""
    served: dict[str, Series] = {}
    statuses: dict[str, dict[str, Series]] = defaultdict(dict)
    for key, points in sorted(values.items(), key=lambda item: item[0].startswith("rate:")):
        name, _, client = key.removeprefix("rate:").partition("|")
        if name == "health":
            continue
        if key.startswith("rate:"):
            # 1 s buckets hold one interval each; wider buckets: the Sum over the bucket.
            sums = values.get(key.removeprefix("rate:"), {})
            points = (
                _per_second(points) if period == 1 else {t: v / period for t, v in sums.items()}
            )
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
    # A client region without a single datapoint has no panel: nobody called from there.
    shown = {c: s for c, s in statuses.items() if any(x.points for x in s.values())}
    return {r: s for r, s in served.items() if s.points}, shown


def _per_second(points: dict[float, float]) -> dict[float, float]:
    """Return per-interval counts (1 s buckets) as requests per second.

    The load generator publishes one datapoint per interval (1 s in the lab, 10 s
    by default; zeros included): the interval is the usual gap between them.
    """
    stamps = sorted(points)
    gaps = sorted(b - a for a, b in itertools.pairwise(stamps) if b > a)
    interval = max(1.0, gaps[len(gaps) // 2] if gaps else 1.0)
    return {t: v / interval for t, v in points.items()}


def _list_metrics(cloudwatch: Any, namespace: str) -> dict[tuple[Any, ...], dict[str, Any]]:
    # moto lists a metric once per datapoint: keep one entry per series.
    metrics: dict[tuple[Any, ...], dict[str, Any]] = {}
    with aws_errors("cloudwatch:ListMetrics", f"metrics of namespace {namespace!r}"):
        for page in cloudwatch.get_paginator("list_metrics").paginate(Namespace=namespace):
            for metric in page["Metrics"]:
                dims = tuple(sorted((d["Name"], d["Value"]) for d in metric.get("Dimensions", [])))
                metrics.setdefault((metric["MetricName"], dims), metric)
    return metrics


def _get(
    cloudwatch: Any,
    queries: list[tuple[str, str, dict[str, Any], str]],
    start: datetime,
    end: datetime,
    period: int,
) -> dict[str, dict[float, float]]:
    results: dict[str, dict[float, float]] = {}
    for offset in range(0, len(queries), 100):  # GetMetricData: 500 queries, kept small
        chunk = queries[offset : offset + 100]
        request = [
            {
                "Id": f"q{offset + i}",
                "MetricStat": {"Metric": metric, "Period": period, "Stat": stat},
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
            with aws_errors("cloudwatch:GetMetricData", f"{len(chunk)} metric series"):
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
