"""The API's own telemetry: API Gateway's CloudWatch metrics, and a ratio over any two metrics.

What API Gateway publishes (AWS's API Gateway developer guide):

- REST APIs, "Amazon API Gateway dimensions and metrics"
  (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-metrics-and-dimensions.html):
  namespace ``AWS/ApiGateway``, metrics ``4XXError``, ``5XXError``, ``Count``,
  ``Latency`` (ms), ``IntegrationLatency``; a stage's series carries the
  dimensions ``ApiName`` and ``Stage``. "API Gateway sends metric data to
  CloudWatch every minute."
- HTTP APIs, "Working with metrics for HTTP APIs"
  (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-metrics.html):
  the same namespace, but the error metrics are named ``4xx`` and ``5xx``
  (``Count`` and ``Latency`` as for REST APIs), and a stage's series carries
  ``ApiId`` and ``Stage`` (``$default`` for the default stage).

Metrics are regional: each region's API publishes in its own region.

A ratio is asked of CloudWatch as metric math (``m0 / m1`` over one period
spanning the window, "Using math expressions with CloudWatch metrics":
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html),
together with the two raw sums in the same ``GetMetricData`` request. When the
expression has no single value (an endpoint without metric math, such as the
emulator, or a window that straddles two periods) the ratio is the quotient of
the two sums, which is the same number: metric math is AWS computing it.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chaoslib.exceptions import ActivityFailed

from chaosaws_serverless.cloudwatch import metrics
from chaosaws_serverless.errors import NoData, aws_errors

__all__ = [
    "API_TYPES",
    "NAMESPACE",
    "ApiType",
    "Ratio",
    "api_series",
    "metric_ratio",
    "series_from",
    "whole_window",
]

NAMESPACE = "AWS/ApiGateway"


@dataclass(frozen=True)
class ApiType:
    """How API Gateway names one kind of API's stage metrics."""

    id_dimension: str
    metrics: Mapping[str, str]


# The probes' words ("5xx", "4xx", "count", "latency") to each API type's metric names.
API_TYPES = {
    "rest": ApiType(
        "ApiName", {"5xx": "5XXError", "4xx": "4XXError", "count": "Count", "latency": "Latency"}
    ),
    "http": ApiType("ApiId", {"5xx": "5xx", "4xx": "4xx", "count": "Count", "latency": "Latency"}),
}


@dataclass(frozen=True)
class Ratio:
    """A ratio over a window: its value, the two sums, and how it was computed."""

    value: float
    numerator: float
    denominator: float
    computed_by: str  # "metric math" or "sums"


def api_series(api: Any, stage: Any, api_type: Any, metric: str) -> metrics.Series:
    """Return the series of ``metric`` ("5xx", "4xx", "count", "latency") of an API's stage."""
    kind = API_TYPES.get(str(api_type).lower()) if isinstance(api_type, str) else None
    if kind is None:
        raise ActivityFailed(
            f"api_type must be one of {sorted(API_TYPES)} (REST APIs are named by ApiName, "
            f"HTTP APIs by ApiId), got {api_type!r}"
        )
    what = "the API's name (ApiName)" if kind.id_dimension == "ApiName" else "the API's id (ApiId)"
    if not isinstance(api, str) or not api.strip():
        raise ActivityFailed(f"api must be {what}, got {api!r}; set 'api_name' in the --var-file")
    if not isinstance(stage, str) or not stage.strip():
        raise ActivityFailed(f"stage must be the API's stage name, e.g. 'prod', got {stage!r}")
    dims = {kind.id_dimension: api, "Stage": stage}
    return metrics.Series.of(NAMESPACE, kind.metrics[metric], dims)


def series_from(spec: Any, label: str) -> metrics.Series:
    """Return the series a probe argument names: {namespace, metric_name, dimensions}."""
    if not isinstance(spec, Mapping):
        raise ActivityFailed(
            f"{label} must be a mapping {{'namespace': ..., 'metric_name': ..., "
            f"'dimensions': {{...}}}}, got {spec!r}"
        )
    unknown = sorted(set(spec) - {"namespace", "metric_name", "dimensions"})
    if unknown:
        raise ActivityFailed(
            f"{label} has unknown keys {unknown}; use namespace, metric_name and dimensions"
        )
    metrics.require_text(spec.get("namespace"), f"{label}.namespace")
    metrics.require_text(spec.get("metric_name"), f"{label}.metric_name")
    dims = metrics.require_dimensions(spec.get("dimensions") or {}, f"{label}.dimensions")
    return metrics.Series.of(str(spec["namespace"]), str(spec["metric_name"]), dims)


def whole_window(window: metrics.Window) -> metrics.Window:
    """Return ``window`` read as one period (a valid CloudWatch period, at most its length)."""
    seconds = int((window.end - window.start).total_seconds())
    if seconds < 60:
        period = max(p for p in (1, 5, 10, 30) if p <= seconds) if seconds >= 1 else 1
    else:
        period = seconds // 60 * 60
    return metrics.Window(window.start, window.end, period)


def metric_ratio(
    cloudwatch: Any,
    numerator: list[metrics.Series],
    denominator: list[metrics.Series],
    window: metrics.Window,
    where: str,
) -> Ratio:
    """Return sum(numerator) / sum(denominator) over ``window`` (see the module docstring).

    Each side may list several series, summed (all in the region of
    ``cloudwatch``: each region is its own request). Raises ``NoData`` when the
    denominator has no datapoint; a denominator summing to 0 is a ``Ratio``
    whose ``denominator`` is 0 (the caller says what that means).
    """
    whole = whole_window(window)
    queries: list[dict[str, Any]] = []
    ids: dict[str, tuple[str, metrics.Series]] = {}
    for side, series in (("n", numerator), ("d", denominator)):
        for index, one in enumerate(series):
            query_id = f"{side}{index}"
            ids[query_id] = (side, one)
            queries.append(
                {
                    "Id": query_id,
                    "MetricStat": {
                        "Metric": one.as_metric(),
                        "Period": whole.period_seconds,
                        "Stat": "Sum",
                    },
                    "ReturnData": True,
                }
            )
    top = " + ".join(f"n{i}" for i in range(len(numerator)))
    bottom = " + ".join(f"d{i}" for i in range(len(denominator)))
    queries.append({"Id": "ratio", "Expression": f"({top}) / ({bottom})", "ReturnData": True})
    totals = {"n": 0.0, "d": 0.0}
    seen = {"n": False, "d": False}
    expression: list[float] = []
    with aws_errors("cloudwatch:GetMetricData", where):
        pages = cloudwatch.get_paginator("get_metric_data").paginate(
            MetricDataQueries=queries, StartTime=whole.start, EndTime=whole.end
        )
        for page in pages:
            for result in page.get("MetricDataResults", []):
                values = [float(v) for v in result.get("Values", [])]
                if result["Id"] == "ratio":
                    expression.extend(values)
                    continue
                side = ids[result["Id"]][0]
                totals[side] += sum(values)
                seen[side] = seen[side] or bool(values)
    names = ", ".join(f"{s.name} {dict(s.dimensions)}" for s in denominator)
    if not seen["d"]:
        raise NoData(
            f"no data: {names} has no datapoint {where}; check the names, the dimensions and "
            "the region (each region's metrics live in that region)"
        )
    if totals["d"] <= 0:
        return Ratio(0.0, totals["n"], 0.0, "sums")
    if len(expression) == 1:
        return Ratio(expression[0], totals["n"], totals["d"], "metric math")
    return Ratio(totals["n"] / totals["d"], totals["n"], totals["d"], "sums")
