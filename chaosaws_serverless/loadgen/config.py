"""What one load run does: a validated, immutable ``LoadConfig``.

Pure: no I/O and no third-party imports, so the Lambda handler, the CLI and
the Chaos Toolkit action all validate the same way before sending anything.
"""

import re
from dataclasses import dataclass, field
from typing import Optional
from urllib.parse import urlsplit

from chaosaws_serverless.metric_names import DEFAULT_NAMESPACE
from chaosaws_serverless.patterns import REGION as _REGION

__all__ = [
    "DEFAULT_REGION_PATTERN",
    "HTTP_CLIENTS",
    "PUBLISH_MODES",
    "LoadConfig",
    "LoadConfigError",
]

# The reference API answers "Hello from region us-east-1".
DEFAULT_REGION_PATTERN = r"Hello from region (?P<region>[a-z]{2}(?:-[a-z]+)+-\d+)"
PUBLISH_MODES = ("cloudwatch", "emf", "none")
# auto: the cheapest per request that can serve the run (clients/choice.py).
HTTP_CLIENTS = ("auto", "httptools", "aiohttp")

MAX_RATE_PER_SECOND = 100_000
MAX_DURATION_SECONDS = 7 * 24 * 3600


class LoadConfigError(ValueError):
    """A load parameter is out of range; the message shows the value and the fix."""


@dataclass(frozen=True)
class LoadConfig:
    """Parameters of one open-loop run (validated on construction).

    ``rate_per_second`` requests start at evenly spaced intended times for
    ``duration_seconds``; at most ``max_in_flight`` are outstanding; a request
    that cannot start within ``max_send_lag_seconds`` of its intended time (or
    finds ``max_in_flight`` reached) is counted as dropped; the former also as
    ``shed``, and an interval that shed more than 1 % is ``saturated``. Latency is
    measured from the intended time (no coordinated omission), and the send lag
    bound keeps the generator's own queueing in it below 100 ms by default: past
    its capacity the generator sheds and says so instead of growing a backlog
    that would read as the API's latency.
    """

    url: str
    rate_per_second: float
    duration_seconds: float
    client_region: Optional[str] = None
    timeout_seconds: float = 5.0
    interval_seconds: float = 10.0
    max_in_flight: int = 0  # 0: rate_per_second * timeout_seconds, at least 100
    max_send_lag_seconds: float = 0.1
    max_connections: int = 0  # 0: min(in-flight cap, 1000)
    region_pattern: str = DEFAULT_REGION_PATTERN
    namespace: str = DEFAULT_NAMESPACE
    storage_resolution: int = 1  # high resolution: readers query 1..60 s periods
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)
    max_body_bytes: int = 65536
    # Customers re-resolve names: a latency-routed record changes on failover, and a
    # connection kept alive forever would pin a client to the old region.
    dns_cache_seconds: float = 10.0
    connection_max_age_seconds: float = 30.0
    verify_tls: bool = True
    http_client: str = "auto"

    def __post_init__(self) -> None:
        parts = urlsplit(str(self.url))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise LoadConfigError(
                f"url must be an http:// or https:// URL with a host, got {self.url!r}; "
                "e.g. 'https://example.mydomain.com/api/hello'"
            )
        _check_range("rate_per_second", self.rate_per_second, 0, MAX_RATE_PER_SECOND, "> 0 and ≤")
        _check_range(
            "duration_seconds", self.duration_seconds, 0, MAX_DURATION_SECONDS, "> 0 and ≤"
        )
        _check_range("timeout_seconds", self.timeout_seconds, 0, 900, "> 0 and ≤")
        _check_range("interval_seconds", self.interval_seconds, 0, 3600, "> 0 and ≤")
        _check_range("max_send_lag_seconds", self.max_send_lag_seconds, 0, 3600, "> 0 and ≤")
        if not isinstance(self.max_in_flight, int) or not 0 <= self.max_in_flight <= 1_000_000:
            raise LoadConfigError(
                f"max_in_flight must be an integer 0..1000000 (0 = rate x timeout), "
                f"got {self.max_in_flight!r}"
            )
        if not isinstance(self.max_connections, int) or not 0 <= self.max_connections <= 100_000:
            raise LoadConfigError(
                f"max_connections must be an integer 0..100000 (0 = min(in-flight cap, 1000)), "
                f"got {self.max_connections!r}"
            )
        if self.client_region is not None and not _REGION.match(str(self.client_region)):
            raise LoadConfigError(
                f"client_region must be an AWS region name such as 'us-east-1', "
                f"got {self.client_region!r}"
            )
        try:
            compiled = re.compile(self.region_pattern)
        except (re.error, TypeError) as error:
            raise LoadConfigError(
                f"region_pattern {self.region_pattern!r} is not a regular expression: {error}"
            ) from error
        if "region" not in compiled.groupindex and compiled.groups != 1:
            raise LoadConfigError(
                f"region_pattern {self.region_pattern!r} must have a group named 'region' "
                "(or exactly one group) capturing the answering region"
            )
        if self.storage_resolution not in (1, 60):
            raise LoadConfigError(
                f"storage_resolution must be 1 (high resolution) or 60 (standard), "
                f"got {self.storage_resolution!r}"
            )
        if not self.namespace or str(self.namespace).startswith("AWS/"):
            raise LoadConfigError(
                f"namespace must be a non-empty custom namespace (not 'AWS/...'), "
                f"got {self.namespace!r}"
            )
        _check_range("dns_cache_seconds", self.dns_cache_seconds, -1, 3600, "≥ 0 and ≤")
        _check_range(
            "connection_max_age_seconds", self.connection_max_age_seconds, 0, 86400, "> 0 and ≤"
        )
        if self.http_client not in HTTP_CLIENTS:
            raise LoadConfigError(
                f"http_client must be one of {', '.join(HTTP_CLIENTS)}, got {self.http_client!r}"
            )
        if self.http_client == "httptools" and self.method == "HEAD":
            raise LoadConfigError(
                "http_client 'httptools' cannot send HEAD (its parser would wait for a body): "
                "use http_client 'auto' or 'aiohttp'"
            )
        if self.max_body_bytes < 0:
            raise LoadConfigError(f"max_body_bytes must be ≥ 0, got {self.max_body_bytes!r}")

    @property
    def in_flight_cap(self) -> int:
        """Return the effective cap on outstanding requests."""
        if self.max_in_flight:
            return self.max_in_flight
        return max(100, int(self.rate_per_second * self.timeout_seconds) + 1)

    @property
    def connection_cap(self) -> int:
        """Return how many connections the run may open at once.

        Bounded so that a burst (after a pause of the machine) waits for a pooled
        connection instead of opening thousands of new ones, which costs more CPU
        than the requests and makes the generator fall behind for good. A request
        that waits longer than ``max_send_lag_seconds`` for one is shed (the
        httptools client): that queue is the generator's, not the API's.
        """
        return self.max_connections or min(self.in_flight_cap, 1000)

    @property
    def planned_requests(self) -> int:
        """Return how many requests the run intends to start."""
        return max(1, round(self.rate_per_second * self.duration_seconds))


def _check_range(name: str, value: object, low: float, high: float, words: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low < value <= high:
        raise LoadConfigError(f"{name} must be a number {words} {high:g}, got {value!r}")
