"""Read CloudWatch metrics the portable way: raw sums and newest datapoints.

Pure helpers plus thin query functions shared by the CloudWatch and Route 53
probes. Ratios are computed by the callers from raw sums because metric math
(``Expression`` queries) is not answered by every CloudWatch-compatible
endpoint (moto returns nothing for it).

Query period
    ``metric_period_seconds`` in the configuration wins (1, 5, 10, 30 or a
    multiple of 60). Otherwise AWS-published namespaces (``AWS/...``, standard
    resolution) are read with 60 s periods and the load generator's namespace,
    published at high resolution (1 s storage, ``generate_load``'s default
    ``storage_resolution``), with 10 s periods.

Window
    ``[now - 1 s - window_seconds, now - 1 s]``: the end is clamped one second
    into the past because the current second is still filling (and moto never
    returns its datapoints).

Series selection
    A filter such as ``{"Url": url}`` matches every series whose dimensions
    include it. Among those with data, only the most aggregated ones (fewest
    dimensions) are summed, so a publisher that writes both an aggregate and a
    per-client-region copy is not counted twice.
"""

import contextlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Optional

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration

from chaosaws_serverless.errors import aws_errors

__all__ = [
    "MAX_WINDOW_SECONDS",
    "Series",
    "Window",
    "as_seconds",
    "find_series",
    "most_aggregated",
    "newest_values",
    "period_for",
    "require_text",
    "sums",
    "window_for",
]

# High-resolution datapoints are kept 3 hours; beyond that a window mixes resolutions.
MAX_WINDOW_SECONDS = 3 * 3600
_HIGH_RESOLUTION_PERIODS = (1, 5, 10, 30)
_QUERIES_PER_CALL = 500  # GetMetricData limit


@dataclass(frozen=True, order=True)
class Series:
    """One CloudWatch metric series: namespace, name and its exact dimension set.

    Two series are equal whatever the order of their dimensions (as in
    CloudWatch); queries keep the publisher's order because moto's
    GetMetricData only matches dimensions in the order they were written.
    """

    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...]
    ordered: tuple[tuple[str, str], ...] = field(compare=False, default=())

    @classmethod
    def of(cls, namespace: str, name: str, dimensions: Mapping[str, str]) -> "Series":
        ordered = tuple((str(k), str(v)) for k, v in dimensions.items())
        return cls(namespace, name, tuple(sorted(ordered)), ordered)

    def dimension(self, name: str) -> Optional[str]:
        return dict(self.dimensions).get(name)

    def as_metric(self) -> dict[str, Any]:
        return {
            "Namespace": self.namespace,
            "MetricName": self.name,
            "Dimensions": [{"Name": k, "Value": v} for k, v in self.ordered or self.dimensions],
        }


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime
    period_seconds: int


def period_for(namespace: str, configuration: Optional[Configuration]) -> int:
    """Return the query period in seconds for ``namespace`` (see the module docstring)."""
    configured = (configuration or {}).get("metric_period_seconds")
    if configured is None:
        return 60 if namespace.startswith("AWS/") else 10
    try:
        period = int(configured)
    except (TypeError, ValueError):
        period = -1
    if period not in _HIGH_RESOLUTION_PERIODS and (period <= 0 or period % 60):
        raise ActivityFailed(
            f"configuration 'metric_period_seconds' must be 1, 5, 10, 30 or a multiple of 60, "
            f"got {configured!r}"
        )
    return period


def require_text(value: Any, name: str) -> None:
    """Refuse ``value`` unless it is a non-empty string (``name``: the argument's name)."""
    if not isinstance(value, str) or not value.strip():
        raise ActivityFailed(f"{name} must be a non-empty string, got {value!r}")


def require_dimensions(dimensions: Any, label: str = "dimensions") -> dict[str, str]:
    """Return ``dimensions`` (a mapping, or ``None`` for none) as ``{name: value}`` strings."""
    if dimensions is None:
        return {}
    if not isinstance(dimensions, Mapping):
        raise ActivityFailed(
            f"{label} must be a mapping of dimension name to value, got {dimensions!r}"
        )
    return {str(k): str(v) for k, v in dimensions.items()}


def as_seconds(value: Any, label: str) -> float:
    """Return ``value`` as seconds (a number, or a numeric string from ``--var``)."""
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = float(value)
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise ActivityFailed(f"{label} must be a number of seconds, got {value!r}")
    return float(value)


def window_for(window_seconds: Any, period_seconds: int, now: Optional[datetime] = None) -> Window:
    """Return the query window ending one second ago; validate ``window_seconds``."""
    window_seconds = as_seconds(window_seconds, "window_seconds")
    if window_seconds < period_seconds:
        raise ActivityFailed(
            f"window_seconds {window_seconds:g} is shorter than the metric period of "
            f"{period_seconds} s; use at least {period_seconds} (or set a shorter "
            "'metric_period_seconds' for high-resolution metrics)"
        )
    if window_seconds > MAX_WINDOW_SECONDS:
        raise ActivityFailed(
            f"window_seconds must be at most {MAX_WINDOW_SECONDS} (3 hours of high-resolution "
            f"data), got {window_seconds:g}"
        )
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    end = now - timedelta(seconds=1)
    return Window(end - timedelta(seconds=float(window_seconds)), end, period_seconds)


def find_series(
    cloudwatch: Any, namespace: str, metric_name: Optional[str], dimensions: Mapping[str, str]
) -> set[Series]:
    """Return every series of ``namespace`` (and ``metric_name``) including ``dimensions``."""
    kwargs: dict[str, Any] = {
        "Namespace": namespace,
        "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
    }
    if metric_name:
        kwargs["MetricName"] = metric_name
    found = set()
    with aws_errors("cloudwatch:ListMetrics", f"metrics of namespace {namespace!r}"):
        for page in cloudwatch.get_paginator("list_metrics").paginate(**kwargs):
            for metric in page.get("Metrics", []):
                dims = {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])}
                if all(dims.get(k) == v for k, v in dimensions.items()):
                    found.add(Series.of(metric["Namespace"], metric["MetricName"], dims))
    return found


def _query(cloudwatch: Any, series: list[Series], window: Window, stat: str) -> dict[Series, list]:
    """Return each series' (timestamp, value) datapoints in the window, newest first."""
    points: dict[Series, list] = {s: [] for s in series}
    for offset in range(0, len(series), _QUERIES_PER_CALL):
        chunk = series[offset : offset + _QUERIES_PER_CALL]
        by_id = {f"m{i}": s for i, s in enumerate(chunk)}
        queries = [
            {
                "Id": query_id,
                "MetricStat": {
                    "Metric": s.as_metric(),
                    "Period": window.period_seconds,
                    "Stat": stat,
                },
                "ReturnData": True,
            }
            for query_id, s in by_id.items()
        ]
        with aws_errors("cloudwatch:GetMetricData", f"{len(chunk)} metric series"):
            pages = cloudwatch.get_paginator("get_metric_data").paginate(
                MetricDataQueries=queries,
                StartTime=window.start,
                EndTime=window.end,
                ScanBy="TimestampDescending",
            )
            for page in pages:
                for result in page.get("MetricDataResults", []):
                    target = points[by_id[result["Id"]]]
                    stamps, values = result.get("Timestamps", []), result.get("Values", [])
                    target.extend(zip(stamps, values, strict=False))
    for values in points.values():
        values.sort(key=lambda point: point[0], reverse=True)
    return points


def sums(
    cloudwatch: Any, series: Iterable[Series], window: Window
) -> dict[Series, Optional[float]]:
    """Return each series' Sum over the window; ``None`` when it has no datapoint (not 0)."""
    points = _query(cloudwatch, sorted(set(series)), window, "Sum")
    return {s: (sum(v for _, v in p) if p else None) for s, p in points.items()}


def newest_values(
    cloudwatch: Any, series: Iterable[Series], window: Window, stat: str
) -> dict[Series, Optional[tuple[datetime, float]]]:
    """Return each series' newest (timestamp, value) in the window, or ``None``."""
    points = _query(cloudwatch, sorted(set(series)), window, stat)
    return {s: (p[0] if p else None) for s, p in points.items()}


def most_aggregated(with_data: Iterable[Series]) -> list[Series]:
    """Return the series with the fewest dimensions (see "Series selection" above)."""
    candidates = list(with_data)
    if not candidates:
        return []
    fewest = min(len(s.dimensions) for s in candidates)
    return sorted(s for s in candidates if len(s.dimensions) == fewest)
