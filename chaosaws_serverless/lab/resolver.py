"""Latency-based routing as Route 53 answers it, and the client-side DNS cache, for the lab.

:meth:`LatencyResolver.answer` is the authoritative answer: among the latency
records of a name, the one with the lowest network latency from the client's
region, skipping records whose health check is unhealthy (as the lab's
checkers see it); when every record is unhealthy, Route 53 answers as if all
were healthy. :meth:`LatencyResolver.resolve` is what a customer's resolver
does with it: cache the answer for the record's TTL. Records are re-read from
the emulator, so a change to the zone takes effect like on Route 53.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# Typical round trips between regions, in ms (the order is what matters). A
# region missing from the table is far from every other (250 ms).
NETWORK_LATENCY_MS: dict[frozenset[str], float] = {
    frozenset(("us-east-1", "us-east-2")): 12,
    frozenset(("us-east-1", "us-west-2")): 65,
    frozenset(("us-east-1", "eu-west-1")): 70,
    frozenset(("us-east-1", "eu-central-1")): 90,
    frozenset(("us-east-2", "eu-west-1")): 85,
    frozenset(("us-west-2", "eu-west-1")): 130,
    frozenset(("eu-west-1", "eu-central-1")): 25,
    frozenset(("us-east-1", "ap-southeast-1")): 215,
    frozenset(("eu-west-1", "ap-southeast-1")): 175,
}
FAR_MS = 250.0


def network_latency_ms(client_region: str, record_region: str) -> float:
    """Return the round trip the lab assumes between two regions (0 within one region)."""
    if client_region == record_region:
        return 0.0
    return NETWORK_LATENCY_MS.get(frozenset((client_region, record_region)), FAR_MS)


def normalize(name: str) -> str:
    return name.rstrip(".").lower()


@dataclass(frozen=True)
class Answer:
    """One DNS answer: the record chosen, where it points, and for how long it may be cached."""

    name: str
    region: str | None
    target: str
    ttl_seconds: int
    health_check_id: str | None


class NoSuchName(LookupError):
    """The zone has no record for the name asked."""


class LatencyResolver:
    """Answer names from the emulator's records, skipping unhealthy latency records."""

    def __init__(
        self,
        is_healthy: Callable[[str], bool],
        *,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[str, str, Answer | None, Answer], None] | None = None,
    ) -> None:
        self._is_healthy = is_healthy
        self._clock = clock
        self._on_change = on_change
        self._records: list[dict[str, Any]] = []
        self._cache: dict[tuple[str, str], tuple[float, Answer]] = {}
        self._last: dict[tuple[str, str], Answer] = {}

    def set_records(self, records: list[dict[str, Any]]) -> None:
        """Replace the zone's records (``ResourceRecordSets`` as Route 53 lists them)."""
        self._records = list(records)

    def answer(self, name: str, client_region: str) -> Answer:
        """Return Route 53's answer for ``name`` to a client in ``client_region`` right now."""
        wanted = normalize(name)
        records = [
            r
            for r in self._records
            if normalize(r["Name"]) == wanted and r.get("Type") in ("CNAME", "A")
        ]
        if not records:
            raise NoSuchName(f"no CNAME or A record named {name!r} in the lab's zone")
        latency = [r for r in records if r.get("Region")]
        if not latency:
            return _answer(wanted, records[0])
        healthy = [
            r
            for r in latency
            if not r.get("HealthCheckId") or self._is_healthy(str(r["HealthCheckId"]))
        ]
        candidates = healthy or latency  # all unhealthy: Route 53 treats all as healthy
        best = min(
            candidates,
            key=lambda r: (network_latency_ms(client_region, r["Region"]), r["Region"]),
        )
        return _answer(wanted, best)

    def resolve(self, name: str, client_region: str) -> Answer:
        """Return the answer a client in ``client_region`` uses: cached for the record's TTL."""
        key = (normalize(name), client_region)
        now = self._clock()
        cached = self._cache.get(key)
        if cached is not None and now < cached[0]:
            return cached[1]
        answer = self.answer(name, client_region)
        self._cache[key] = (now + answer.ttl_seconds, answer)
        previous = self._last.get(key)
        if self._on_change is not None and (previous is None or previous.target != answer.target):
            self._on_change(key[0], client_region, previous, answer)
        self._last[key] = answer
        return answer


def _answer(name: str, record: dict[str, Any]) -> Answer:
    values = record.get("ResourceRecords") or [{"Value": ""}]
    return Answer(
        name=name,
        region=record.get("Region"),
        target=normalize(str(values[0]["Value"])),
        ttl_seconds=int(record.get("TTL") or 0),
        health_check_id=record.get("HealthCheckId"),
    )
