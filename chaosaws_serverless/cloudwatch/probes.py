"""Probes on CloudWatch: the load generator's customer counts, and the API's own metrics.

The probes over API Gateway's metrics and the ratio of any two metrics
(``get_api_error_ratio``, ``get_metric_ratio``, ``get_customer_error_ratio``)
live in ``chaosaws_serverless.cloudwatch.api_probes`` and are exported here.
The load generator's probes read raw counts (``status_*``, ``region_<region>``; names in
``chaosaws_serverless.metric_names``) and computes ratios itself: metric math
is not portable to every CloudWatch endpoint. No datapoint at all in the window
is an ``ActivityFailed`` ("no data"), never ``0``: a silent load generator must
not look like a healthy API. Periods and windows are explained in
``chaosaws_serverless.cloudwatch.metrics``.
"""

from typing import Any, Dict, Optional

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets
from logzero import logger

from chaosaws_serverless import metric_names as names
from chaosaws_serverless.aws import client, configured_regions, resolve_region
from chaosaws_serverless.cloudwatch import alarms, customers, metrics
from chaosaws_serverless.cloudwatch.api_probes import (
    get_api_error_ratio,
    get_customer_error_ratio,
    get_metric_ratio,
)
from chaosaws_serverless.errors import NoData

__all__ = [
    "get_alarm_state",
    "get_api_error_ratio",
    "get_customer_error_ratio",
    "get_error_ratio",
    "get_latency_percentile",
    "get_metric_ratio",
    "get_metric_sum",
    "get_region_share",
    "get_requests_by_region",
    "get_slow_request_ratio",
]


def get_metric_sum(
    namespace: str,
    metric_name: str,
    dimensions: Dict[str, str],
    window_seconds: float,
    region: Optional[str] = None,
    *,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> float:
    """Return the Sum of a metric over the last ``window_seconds``.

    ``dimensions`` (mapping, may be empty) filters the series: every series of
    ``metric_name`` whose dimensions include these values counts, the most
    aggregated ones when several levels exist. ``region`` (string, optional)
    defaults to the configuration's ``aws_region``. Raises ``ActivityFailed``
    when no series has a datapoint in the window (``0.0`` means datapoints that
    sum to zero).

    ```json
    {"type": "probe", "name": "us-5xx-last-5-minutes",
     "provider": {"type": "python", "module": "chaosaws_serverless.cloudwatch.probes",
                  "func": "get_metric_sum",
                  "arguments": {"namespace": "ChaosServerless", "metric_name": "status_5xx",
                                "dimensions": {"Url": "https://example.mydomain.com/api/hello"},
                                "window_seconds": 300}}}
    ```
    """
    metrics.require_text(namespace, "namespace")
    metrics.require_text(metric_name, "metric_name")
    dims = metrics.require_dimensions(dimensions)
    window = metrics.window_for(window_seconds, metrics.period_for(namespace, configuration))
    region_name = resolve_region(region, configuration)
    cloudwatch = client("cloudwatch", region_name, configuration, secrets)
    found = metrics.find_series(cloudwatch, namespace, metric_name, dims)
    found.add(metrics.Series.of(namespace, metric_name, dims))
    totals = customers.aggregated_sums(cloudwatch, found, window)
    if metric_name not in totals:
        raise NoData(
            f"no data: metric {namespace}/{metric_name} with dimensions {dims} has no datapoint "
            f"in {region_name} in the last {window_seconds} s; check the names and that the "
            "publisher (the load generator) is running"
        )
    return totals[metric_name]


def get_error_ratio(
    url: str,
    window_seconds: float,
    client_region: Optional[str] = None,
    region: Optional[str] = None,
    *,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> float:
    """Return the share of customer requests to ``url`` that failed in the last ``window_seconds``.

    Errors are ``status_5xx`` plus the requests that got no HTTP answer
    (``status_timeout``, ``status_connect_error``, ``status_invalid_response``):
    a customer whose request times out has failed as surely as one who got a 504. The denominator is
    every outcome (``status_2xx`` + ``status_4xx`` + the errors); 4xx are the
    client's own mistakes and do not count as errors. ``client_region``
    (string, optional) keeps only the customers in that region (dimension
    ``ClientRegion``); ``None`` means all customers. The namespace is the
    configuration's ``metrics_namespace`` (default ``ChaosServerless``),
    read in ``region`` (string, optional; default ``aws_region``).

    Returns a float in [0, 1]. Raises ``ActivityFailed`` when there is no
    datapoint or no request in the window: an unknown ratio is not 0.

    ```json
    {"type": "probe", "name": "us-customers-error-ratio",
     "tolerance": {"type": "probe", "name": "at-most-5-percent",
                   "provider": {"type": "python",
                                "module": "chaosaws_serverless.cloudwatch.tolerances",
                                "func": "ratio_at_most", "arguments": {"max_ratio": 0.05}}},
     "provider": {"type": "python", "module": "chaosaws_serverless.cloudwatch.probes",
                  "func": "get_error_ratio",
                  "arguments": {"url": "https://example.mydomain.com/api/hello",
                                "window_seconds": 300, "client_region": "us-east-1"}}}
    ```
    """
    totals, window_text = customers.customer_counts(
        url, window_seconds, client_region, names.STATUS_METRICS, region, configuration, secrets
    )
    requests = sum(totals.values())
    if requests <= 0:
        raise ActivityFailed(
            f"no requests to {url!r}{customers.for_clients(client_region)} {window_text}: "
            "the error ratio is undefined; check that the load generator is running"
        )
    errors = sum(totals.get(name, 0.0) for name in names.ERROR_METRICS)
    ratio = errors / requests
    logger.debug(
        f"error ratio {ratio:.4f} = {errors:g} errors / {requests:g} requests to {url!r}"
        f"{customers.for_clients(client_region)} {window_text}"
    )
    return ratio


def get_slow_request_ratio(
    url: str,
    threshold_ms: int,
    window_seconds: float,
    client_region: Optional[str] = None,
    region: Optional[str] = None,
    *,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> float:
    """Return the share of customer requests to ``url`` slower than ``threshold_ms``.

    The latency objective in its SLO form ("at most 1 % of requests slower
    than 1 s"): the load generator's ``latency_over_<threshold>ms`` count over
    every outcome (``status_*``) of the last ``window_seconds``, sums only, so
    it works on every CloudWatch endpoint. Latency counts from each request's
    intended send time; a request that timed out is slower than any threshold
    below its timeout. ``threshold_ms`` (integer) must be one the load
    generator publishes: 100, 200, 300, 500, 1000, 2000, 5000 or 10000.
    ``client_region`` (string, optional) keeps only the customers in that
    region. Returns a float in [0, 1]; raises ``ActivityFailed`` when there is
    no datapoint, no request, or no slow-request count (a load generator older
    than this metric): an unknown share is not 0.

    ```json
    {"type": "probe", "name": "us-customers-slower-than-1s",
     "tolerance": {"type": "probe", "name": "at-most-1-percent",
                   "provider": {"type": "python",
                                "module": "chaosaws_serverless.cloudwatch.tolerances",
                                "func": "ratio_at_most", "arguments": {"max_ratio": 0.01}}},
     "provider": {"type": "python", "module": "chaosaws_serverless.cloudwatch.probes",
                  "func": "get_slow_request_ratio",
                  "arguments": {"url": "https://example.mydomain.com/api/hello",
                                "threshold_ms": 1000, "window_seconds": 300,
                                "client_region": "us-east-1"}}}
    ```
    """
    threshold = _threshold_ms(threshold_ms)
    slow_metric = names.slower_than_metric(threshold)
    totals, window_text = customers.customer_counts(
        url,
        window_seconds,
        client_region,
        (*names.STATUS_METRICS, slow_metric),
        region,
        configuration,
        secrets,
    )
    requests = sum(v for k, v in totals.items() if k in names.STATUS_METRICS)
    if slow_metric not in totals:
        raise ActivityFailed(
            f"no data: no {slow_metric} count for {url!r}{customers.for_clients(client_region)} "
            f"{window_text}; the load generator publishing there does not count slow requests "
            "(upgrade it) or the metrics are elsewhere"
        )
    if requests <= 0:
        raise ActivityFailed(
            f"no requests to {url!r}{customers.for_clients(client_region)} {window_text}: "
            "the share of slow requests is undefined; check that the load generator is running"
        )
    ratio = totals[slow_metric] / requests
    logger.debug(
        f"slow ratio {ratio:.4f} = {totals[slow_metric]:g} requests slower than {threshold} ms "
        f"/ {requests:g} requests to {url!r}{customers.for_clients(client_region)} {window_text}"
    )
    return ratio


def get_latency_percentile(
    url: str,
    percentile: float,
    window_seconds: float,
    client_region: str,
    region: Optional[str] = None,
    *,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> float:
    """Return the ``percentile`` (e.g. 99) latency in ms of requests to ``url`` (AWS only).

    Reads the load generator's ``latency_ms`` distribution (published as
    Values/Counts) with CloudWatch's ``p<percentile>`` statistic over the last
    ``window_seconds``, for the customers in ``client_region`` (string; one
    series, since percentiles cannot be added up). CloudWatch computes it on
    AWS; moto answers percentile statistics with an error, so on the emulator
    and in the lab use ``get_slow_request_ratio``. Raises ``ActivityFailed``
    when there is no datapoint.

    ```json
    {"type": "probe", "name": "us-customers-p99",
     "tolerance": {"type": "probe", "name": "p99-at-most-1s",
                   "provider": {"type": "python",
                                "module": "chaosaws_serverless.cloudwatch.tolerances",
                                "func": "latency_at_most", "arguments": {"max_ms": 1000}}},
     "provider": {"type": "python", "module": "chaosaws_serverless.cloudwatch.probes",
                  "func": "get_latency_percentile",
                  "arguments": {"url": "https://example.mydomain.com/api/hello",
                                "percentile": 99, "window_seconds": 300,
                                "client_region": "us-east-1"}}}
    ```
    """
    metrics.require_text(url, "url")
    value = metrics.as_seconds(percentile, "percentile")  # a plain number check
    if not 0 < value < 100:
        raise ActivityFailed(f"percentile must be within (0, 100), e.g. 99, got {percentile!r}")
    namespace = str((configuration or {}).get("metrics_namespace") or names.DEFAULT_NAMESPACE)
    dims = {
        names.DIMENSION_URL: url,
        names.DIMENSION_CLIENT_REGION: resolve_region(client_region, None),
    }
    window = metrics.window_for(window_seconds, metrics.period_for(namespace, configuration))
    # One period over the whole window: the percentile of every request in it.
    whole = metrics.Window(window.start, window.end, _whole_window_period(window))
    region_name = resolve_region(region, configuration)
    cloudwatch = client("cloudwatch", region_name, configuration, secrets)
    series = metrics.Series.of(namespace, names.LATENCY_MS, dims)
    stat = f"p{value:g}"
    newest = metrics.newest_values(cloudwatch, [series], whole, stat)[series]
    if newest is None:
        raise ActivityFailed(
            f"no data: no {names.LATENCY_MS} datapoint for {url!r} from customers in "
            f"{client_region} in the last {window_seconds} s ({namespace} in {region_name}); "
            "check that the load generator publishes to CloudWatch there"
        )
    return float(newest[1])


def _whole_window_period(window: metrics.Window) -> int:
    seconds = int((window.end - window.start).total_seconds())
    if seconds < 60:
        return max(p for p in (1, 5, 10, 30) if p <= seconds) if seconds >= 1 else 1
    return max(60, seconds // 60 * 60)


def _threshold_ms(threshold_ms: Any) -> int:
    if isinstance(threshold_ms, str) and threshold_ms.strip().isdigit():
        threshold_ms = int(threshold_ms)  # configuration substitution may deliver "1000"
    if isinstance(threshold_ms, bool) or threshold_ms not in names.LATENCY_THRESHOLDS_MS:
        raise ActivityFailed(
            f"threshold_ms must be one of the thresholds the load generator counts, "
            f"{list(names.LATENCY_THRESHOLDS_MS)}, got {threshold_ms!r}"
        )
    return int(threshold_ms)


def get_requests_by_region(
    url: str,
    window_seconds: float,
    client_region: Optional[str] = None,
    region: Optional[str] = None,
    *,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> Dict[str, int]:
    """Return how many requests to ``url`` each region answered in the last ``window_seconds``.

    Reads the ``region_<region>`` counts (e.g. ``{"us-east-1": 540,
    "eu-west-1": 12}``); ``client_region`` (string, optional) keeps only the
    customers in that region. Regions with no datapoint are absent; raises
    ``ActivityFailed`` when no region has any datapoint.

    ```json
    {"type": "probe", "name": "who-answered",
     "provider": {"type": "python", "module": "chaosaws_serverless.cloudwatch.probes",
                  "func": "get_requests_by_region",
                  "arguments": {"url": "https://example.mydomain.com/api/hello",
                                "window_seconds": 120}}}
    ```
    """
    regions = configured_regions(configuration)
    totals, _ = customers.customer_counts(
        url, window_seconds, client_region, None, region, configuration, secrets, regions
    )
    by_region = {}
    for metric_name, total in totals.items():
        answered_by = names.region_of_metric(metric_name)
        if answered_by:
            by_region[answered_by] = round(total)
    return dict(sorted(by_region.items()))


def get_region_share(
    url: str,
    answering_region: str,
    window_seconds: float,
    client_region: Optional[str] = None,
    region: Optional[str] = None,
    *,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> float:
    """Return the share (0..1) of requests to ``url`` that ``answering_region`` answered.

    From the ``region_<region>`` counts of the last ``window_seconds``;
    ``client_region`` (string, optional) keeps only the customers in that
    region. After a failover of US customers, the share of ``eu-west-1`` for
    ``client_region="us-east-1"`` approaches 1. Raises ``ActivityFailed``
    when no region answered anything in the window.

    ```json
    {"type": "probe", "name": "us-customers-served-by-eu",
     "tolerance": {"type": "probe", "name": "mostly",
                   "provider": {"type": "python",
                                "module": "chaosaws_serverless.cloudwatch.tolerances",
                                "func": "ratio_at_least", "arguments": {"min_ratio": 0.9}}},
     "provider": {"type": "python", "module": "chaosaws_serverless.cloudwatch.probes",
                  "func": "get_region_share",
                  "arguments": {"url": "https://example.mydomain.com/api/hello",
                                "answering_region": "eu-west-1", "window_seconds": 60,
                                "client_region": "us-east-1"}}}
    ```
    """
    answering = resolve_region(answering_region, None)
    by_region = get_requests_by_region(
        url,
        window_seconds,
        client_region,
        region,
        configuration=configuration,
        secrets=secrets,
    )
    total = sum(by_region.values())
    if total <= 0:
        raise ActivityFailed(
            f"no requests to {url!r}{customers.for_clients(client_region)} were answered in the "
            f"last {window_seconds} s: the share of {answering} is undefined"
        )
    return by_region.get(answering, 0) / total


def get_alarm_state(
    alarm_name: str,
    region: Optional[str] = None,
    *,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> str:
    """Return the state of a CloudWatch alarm: ``"OK"``, ``"ALARM"`` or ``"INSUFFICIENT_DATA"``.

    Raises ``ActivityFailed`` when no metric or composite alarm has that name
    in ``region`` (string, optional; default ``aws_region``).

    ```json
    {"type": "probe", "name": "stop-alarm-is-quiet", "tolerance": "OK",
     "provider": {"type": "python", "module": "chaosaws_serverless.cloudwatch.probes",
                  "func": "get_alarm_state", "arguments": {"alarm_name": "us-error-ratio"}}}
    ```
    """
    metrics.require_text(alarm_name, "alarm_name")
    region_name = resolve_region(region, configuration)
    states = alarms.alarm_states([alarm_name], region_name, configuration, secrets)
    return states[alarm_name][0]
