"""Pure helpers of latency routing: region distances and the route Route 53 would answer.

Route 53 answers a latency record set with the healthy record of the lowest
measured latency from the resolver. Offline we approximate that latency with
the great-circle distance between the client's region and each record's
region (network latency grows with distance). ``REGION_LOCATIONS`` holds the
approximate location of each AWS region; the configuration key
``route53_region_latency_ms`` overrides it with measured figures::

    "route53_region_latency_ms": {"us-east-1": {"us-east-1": 5, "eu-west-1": 75}}

(client region → record region → latency; lower wins; the table is read in both
directions). When every record is unhealthy Route 53 answers as if all were
healthy, and so does :func:`choose_route`.
"""

import math
from collections.abc import Mapping
from typing import Any

from chaoslib.exceptions import ActivityFailed

__all__ = ["REGION_LOCATIONS", "choose_route", "region_cost"]

# (latitude, longitude) of the metro area of each region.
REGION_LOCATIONS: dict[str, tuple[float, float]] = {
    "us-east-1": (38.9, -77.4),  # N. Virginia
    "us-east-2": (40.0, -83.0),  # Ohio
    "us-west-1": (37.4, -121.9),  # N. California
    "us-west-2": (45.8, -119.7),  # Oregon
    "ca-central-1": (45.5, -73.6),  # Montreal
    "ca-west-1": (51.0, -114.1),  # Calgary
    "mx-central-1": (20.6, -100.4),  # Querétaro
    "sa-east-1": (-23.5, -46.6),  # São Paulo
    "eu-west-1": (53.3, -6.3),  # Dublin
    "eu-west-2": (51.5, -0.1),  # London
    "eu-west-3": (48.9, 2.4),  # Paris
    "eu-central-1": (50.1, 8.7),  # Frankfurt
    "eu-central-2": (47.4, 8.5),  # Zurich
    "eu-north-1": (59.3, 18.1),  # Stockholm
    "eu-south-1": (45.5, 9.2),  # Milan
    "eu-south-2": (41.6, -0.9),  # Aragón
    "il-central-1": (32.1, 34.8),  # Tel Aviv
    "me-central-1": (25.2, 55.3),  # UAE
    "me-south-1": (26.1, 50.6),  # Bahrain
    "af-south-1": (-33.9, 18.4),  # Cape Town
    "ap-south-1": (19.1, 72.9),  # Mumbai
    "ap-south-2": (17.4, 78.5),  # Hyderabad
    "ap-east-1": (22.3, 114.2),  # Hong Kong
    "ap-southeast-1": (1.3, 103.8),  # Singapore
    "ap-southeast-2": (-33.9, 151.2),  # Sydney
    "ap-southeast-3": (-6.2, 106.8),  # Jakarta
    "ap-southeast-4": (-37.8, 145.0),  # Melbourne
    "ap-southeast-5": (3.1, 101.7),  # Malaysia
    "ap-northeast-1": (35.7, 139.7),  # Tokyo
    "ap-northeast-2": (37.6, 127.0),  # Seoul
    "ap-northeast-3": (34.7, 135.5),  # Osaka
}


def _distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def region_cost(client_region: str, record_region: str, overrides: Any = None) -> float:
    """Return the routing cost (lower is closer) from ``client_region`` to ``record_region``."""
    if overrides is not None and not isinstance(overrides, Mapping):
        raise ActivityFailed(
            "configuration 'route53_region_latency_ms' must map client region to "
            f"{{record region: latency}}, got {overrides!r}"
        )
    for a, b in ((client_region, record_region), (record_region, client_region)):
        row = (overrides or {}).get(a)
        if isinstance(row, Mapping) and b in row:
            return float(row[b])
    if overrides:
        # Mixing measured milliseconds with kilometres would compare apples and oranges.
        raise ActivityFailed(
            f"configuration 'route53_region_latency_ms' has no figure between {client_region} "
            f"and {record_region}; add one (client region → record region → ms)"
        )
    if client_region == record_region:
        return 0.0
    for name in (client_region, record_region):
        if name not in REGION_LOCATIONS:
            raise ActivityFailed(
                f"region {name!r} is not in the latency table of chaosaws_serverless.route53."
                "routing; check the name, or give measured figures in the configuration key "
                "'route53_region_latency_ms'"
            )
    return _distance_km(REGION_LOCATIONS[client_region], REGION_LOCATIONS[record_region])


def choose_route(
    client_region: str, health_by_region: Mapping[str, bool], overrides: Any = None
) -> str:
    """Return the record region latency routing answers for ``client_region``.

    ``health_by_region`` maps each record's region to whether it is healthy.
    Ties go to the alphabetically first region, so the answer is deterministic.
    """
    if not health_by_region:
        raise ActivityFailed("no latency records to route between")
    healthy = [r for r, ok in health_by_region.items() if ok] or list(health_by_region)
    return min(healthy, key=lambda r: (region_cost(client_region, r, overrides), r))
