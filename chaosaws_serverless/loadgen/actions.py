"""Chaos Toolkit actions of the load generator: customers calling the API.

``generate_load`` runs the open-loop engine on this machine; the Lambda pair
(``deploy_load_generator``, ``start_load_generator``) runs the same engine on
AWS Lambda in a region, so load at scale comes from each customer region.
"""

import logging
from typing import Any, Dict, Optional

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets

from chaosaws_serverless.aws import client, resolve_region
from chaosaws_serverless.loadgen.config import (
    DEFAULT_REGION_PATTERN,
    PUBLISH_MODES,
    LoadConfig,
    LoadConfigError,
)
from chaosaws_serverless.metric_names import DEFAULT_NAMESPACE

__all__ = ["generate_load"]

logger = logging.getLogger(__name__)


def generate_load(
    url: str,
    rate_per_second: float,
    duration_seconds: float,
    client_region: Optional[str] = None,
    publish: str = "cloudwatch",
    namespace: Optional[str] = None,
    timeout_seconds: float = 5,
    interval_seconds: float = 10,
    storage_resolution: int = 1,
    region_pattern: str = DEFAULT_REGION_PATTERN,
    region: Optional[str] = None,
    *,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> Dict[str, Any]:
    """Send open-loop customer traffic to a URL and publish per-interval counts.

    Starts ``rate_per_second`` GET requests per second (float, > 0) at evenly
    spaced times for ``duration_seconds`` (> 0), each with ``timeout_seconds``.
    Every answer is classified (2xx/4xx/5xx/timeout/connect_error/
    invalid_response) and the answering region is parsed from the body with
    ``region_pattern`` (default ``Hello from region {region}``). Counts are
    aggregated per ``interval_seconds`` (default 10) and, with ``publish``:

    - ``"cloudwatch"`` (default): PutMetricData to ``namespace`` (default
      ``ChaosServerless``) in ``region`` (optional string; the configuration's
      ``aws_region`` when omitted), ``storage_resolution`` 1 or 60 seconds;
    - ``"emf"``: Embedded Metric Format lines on stdout;
    - ``"none"``: nothing, only the returned summary.

    Metrics: ``status_2xx``, ``status_4xx``, ``status_5xx``, ``status_timeout``,
    ``status_connect_error``, ``status_invalid_response``, ``region_<region>``
    (Count) and ``latency_ms`` (Milliseconds), with dimensions ``Url`` and
    ``ClientRegion`` (``client_region``, optional string; defaults to the region
    resolved as above). Changes nothing in AWS besides the metrics, so it has no
    rollback. Run it as a ``"background": true`` activity to keep traffic
    flowing while the method injects faults. A failed publish is retried and
    never stops the load; an unreachable host is counted, not raised.

    Returns the run's summary: ``sent``, ``dropped``, ``completed``, the
    ``status_*`` counts, ``regions`` (region -> answers), ``latency_ms``
    (p50/p90/p99/max), ``achieved_rate_per_second`` and the publishing counters.

    ```json
    {
      "type": "action",
      "name": "customers-in-us-east-1",
      "background": true,
      "provider": {
        "type": "python",
        "module": "chaosaws_serverless.loadgen.actions",
        "func": "generate_load",
        "arguments": {
          "url": "https://example.mydomain.com/api/hello",
          "rate_per_second": 20,
          "duration_seconds": 600,
          "client_region": "us-east-1",
          "region": "us-east-1"
        }
      }
    }
    ```
    """
    config = load_config(
        url,
        rate_per_second,
        duration_seconds,
        client_region=client_region,
        publish=publish,
        namespace=namespace,
        timeout_seconds=timeout_seconds,
        interval_seconds=interval_seconds,
        storage_resolution=storage_resolution,
        region_pattern=region_pattern,
        region=region,
        configuration=configuration,
    )
    publisher = make_publisher(publish, config, region, configuration, secrets)
    # Imported here: aiohttp is an optional extra and discovery must not need it.
    from chaosaws_serverless.loadgen.engine import run_load_sync

    logger.info(
        "load: %s req/s for %s s on %s (client region %s, publish %s)",
        config.rate_per_second,
        config.duration_seconds,
        config.url,
        config.client_region,
        publish,
    )
    summary = run_load_sync(config, publisher=publisher)
    if summary.get("failed_calls"):
        logger.warning(
            "load: %d PutMetricData calls failed (%s)",
            summary["failed_calls"],
            summary.get("last_error"),
        )
    return summary


def load_config(
    url: str,
    rate_per_second: float,
    duration_seconds: float,
    *,
    client_region: Optional[str],
    publish: str,
    namespace: Optional[str],
    timeout_seconds: float,
    interval_seconds: float,
    storage_resolution: int,
    region_pattern: str,
    region: Optional[str],
    configuration: Configuration,
) -> LoadConfig:
    """Return the validated ``LoadConfig`` of an activity call (no AWS call)."""
    if publish not in PUBLISH_MODES:
        raise ActivityFailed(f"publish must be one of {', '.join(PUBLISH_MODES)}, got {publish!r}")
    # Customers default to the region their metrics go to; without one, no dimension.
    has_region = publish == "cloudwatch" or region or (configuration or {}).get("aws_region")
    if client_region is None and has_region:
        client_region = resolve_region(region, configuration)
    try:
        return LoadConfig(
            url=url,
            rate_per_second=rate_per_second,
            duration_seconds=duration_seconds,
            client_region=client_region,
            timeout_seconds=timeout_seconds,
            interval_seconds=interval_seconds,
            storage_resolution=storage_resolution,
            region_pattern=region_pattern,
            namespace=namespace or DEFAULT_NAMESPACE,
        )
    except LoadConfigError as error:
        raise ActivityFailed(str(error)) from error


def make_publisher(
    publish: str,
    config: LoadConfig,
    region: Optional[str],
    configuration: Configuration,
    secrets: Secrets,
) -> Any:
    """Return the publisher of a mode; CloudWatch clients come from the one client layer."""
    from chaosaws_serverless.loadgen.publish import (
        CloudWatchPublisher,
        EmfPublisher,
        NullPublisher,
    )

    if publish == "cloudwatch":
        return CloudWatchPublisher(
            client("cloudwatch", region, configuration, secrets),
            config.namespace,
            config.url,
            config.client_region,
            config.storage_resolution,
        )
    if publish == "emf":
        return EmfPublisher(
            config.namespace, config.url, config.client_region, config.storage_resolution
        )
    return NullPublisher()
