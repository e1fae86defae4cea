"""The load generator's counts for one URL, read back and summed (what the probes compute from).

The counts are the series ``chaosaws_serverless.metric_names`` names, with
the called URL (and the calling region) as dimensions; periods and windows are
``cloudwatch.metrics``'.
"""

from typing import Any, Optional

from chaoslib.types import Configuration, Secrets

from chaosaws_serverless import metric_names as names
from chaosaws_serverless.aws import client, configured_regions, resolve_region
from chaosaws_serverless.cloudwatch import metrics
from chaosaws_serverless.errors import NoData

__all__ = ["aggregated_sums", "customer_counts", "for_clients"]


def customer_counts(
    url: str,
    window_seconds: float,
    client_region: Optional[str],
    metric_names: Optional[tuple[str, ...]],
    region: Optional[str],
    configuration: Configuration,
    secrets: Secrets,
    answering_regions: Optional[list[str]] = None,
) -> tuple[dict[str, float], str]:
    """Return {metric name: sum} of the load generator's counts for ``url``, and a window phrase.

    ``metric_names=None`` reads the ``region_<region>`` counts instead of the
    status counts. Raises ``ActivityFailed`` when nothing has data.
    """
    metrics.require_text(url, "url")
    namespace = str((configuration or {}).get("metrics_namespace") or names.DEFAULT_NAMESPACE)
    dims = {names.DIMENSION_URL: url}
    if client_region is not None:
        dims[names.DIMENSION_CLIENT_REGION] = resolve_region(client_region, None)
    window = metrics.window_for(window_seconds, metrics.period_for(namespace, configuration))
    region_name = resolve_region(region, configuration)
    cloudwatch = client("cloudwatch", region_name, configuration, secrets)

    listed = metrics.find_series(cloudwatch, namespace, None, dims)
    if metric_names is None:
        listed = {s for s in listed if names.region_of_metric(s.name)}
        wanted = [names.region_metric(r) for r in answering_regions or []]
    else:
        listed = {s for s in listed if s.name in metric_names}
        wanted = list(metric_names)
    # ListMetrics can lag behind new series on AWS (minutes): also ask for the series the
    # load generator's contract names directly.
    client_regions = (
        [dims[names.DIMENSION_CLIENT_REGION]]
        if client_region is not None
        else configured_regions(configuration)
    )
    for metric_name in wanted:
        listed.add(metrics.Series.of(namespace, metric_name, {names.DIMENSION_URL: url}))
        for where in client_regions:
            listed.add(
                metrics.Series.of(
                    namespace,
                    metric_name,
                    {names.DIMENSION_URL: url, names.DIMENSION_CLIENT_REGION: where},
                )
            )
    if client_region is not None:
        listed = {s for s in listed if s.dimension(names.DIMENSION_CLIENT_REGION) is not None}
    totals = aggregated_sums(cloudwatch, listed, window)
    window_text = f"in the last {window_seconds} s ({namespace} in {region_name})"
    if not totals:
        raise NoData(
            f"no data: no load generator counts for {url!r}{for_clients(client_region)} "
            f"{window_text}; check the URL (dimension {names.DIMENSION_URL!r}), the namespace "
            "('metrics_namespace') and that the load generator is running"
        )
    return totals, window_text


def aggregated_sums(cloudwatch: Any, series: set, window: metrics.Window) -> dict[str, float]:
    """Return {metric name: sum} over the most aggregated series of each name that has data."""
    values = metrics.sums(cloudwatch, series, window)
    by_name: dict[str, list] = {}
    for s, total in values.items():
        if total is not None:
            by_name.setdefault(s.name, []).append(s)
    return {
        name: sum(values[s] or 0.0 for s in metrics.most_aggregated(with_data))
        for name, with_data in by_name.items()
    }


def for_clients(client_region: Optional[str]) -> str:
    return f" from customers in {client_region}" if client_region else ""
