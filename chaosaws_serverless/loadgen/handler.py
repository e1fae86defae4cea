"""AWS Lambda entry point: ``chaosaws_serverless.loadgen.handler.lambda_handler``.

The event carries the parameters of ``generate_load``::

    {"url": "https://example.mydomain.com/api/hello", "rate_per_second": 50,
     "duration_seconds": 600, "client_region": "us-east-1", "publish": "emf",
     "namespace": "ChaosServerless", "timeout_seconds": 5, "interval_seconds": 10}

``client_region`` defaults to the function's own region (``AWS_REGION``);
``publish`` defaults to ``"emf"``: the counts go to stdout as Embedded Metric
Format and CloudWatch Logs turns them into the same metrics, with no API call
and no throttling. The run must end before the invocation's deadline; the
handler refuses a ``duration_seconds`` that does not fit.

This module runs inside the Lambda bundle ``deploy_load_generator`` builds, which
carries only the load generator (no chaoslib): it imports nothing else of the package.
"""

import logging
import os
from typing import Any, Optional

from chaosaws_serverless.loadgen.config import PUBLISH_MODES, LoadConfig
from chaosaws_serverless.metric_names import DEFAULT_NAMESPACE

__all__ = ["config_from_event", "lambda_handler"]

logger = logging.getLogger(__name__)

# Time kept after the last request for draining and the final publish.
_DEADLINE_MARGIN_SECONDS = 5.0
_CONFIG_KEYS = (
    "timeout_seconds",
    "interval_seconds",
    "storage_resolution",
    "region_pattern",
    "max_in_flight",
)


def config_from_event(event: dict[str, Any], own_region: Optional[str]) -> tuple[LoadConfig, str]:
    """Return the validated config and publish mode of an invocation event."""
    if not isinstance(event, dict):
        raise ValueError(f"the event must be a JSON object, got {type(event).__name__}")
    missing = [k for k in ("url", "rate_per_second", "duration_seconds") if k not in event]
    if missing:
        raise ValueError(f"the event lacks {', '.join(missing)}; got keys {sorted(event)}")
    publish = event.get("publish") or "emf"
    if publish not in PUBLISH_MODES:
        raise ValueError(f"publish must be one of {', '.join(PUBLISH_MODES)}, got {publish!r}")
    options = {k: event[k] for k in _CONFIG_KEYS if event.get(k) is not None}
    config = LoadConfig(
        url=event["url"],
        rate_per_second=event["rate_per_second"],
        duration_seconds=event["duration_seconds"],
        client_region=event.get("client_region") or own_region,
        namespace=event.get("namespace") or DEFAULT_NAMESPACE,
        **options,
    )
    return config, publish


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Run the load an event describes and return its summary."""
    logging.getLogger().setLevel(logging.INFO)
    own_region = os.environ.get("AWS_REGION")
    config, publish = config_from_event(event, own_region)
    if context is not None and hasattr(context, "get_remaining_time_in_millis"):
        remaining = context.get_remaining_time_in_millis() / 1000
        needed = config.duration_seconds + config.timeout_seconds + _DEADLINE_MARGIN_SECONDS
        if needed > remaining:
            raise ValueError(
                f"duration_seconds {config.duration_seconds} + timeout_seconds "
                f"{config.timeout_seconds} + {_DEADLINE_MARGIN_SECONDS:g} s do not fit in the "
                f"{remaining:.0f} s this invocation has left; shorten the run or start "
                "several invocations one after the other"
            )
    from chaosaws_serverless.loadgen.engine import run_load_sync
    from chaosaws_serverless.loadgen.publish import (
        CloudWatchPublisher,
        EmfPublisher,
        NullPublisher,
    )

    publisher: Any
    if publish == "emf":
        publisher = EmfPublisher(
            config.namespace, config.url, config.client_region, config.storage_resolution
        )
    elif publish == "cloudwatch":
        # The bundle has no chaoslib, so not the package's client layer: the function's
        # own role and region, as any Lambda code uses them (boto3 is in the runtime).
        import boto3

        publisher = CloudWatchPublisher(
            boto3.client("cloudwatch"),
            config.namespace,
            config.url,
            config.client_region,
            config.storage_resolution,
        )
    else:
        publisher = NullPublisher()
    summary = run_load_sync(config, publisher=publisher, handle_signals=False)
    logger.info("load summary: %s", summary)
    return summary
