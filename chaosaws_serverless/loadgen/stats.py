"""Classification of answers and per-interval statistics.

Every request ends in exactly one class: ``2xx``, ``4xx``, ``5xx`` (any other
HTTP status is counted with its hundred: 1xx/3xx land in ``other``),
``timeout``, ``connect_error`` (the host could not be reached or dropped the
connection) or ``invalid_response`` (something answered, but not HTTP). Latency
goes into an HdrHistogram in microseconds (1 µs .. 1 h, 3 significant digits).

The generator's own lag is kept apart from the API's answers: ``shed`` counts
requests the generator itself could not send within ``max_send_lag_seconds`` of
their intended time (the loop was behind), ``send_slip_max_s`` and
``loop_lag_max_s`` how far behind it was, ``busy_max`` how busy its busiest
thread was. An interval in which the generator shed more than 1 % of what came
due is ``saturated``: its counts measure the generator, not the API.
"""

import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Optional

from hdrh.histogram import HdrHistogram

from chaosaws_serverless import metric_names

__all__ = [
    "CLASSES",
    "SATURATION_SHED_FRACTION",
    "IntervalStats",
    "RunTotals",
    "classify_status",
    "new_histogram",
    "parse_region",
]

CLASSES = ("2xx", "4xx", "5xx", "timeout", "connect_error", "invalid_response", "other")
# Class -> published metric name ("other" has none: 1xx/3xx are not customer outcomes here).
METRIC_OF_CLASS = {
    "2xx": metric_names.STATUS_2XX,
    "4xx": metric_names.STATUS_4XX,
    "5xx": metric_names.STATUS_5XX,
    "timeout": metric_names.STATUS_TIMEOUT,
    "connect_error": metric_names.STATUS_CONNECT_ERROR,
    "invalid_response": metric_names.STATUS_INVALID_RESPONSE,
}

_LOWEST_US, _HIGHEST_US, _DIGITS = 1, 3_600_000_000, 3
# An interval whose generator shed more than this fraction of its due requests is saturated.
SATURATION_SHED_FRACTION = 0.01


def new_histogram() -> HdrHistogram:
    """Return an empty latency histogram in microseconds."""
    return HdrHistogram(_LOWEST_US, _HIGHEST_US, _DIGITS)


def classify_status(status: int) -> str:
    """Return the class of an HTTP status code (``503`` -> ``"5xx"``)."""
    if 200 <= status < 300:
        return "2xx"
    if 400 <= status < 500:
        return "4xx"
    if 500 <= status < 600:
        return "5xx"
    return "other"


def parse_region(pattern: "re.Pattern[bytes]", body: bytes) -> Optional[str]:
    """Return the region an answer names (group ``region`` or the only group), or None."""
    match = pattern.search(body)
    if match is None:
        return None
    group = match.group("region") if "region" in pattern.groupindex else match.group(1)
    return group.decode("ascii", "replace") if group else None


@dataclass
class IntervalStats:
    """Counts and latencies of the requests that finished in one interval."""

    start_epoch: float = field(default_factory=time.time)
    end_epoch: float = 0.0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CLASSES, 0))
    regions: dict[str, int] = field(default_factory=dict)
    region_unparsed: int = 0
    dropped: int = 0
    sent: int = 0
    # Latencies in µs: read through ``histogram``. hdrh's record_value is Python, so
    # ``record`` only appends, and values are folded in once per distinct value.
    _recorded: HdrHistogram = field(default_factory=new_histogram, repr=False)
    pending_us: list[int] = field(default_factory=list, repr=False, compare=False)
    # The generator's own lag (see the module docstring); shed requests are in dropped too.
    shed: int = 0
    send_slip_max_s: float = 0.0
    loop_lag_max_s: float = 0.0
    busy_max: float = 0.0  # busiest thread of the generator, fraction of the time (Linux)
    saturated: bool = False

    @property
    def histogram(self) -> HdrHistogram:
        """Return the latency histogram (µs), every recorded request in it."""
        if self.pending_us:
            self._fold_pending()
        return self._recorded

    def is_saturated(self) -> bool:
        """Return whether the generator shed more than 1 % of the requests due.

        A loop stall longer than the send lag bound sheds what came due during it,
        so stalls count here by what they cost, not by a single slow wake-up.
        """
        return self.saturated or self.shed > SATURATION_SHED_FRACTION * (self.sent + self.dropped)

    def judge_saturation(self) -> bool:
        """Set ``saturated`` from ``is_saturated`` (when the interval closes) and return it."""
        self.saturated = self.is_saturated()
        return self.saturated

    def merge(self, other: "IntervalStats") -> None:
        """Add another worker's interval of the same period into this one."""
        for klass, count in other.counts.items():
            self.counts[klass] = self.counts.get(klass, 0) + count
        for region, count in other.regions.items():
            self.regions[region] = self.regions.get(region, 0) + count
        self.region_unparsed += other.region_unparsed
        self.dropped += other.dropped
        self.sent += other.sent
        self.shed += other.shed
        self.send_slip_max_s = max(self.send_slip_max_s, other.send_slip_max_s)
        self.loop_lag_max_s = max(self.loop_lag_max_s, other.loop_lag_max_s)
        self.busy_max = max(self.busy_max, other.busy_max)
        self.saturated = self.saturated or other.saturated
        self.start_epoch = min(self.start_epoch, other.start_epoch)
        self.end_epoch = max(self.end_epoch, other.end_epoch)
        if other.histogram.get_total_count():
            self.histogram.add(other.histogram)

    def to_wire(self) -> dict[str, Any]:
        """Return a picklable, compact form (the histogram HdrHistogram-encoded)."""
        wire = {name: getattr(self, name) for name in _WIRE_FIELDS}
        wire["counts"], wire["regions"] = dict(self.counts), dict(self.regions)
        wire["histogram"] = (
            self.histogram.encode().decode("ascii") if self.histogram.get_total_count() else ""
        )
        return wire

    @classmethod
    def from_wire(cls, wire: dict[str, Any]) -> "IntervalStats":
        """Rebuild an interval from ``to_wire``'s form."""
        interval = cls(**{name: wire[name] for name in _WIRE_FIELDS})
        interval.counts = {**dict.fromkeys(CLASSES, 0), **wire["counts"]}
        interval.regions = dict(wire["regions"])
        if wire["histogram"]:
            interval.histogram.decode_and_add(wire["histogram"])
        return interval

    def record(self, klass: str, latency_s: float, region: Optional[str] = None) -> None:
        """Count one finished request."""
        self.counts[klass] += 1
        self.pending_us.append(int(latency_s * 1e6))
        if region is not None:
            self.regions[region] = self.regions.get(region, 0) + 1
        elif klass == "2xx":
            self.region_unparsed += 1

    def _fold_pending(self) -> None:
        pending, self.pending_us = self.pending_us, []
        record = self._recorded.record_value
        for value, count in Counter(pending).items():
            record(min(_HIGHEST_US, max(_LOWEST_US, value)), count)

    @property
    def completed(self) -> int:
        """Return how many requests finished (any class)."""
        return sum(self.counts.values())

    def latency_ms(self) -> dict[str, Optional[float]]:
        """Return p50/p90/p99/max latency in milliseconds (None when nothing finished)."""
        return latency_summary_ms(self.histogram)


_WIRE_FIELDS = (
    "start_epoch",
    "end_epoch",
    "region_unparsed",
    "dropped",
    "sent",
    "shed",
    "send_slip_max_s",
    "loop_lag_max_s",
    "busy_max",
    "saturated",
)


def latency_summary_ms(histogram: HdrHistogram) -> dict[str, Optional[float]]:
    """Return p50/p90/p99/max of a microsecond histogram, in milliseconds."""
    if histogram.get_total_count() == 0:
        return {"p50": None, "p90": None, "p99": None, "max": None}
    values = histogram.get_percentile_to_value_dict([50, 90, 99])
    return {
        "p50": round(values[50] / 1000, 3),
        "p90": round(values[90] / 1000, 3),
        "p99": round(values[99] / 1000, 3),
        "max": round(histogram.get_max_value() / 1000, 3),
    }


@dataclass
class RunTotals:
    """The sum of every interval of a run."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CLASSES, 0))
    regions: dict[str, int] = field(default_factory=dict)
    region_unparsed: int = 0
    dropped: int = 0
    sent: int = 0
    intervals: int = 0
    histogram: HdrHistogram = field(default_factory=new_histogram)
    shed: int = 0
    saturated_intervals: int = 0
    send_slip_max_s: float = 0.0
    loop_lag_max_s: float = 0.0
    busy_max: float = 0.0

    def add(self, interval: IntervalStats) -> None:
        """Fold one closed interval into the totals."""
        for klass, count in interval.counts.items():
            self.counts[klass] += count
        for region, count in interval.regions.items():
            self.regions[region] = self.regions.get(region, 0) + count
        self.region_unparsed += interval.region_unparsed
        self.dropped += interval.dropped
        self.sent += interval.sent
        self.intervals += 1
        self.shed += interval.shed
        self.saturated_intervals += int(interval.saturated)
        self.send_slip_max_s = max(self.send_slip_max_s, interval.send_slip_max_s)
        self.loop_lag_max_s = max(self.loop_lag_max_s, interval.loop_lag_max_s)
        self.busy_max = max(self.busy_max, interval.busy_max)
        if interval.histogram.get_total_count():
            self.histogram.add(interval.histogram)

    @property
    def completed(self) -> int:
        """Return how many requests finished (any class)."""
        return sum(self.counts.values())

    def summary(self, elapsed_s: float, planned: int) -> dict[str, Any]:
        """Return the JSON-friendly summary of the run."""
        return {
            "planned": planned,
            "sent": self.sent,
            "dropped": self.dropped,
            "completed": self.completed,
            **{metric_names_of(k): v for k, v in self.counts.items()},
            "regions": dict(sorted(self.regions.items())),
            "region_unparsed": self.region_unparsed,
            "latency_ms": latency_summary_ms(self.histogram),
            "elapsed_seconds": round(elapsed_s, 3),
            "achieved_rate_per_second": round(self.completed / elapsed_s, 1) if elapsed_s else 0.0,
            "intervals": self.intervals,
            # Never silently valid: a saturated run's latency and counts measure the generator.
            "saturated": self.saturated_intervals > 0,
            "saturated_intervals": self.saturated_intervals,
            "shed": self.shed,
            "generator_lag_ms": {
                "send_slip_max": round(self.send_slip_max_s * 1000, 3),
                "loop_lag_max": round(self.loop_lag_max_s * 1000, 3),
            },
            "generator_busy_max": round(self.busy_max, 3),
        }


def metric_names_of(klass: str) -> str:
    """Return the summary key of a class: the metric name, or ``status_other``."""
    return METRIC_OF_CLASS.get(klass, "status_other")
