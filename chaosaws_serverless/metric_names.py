"""Names of the custom metrics the load generator publishes and the probes read.

One module, so the publisher (``loadgen``) and the readers
(``cloudwatch.probes``, the lab's dashboard) can never disagree. The load
generator publishes *counts* per interval, never percentages: ratios are
computed from raw sums by the readers.
"""

DEFAULT_NAMESPACE = "ChaosServerless"

STATUS_2XX = "status_2xx"
STATUS_4XX = "status_4xx"
STATUS_5XX = "status_5xx"
# Requests that got no HTTP answer at all: they count as failures for customers.
STATUS_TIMEOUT = "status_timeout"
STATUS_CONNECT_ERROR = "status_connect_error"
# Something answered, but not with HTTP (garbage, a broken proxy): a failure for
# customers, kept apart from connect errors.
STATUS_INVALID_RESPONSE = "status_invalid_response"
STATUS_METRICS = (
    STATUS_2XX,
    STATUS_4XX,
    STATUS_5XX,
    STATUS_TIMEOUT,
    STATUS_CONNECT_ERROR,
    STATUS_INVALID_RESPONSE,
)

# 1 when the load generator could not keep the asked rate in that interval (it shed more
# than 1 % of due requests, or its event loop stalled): its counts and latency measure the
# generator, not the API. Readers must not judge the API on such an interval.
GENERATOR_SATURATED = "generator_saturated"
# Requests the generator itself shed because it was behind (part of no status metric).
GENERATOR_SHED = "generator_shed"

# Dimension names: the API URL the customers called, and where those customers are.
DIMENSION_URL = "Url"
DIMENSION_CLIENT_REGION = "ClientRegion"

# Route 53 publishes health-check status only in us-east-1.
ROUTE53_NAMESPACE = "AWS/Route53"
HEALTH_CHECK_STATUS = "HealthCheckStatus"
ROUTE53_METRICS_REGION = "us-east-1"


def region_metric(region: str) -> str:
    """Return the metric name counting answers served by ``region`` (``region_us-east-1``)."""
    return f"region_{region}"


def region_of_metric(metric_name: str) -> str | None:
    """Return the region a ``region_<region>`` metric counts, or None for other metrics."""
    prefix = "region_"
    return metric_name[len(prefix) :] if metric_name.startswith(prefix) else None


# The no-answer and garbage outcomes count as failures for customers, next to 5xx.
ERROR_METRICS = (STATUS_5XX, STATUS_TIMEOUT, STATUS_CONNECT_ERROR, STATUS_INVALID_RESPONSE)
# Latency distribution per interval (Values/Counts), milliseconds from the intended send time.
LATENCY_MS = "latency_ms"

# Requests slower than each threshold, counted per interval (zeros included). A latency
# objective ("at most 1 % of requests slower than 1 s") is then a ratio of sums, which
# every CloudWatch endpoint answers; percentiles of ``latency_ms`` need AWS (moto refuses
# percentile statistics). A latency objective's threshold must be one of these.
LATENCY_THRESHOLDS_MS = (100, 200, 300, 500, 1000, 2000, 5000, 10000)


def slower_than_metric(threshold_ms: int) -> str:
    """Return the metric counting requests slower than ``threshold_ms`` (latency_over_1000ms)."""
    return f"latency_over_{threshold_ms}ms"
