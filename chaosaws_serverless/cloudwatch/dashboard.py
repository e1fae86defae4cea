"""The experiment dashboard's body, built as data (pure, so it is tested without AWS).

Widgets, as in the reference scenario's console view:

1. Route 53 health, one line per region: ``AWS/Route53`` ``HealthCheckStatus``
   (Minimum, 0..1) of that region's health check, always read in us-east-1
   (AWS publishes it once a minute; the console draws it at that resolution
   whatever the widget's period).
2. Requests answered per region: the load generator's ``region_<region>``
   counts, one line per (customer region, answering region).
3. One status-code widget per customer region: ``status_2xx``, ``status_4xx``,
   ``status_5xx``, ``status_timeout``, ``status_connect_error``.

Only plain metric lines: no metric math or SEARCH, so the body renders on any
CloudWatch-compatible endpoint and reads the same counts the probes read.
"""

from collections.abc import Mapping, Sequence
from typing import Any, Optional

from chaosaws_serverless import metric_names as names

__all__ = ["experiment_dashboard_body"]

_WIDTH, _HEIGHT = 12, 6


def _dims(url: str, client_region: Optional[str]) -> list[str]:
    dims = [names.DIMENSION_URL, url]
    if client_region:
        dims += [names.DIMENSION_CLIENT_REGION, client_region]
    return dims


def _widget(
    index: int,
    title: str,
    metrics: list[list[Any]],
    region: str,
    stat: str,
    period: int,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "type": "metric",
        "x": (index % 2) * _WIDTH,
        "y": (index // 2) * _HEIGHT,
        "width": _WIDTH,
        "height": _HEIGHT,
        "properties": {
            "title": title,
            "view": "timeSeries",
            "stacked": False,
            "region": region,
            "stat": stat,
            "period": period,
            "metrics": metrics,
            **extra,
        },
    }


def experiment_dashboard_body(
    url: str,
    health_check_ids: Mapping[str, str],
    regions: Sequence[str],
    client_regions: Sequence[Optional[str]],
    metrics_region: str,
    namespace: str = names.DEFAULT_NAMESPACE,
    period_seconds: int = 10,
) -> dict[str, Any]:
    """Return the dashboard body (a dict to ``json.dumps``); see the module docstring."""
    health = [
        [
            names.ROUTE53_NAMESPACE,
            names.HEALTH_CHECK_STATUS,
            "HealthCheckId",
            check_id,
            {"label": f"{region} health check", "region": names.ROUTE53_METRICS_REGION},
        ]
        for region, check_id in sorted(health_check_ids.items())
    ]
    widgets = [
        _widget(
            0,
            "Route 53 health per region (1 healthy, 0 unhealthy)",
            health,
            names.ROUTE53_METRICS_REGION,
            "Minimum",
            period_seconds,
            yAxis={"left": {"min": 0, "max": 1}},
        )
    ]
    answered = [
        [
            namespace,
            names.region_metric(region),
            *_dims(url, client),
            {"label": f"{client + ' customers' if client else 'customers'} answered by {region}"},
        ]
        for client in client_regions
        for region in regions
    ]
    widgets.append(
        _widget(
            1,
            f"Requests answered per region: {url}",
            answered,
            metrics_region,
            "Sum",
            period_seconds,
        )
    )
    for offset, client in enumerate(client_regions, start=2):
        lines = [
            [namespace, metric, *_dims(url, client), {"label": metric}]
            for metric in names.STATUS_METRICS
        ]
        who = f"{client} customers" if client else "Customers"
        widgets.append(
            _widget(offset, f"{who}: status codes", lines, metrics_region, "Sum", period_seconds)
        )
    return {"widgets": widgets}
