"""Probes over the telemetry users already have: API Gateway's metrics, any two metrics.

Exported by ``chaosaws_serverless.cloudwatch.probes`` (their activity module);
the facts about API Gateway's metrics and the ratio are
``chaosaws_serverless.cloudwatch.api_metrics``.
"""

from typing import Any, Dict, List, Optional

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets
from logzero import logger

from chaosaws_serverless.aws import client, configured_regions, resolve_region
from chaosaws_serverless.cloudwatch import api_metrics, metrics
from chaosaws_serverless.errors import NoData

__all__ = [
    "ERROR_RATIO_SOURCES",
    "get_api_error_ratio",
    "get_customer_error_ratio",
    "get_metric_ratio",
]

# The values of the configuration key ``error_ratio_source`` the ready experiments pass.
ERROR_RATIO_SOURCES = ("load-generator", "api-metrics")


def get_api_error_ratio(
    api: str,
    stage: str,
    window_seconds: float,
    api_type: str = "rest",
    errors: str = "5xx",
    regions: Optional[List[str]] = None,
    region: Optional[str] = None,
    *,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> float:
    """Return the share of an API stage's requests that failed, from API Gateway's own metrics.

    ``errors`` (``"5xx"`` or ``"4xx"``) over ``Count`` in namespace
    ``AWS/ApiGateway`` over the last ``window_seconds``: for a REST API
    (``api_type`` ``"rest"``) ``api`` is its name (dimension ``ApiName``) and
    the errors are ``5XXError``/``4XXError``; for an HTTP API (``"http"``)
    ``api`` is its id (``ApiId``) and the errors ``5xx``/``4xx``. ``stage``
    is the stage name (``Stage``). API Gateway publishes once a minute: the
    window is read in 60 s periods (``metric_period_seconds`` overrides).

    ``regions`` (list, optional) adds up the same API in several regions (a
    multi-region API deployed under one name): errors and requests are summed
    over the regions, then divided; a region without any datapoint counts no
    request. Default: ``region``, else ``aws_region``. Returns a float in
    [0, 1]; raises ``ActivityFailed`` when no region has data or no request.

    ```json
    {"type": "probe", "name": "api-5xx-ratio",
     "tolerance": {"type": "probe", "name": "at-most-5-percent",
                   "provider": {"type": "python",
                                "module": "chaosaws_serverless.cloudwatch.tolerances",
                                "func": "ratio_at_most", "arguments": {"max_ratio": 0.05}}},
     "provider": {"type": "python", "module": "chaosaws_serverless.cloudwatch.probes",
                  "func": "get_api_error_ratio", "secrets": ["aws"],
                  "arguments": {"api": "example-api", "stage": "prod", "window_seconds": 300,
                                "regions": ["us-east-1", "eu-west-1"]}}}
    ```
    """
    if errors not in ("5xx", "4xx"):
        raise ActivityFailed(f"errors must be '5xx' or '4xx', got {errors!r}")
    numerator = api_metrics.api_series(api, stage, api_type, errors)
    denominator = api_metrics.api_series(api, stage, api_type, "count")
    chosen = _regions(regions, region, configuration)
    return _ratio_over_regions(
        [numerator], [denominator], window_seconds, chosen, configuration, secrets
    )


def get_metric_ratio(
    numerator: Dict[str, Any],
    denominator: Dict[str, Any],
    window_seconds: float,
    region: Optional[str] = None,
    *,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> float:
    """Return Sum(numerator) / Sum(denominator) of any two CloudWatch metrics over the window.

    Each of ``numerator`` and ``denominator`` (mapping) names one series:
    ``{"namespace": ..., "metric_name": ..., "dimensions": {...}}`` (its exact
    dimensions). On AWS, CloudWatch computes the ratio with metric math in
    the same request that returns the two sums; where metric math answers
    nothing (the emulator), it is the quotient of the two sums: the same
    number. ``region`` (string, optional) defaults to ``aws_region``. A
    denominator without any datapoint is "no data"; one that sums to 0 is an
    ``ActivityFailed`` (the ratio is undefined).

    ```json
    {"type": "probe", "name": "lambda-error-rate",
     "provider": {"type": "python", "module": "chaosaws_serverless.cloudwatch.probes",
                  "func": "get_metric_ratio", "secrets": ["aws"],
                  "arguments": {
                    "numerator": {"namespace": "AWS/Lambda", "metric_name": "Errors",
                                  "dimensions": {"FunctionName": "api-hello"}},
                    "denominator": {"namespace": "AWS/Lambda", "metric_name": "Invocations",
                                    "dimensions": {"FunctionName": "api-hello"}},
                    "window_seconds": 300}}}
    ```
    """
    top = api_metrics.series_from(numerator, "numerator")
    bottom = api_metrics.series_from(denominator, "denominator")
    chosen = [resolve_region(region, configuration)]
    return _ratio_over_regions([top], [bottom], window_seconds, chosen, configuration, secrets)


def get_customer_error_ratio(
    source: str,
    window_seconds: float,
    url: Optional[str] = None,
    client_region: Optional[str] = None,
    api: Optional[str] = None,
    stage: Optional[str] = None,
    api_type: str = "rest",
    *,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> float:
    """Return the customers' error ratio from the telemetry ``source`` names.

    What the ready experiments' hypotheses read, so that one configuration key,
    ``error_ratio_source``, picks the telemetry:

    - ``"load-generator"``: the load generator's counts for ``url`` from the
      customers in ``client_region`` (``get_error_ratio``: 5xx and requests
      without an answer over every request); a load generator must run beside
      the experiment (``chaosaws-serverless load`` or the catalog's
      ``method/customer-load``);
    - ``"api-metrics"``: API Gateway's own ``5xx`` over ``Count`` for ``api``
      and ``stage`` (``get_api_error_ratio``), added up over every region of
      ``aws_regions``: API Gateway's metrics do not say where customers are,
      and after a failover a region's customers are served by the other
      region, so the ratio is the API's, whoever called it (``client_region``
      is not used). Nothing to run beside the experiment.

    Returns a float in [0, 1]; the failures of the probe it calls.
    """
    if source == "load-generator":
        from chaosaws_serverless.cloudwatch.probes import get_error_ratio

        if not url:
            raise ActivityFailed("error_ratio_source 'load-generator' needs the url (api_url)")
        return get_error_ratio(
            url, window_seconds, client_region, configuration=configuration, secrets=secrets
        )
    if source == "api-metrics":
        return get_api_error_ratio(
            str(api or ""),
            str(stage or ""),
            window_seconds,
            api_type,
            regions=configured_regions(configuration),
            configuration=configuration,
            secrets=secrets,
        )
    raise ActivityFailed(
        f"error_ratio_source must be one of {list(ERROR_RATIO_SOURCES)}, got {source!r}; "
        "set it in the --var-file's configuration"
    )


def _regions(regions: Any, region: Optional[str], configuration: Configuration) -> list[str]:
    if regions in (None, "", []):
        return [resolve_region(region, configuration)]
    if isinstance(regions, str):
        regions = [r.strip() for r in regions.split(",") if r.strip()]
    if not isinstance(regions, list | tuple) or not regions:
        raise ActivityFailed(f"regions must be a list of region names, got {regions!r}")
    return [resolve_region(str(r), None) for r in regions]


def _ratio_over_regions(
    numerator: list[metrics.Series],
    denominator: list[metrics.Series],
    window_seconds: float,
    regions: list[str],
    configuration: Configuration,
    secrets: Secrets,
) -> float:
    period = metrics.period_for(denominator[0].namespace, configuration)
    window = metrics.window_for(window_seconds, period)
    parts: list[tuple[str, api_metrics.Ratio]] = []
    missing: list[str] = []
    for region_name in regions:
        cloudwatch = client("cloudwatch", region_name, configuration, secrets)
        where = f"in {region_name} in the last {window_seconds} s"
        try:
            parts.append(
                (
                    region_name,
                    api_metrics.metric_ratio(cloudwatch, numerator, denominator, window, where),
                )
            )
        except NoData as error:
            if len(regions) == 1:
                raise
            missing.append(f"{region_name} ({error})")
    if not parts:
        raise NoData("no data in any region: " + "; ".join(missing))
    top = sum(r.numerator for _, r in parts)
    bottom = sum(r.denominator for _, r in parts)
    names = f"{numerator[0].name} / {denominator[0].name} {dict(denominator[0].dimensions)}"
    if bottom <= 0:
        raise ActivityFailed(
            f"{names} in {', '.join(regions)}: {denominator[0].name} sums to 0 in the last "
            f"{window_seconds} s, the ratio is undefined (no requests?)"
        )
    value = parts[0][1].value if len(parts) == 1 else top / bottom
    how = parts[0][1].computed_by if len(parts) == 1 else "sums over regions"
    logger.debug(
        f"{names}: {value:.4f} = {top:g} / {bottom:g} in {', '.join(r for r, _ in parts)} "
        f"({how}); no data in {', '.join(missing) or 'no region'}"
    )
    return float(value)
