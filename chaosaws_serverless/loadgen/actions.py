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
from chaosaws_serverless.loadgen import deployment
from chaosaws_serverless.loadgen.config import (
    DEFAULT_REGION_PATTERN,
    PUBLISH_MODES,
    LoadConfig,
    LoadConfigError,
)
from chaosaws_serverless.loadgen.deployment import DEFAULT_FUNCTION_NAME
from chaosaws_serverless.metric_names import DEFAULT_NAMESPACE

__all__ = [
    "delete_load_generator",
    "deploy_load_generator",
    "generate_load",
    "start_load_generator",
]

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


def deploy_load_generator(
    role_arn: str,
    function_name: str = DEFAULT_FUNCTION_NAME,
    memory_mb: int = 1769,
    function_timeout_seconds: int = 900,
    dependencies_layer_arn: Optional[str] = None,
    region: Optional[str] = None,
    *,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> Dict[str, Any]:
    """Create or update the load generator's Lambda function in a region.

    Uploads a zip of the load generator (handler
    ``chaosaws_serverless.loadgen.handler.lambda_handler``, runtime matching
    this Python) to ``function_name`` in ``region`` (optional string; the
    configuration's ``aws_region`` when omitted), executed by ``role_arn``
    (needs the AWSLambdaBasicExecutionRole policy; add
    ``cloudwatch:PutMetricData`` to publish with ``"cloudwatch"`` instead of
    EMF). ``memory_mb`` (128..10240; 1769 gives one full vCPU) and
    ``function_timeout_seconds`` (1..900) bound what one invocation can send.
    Dependencies (aiohttp, hdrhistogram) are copied from this environment when
    it matches the runtime (Linux x86_64, same Python, old enough glibc);
    otherwise pass ``dependencies_layer_arn``, a layer built with
    ``pip install --target python/ --platform manylinux2014_x86_64
    --only-binary=:all: aiohttp hdrhistogram``. Deploying again updates code and
    configuration in place. Rollback: ``delete_load_generator``.

    Returns ``function_name``, ``function_arn``, ``region``, ``runtime``,
    ``code_sha256``, ``code_size``, ``created`` (bool) and ``dependencies``.

    ```json
    {
      "type": "action",
      "name": "deploy-customers-in-us-east-1",
      "provider": {
        "type": "python",
        "module": "chaosaws_serverless.loadgen.actions",
        "func": "deploy_load_generator",
        "arguments": {
          "role_arn": "arn:aws:iam::123456789012:role/loadgen",
          "region": "us-east-1"
        }
      }
    }
    ```
    """
    return deployment.deploy(
        role_arn,
        function_name,
        memory_mb,
        function_timeout_seconds,
        dependencies_layer_arn,
        region,
        configuration,
        secrets,
    )


def start_load_generator(
    url: str,
    rate_per_second: float,
    duration_seconds: float,
    client_region: Optional[str] = None,
    publish: str = "emf",
    namespace: Optional[str] = None,
    timeout_seconds: float = 5,
    invocations: int = 1,
    interval_seconds: float = 10,
    function_name: str = DEFAULT_FUNCTION_NAME,
    region: Optional[str] = None,
    *,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> Dict[str, Any]:
    """Start the deployed load generator asynchronously in a region.

    Invokes ``function_name`` in ``region`` (optional string; the
    configuration's ``aws_region`` when omitted) ``invocations`` times
    (1..1000) with ``InvocationType=Event`` and returns at once: each invocation
    sends ``rate_per_second / invocations`` requests per second to ``url`` for
    ``duration_seconds``, which must fit in the function's timeout with
    ``timeout_seconds`` + 5 s to spare. ``client_region`` (optional string)
    defaults to the function's region; ``publish`` defaults to ``"emf"``
    (metrics from the function's logs, no API calls). Other arguments as in
    ``generate_load``. Nothing to roll back: the invocations end by themselves.

    Returns ``function_name``, ``region``, ``invocations``,
    ``rate_per_invocation``, ``status_codes`` (202 each) and ``request_ids``.

    ```json
    {
      "type": "action",
      "name": "start-customers-in-eu-west-1",
      "provider": {
        "type": "python",
        "module": "chaosaws_serverless.loadgen.actions",
        "func": "start_load_generator",
        "arguments": {
          "url": "https://example.mydomain.com/api/hello",
          "rate_per_second": 200,
          "duration_seconds": 600,
          "invocations": 4,
          "region": "eu-west-1"
        }
      }
    }
    ```
    """
    deployment.check_function_name(function_name)
    deployment.check_invocations(invocations)
    region_name = resolve_region(region, configuration)
    config = load_config(
        url,
        deployment.rate_per_invocation(rate_per_second, invocations),
        duration_seconds,
        client_region=client_region or region_name,
        publish=publish,
        namespace=namespace,
        timeout_seconds=timeout_seconds,
        interval_seconds=interval_seconds,
        storage_resolution=1,
        region_pattern=DEFAULT_REGION_PATTERN,
        region=region_name,
        configuration=configuration,
    )
    return deployment.invoke(
        config, publish, invocations, function_name, region_name, configuration, secrets
    )


def delete_load_generator(
    function_name: str = DEFAULT_FUNCTION_NAME,
    region: Optional[str] = None,
    *,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> Dict[str, Any]:
    """Delete the load generator's Lambda function (rollback of ``deploy_load_generator``).

    Deletes ``function_name`` in ``region`` (optional string; the
    configuration's ``aws_region`` when omitted); a function that is already
    gone is not an error. Running invocations finish on their own.

    Returns ``{"function_name": ..., "region": ..., "deleted": bool}``.

    ```json
    {
      "type": "action",
      "name": "delete-customers-in-us-east-1",
      "provider": {
        "type": "python",
        "module": "chaosaws_serverless.loadgen.actions",
        "func": "delete_load_generator",
        "arguments": {"region": "us-east-1"}
      }
    }
    ```
    """
    return deployment.delete(function_name, region, configuration, secrets)
