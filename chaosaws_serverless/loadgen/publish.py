"""Publishing of per-interval statistics: CloudWatch, Embedded Metric Format, none.

A publisher receives one closed ``IntervalStats`` per interval (never one call
per request), so the number of API calls depends on the interval and the number
of regions seen, not on the request rate. Publishers run in one worker thread
owned by the engine, in interval order, and never raise: a failed publish is
retried, then logged and counted, and the load goes on.

Metrics of an interval, all with the dimensions ``Url`` and ``ClientRegion``
(``ClientRegion`` omitted when unknown):

- ``status_2xx`` .. ``status_connect_error``, ``status_invalid_response``: counts
  (zeros included, so a reader sees "no failures" rather than "no data");
- ``generator_saturated`` (1/0) and ``generator_shed``: the generator could not
  keep the asked rate in that interval (see ``stats``); a saturated interval is
  never a valid measurement of the API;
- ``region_<region>``: answers served by each region seen so far in the run
  (zero once a region stops answering);
- ``latency_over_<N>ms``: requests slower than each of
  ``metric_names.LATENCY_THRESHOLDS_MS`` (zeros included), so a latency
  objective is a ratio of sums;
- ``latency_ms``: the latency distribution as ``Values``/``Counts`` (CloudWatch
  only; values rounded to 2 significant digits, at most 150 per datum).
"""

import json
import logging
import math
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import IO, Any, Optional, Protocol

from chaosaws_serverless import metric_names
from chaosaws_serverless.loadgen.stats import METRIC_OF_CLASS, IntervalStats

__all__ = [
    "MAX_DATUMS_PER_CALL",
    "MAX_VALUES_PER_DATUM",
    "CallbackPublisher",
    "CloudWatchPublisher",
    "EmfPublisher",
    "NullPublisher",
    "Publisher",
    "batches",
    "metric_data",
]

logger = logging.getLogger(__name__)

# PutMetricData limits: 1000 metric datums and 1 MB of payload per call, 150 distinct
# values per datum. EMF: 100 metrics per log event.
MAX_DATUMS_PER_CALL = 1000
MAX_VALUES_PER_DATUM = 150
MAX_PAYLOAD_BYTES = 900_000  # below 1 MB with room for the request envelope
MAX_EMF_METRICS = 100


class Publisher(Protocol):
    """What the engine calls once per closed interval (in its publisher thread)."""

    def publish(self, interval: IntervalStats) -> None: ...

    def stats(self) -> dict[str, Any]: ...


def dimensions(url: str, client_region: Optional[str]) -> list[dict[str, str]]:
    """Return the CloudWatch dimensions of every metric of a run."""
    dims = [{"Name": metric_names.DIMENSION_URL, "Value": url}]
    if client_region:
        dims.append({"Name": metric_names.DIMENSION_CLIENT_REGION, "Value": client_region})
    return dims


def counts_of(interval: IntervalStats, known_regions: Iterable[str]) -> dict[str, int]:
    """Return metric name -> count for one interval (zeros for regions seen before)."""
    counts = {metric: interval.counts[klass] for klass, metric in METRIC_OF_CLASS.items()}
    counts[metric_names.GENERATOR_SATURATED] = int(interval.saturated)
    counts[metric_names.GENERATOR_SHED] = interval.shed
    for region in sorted(set(known_regions) | set(interval.regions)):
        counts[metric_names.region_metric(region)] = interval.regions.get(region, 0)
    counts.update(slower_than_counts(interval))
    return counts


def slower_than_counts(interval: IntervalStats) -> dict[str, int]:
    """Return ``latency_over_<N>ms`` -> requests of the interval slower than N ms.

    From the interval's histogram (3 significant digits): the requests in the
    buckets after the one holding N. One slice of the counts array per
    threshold (about 1 ms), not a walk of the recorded values in Python (about
    200 ms per interval, which stalls a process that also serves requests).
    """
    histogram = interval.histogram
    total = histogram.get_total_count()
    counts: dict[str, int] = {}
    below, done = 0, 0
    for threshold_ms in sorted(metric_names.LATENCY_THRESHOLDS_MS):
        index = min(histogram.get_counts_array_index(threshold_ms * 1000), histogram.counts_len - 1)
        if total:
            below += sum(histogram.counts[done : index + 1])
            done = index + 1
        counts[metric_names.slower_than_metric(threshold_ms)] = total - below
    return counts


def latency_values(interval: IntervalStats) -> list[tuple[float, int]]:
    """Return (latency ms rounded to 2 significant digits, count) pairs of an interval."""
    # One pass over a plain copy of the counts array, with the value of each non-empty
    # bucket as hdrh's recorded iterator reports it (the bucket's highest equivalent
    # value): the iterator's per-bucket Python objects cost about 100 ms per interval,
    # which stalls a process that also serves requests (the lab).
    histogram = interval.histogram
    merged: dict[float, int] = {}
    for index, count in enumerate(histogram.counts[: histogram.counts_len]):
        if count:
            value_us = histogram.get_highest_equivalent_value(histogram.get_value_from_index(index))
            value_ms = _round_significant(value_us / 1000, 2)
            merged[value_ms] = merged.get(value_ms, 0) + count
    return sorted(merged.items())


def metric_data(
    interval: IntervalStats,
    url: str,
    client_region: Optional[str],
    storage_resolution: int,
    known_regions: Iterable[str] = (),
) -> list[dict[str, Any]]:
    """Return the PutMetricData datums of one interval (pure)."""
    dims = dimensions(url, client_region)
    timestamp = datetime.fromtimestamp(interval.start_epoch, UTC)
    common = {"Dimensions": dims, "Timestamp": timestamp, "StorageResolution": storage_resolution}
    data: list[dict[str, Any]] = [
        {"MetricName": name, "Value": float(count), "Unit": "Count", **common}
        for name, count in counts_of(interval, known_regions).items()
    ]
    pairs = latency_values(interval)
    for start in range(0, len(pairs), MAX_VALUES_PER_DATUM):
        chunk = pairs[start : start + MAX_VALUES_PER_DATUM]
        data.append(
            {
                "MetricName": metric_names.LATENCY_MS,
                "Values": [value for value, _ in chunk],
                "Counts": [float(count) for _, count in chunk],
                "Unit": "Milliseconds",
                **common,
            }
        )
    return data


def batches(data: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """Yield the datums in PutMetricData-sized calls (≤1000 datums, < 1 MB)."""
    batch: list[dict[str, Any]] = []
    size = 0
    for datum in data:
        datum_size = len(json.dumps(datum, default=str))
        if batch and (len(batch) >= MAX_DATUMS_PER_CALL or size + datum_size > MAX_PAYLOAD_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(datum)
        size += datum_size
    if batch:
        yield batch


class CloudWatchPublisher:
    """Publish each interval with PutMetricData through an injected boto3 client."""

    def __init__(
        self,
        client: Any,
        namespace: str,
        url: str,
        client_region: Optional[str],
        storage_resolution: int = 1,
        attempts: int = 3,
        backoff_seconds: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.namespace = namespace
        self.url = url
        self.client_region = client_region
        self.storage_resolution = storage_resolution
        self.attempts = attempts
        self.backoff_seconds = backoff_seconds
        self._sleep = sleep
        self._known_regions: set[str] = set()
        self._lock = threading.Lock()
        self.calls = 0
        self.failed_calls = 0
        self.datums = 0
        self.last_error: Optional[str] = None

    def publish(self, interval: IntervalStats) -> None:
        """Put the interval's datums, retrying each call; never raise."""
        data = metric_data(
            interval, self.url, self.client_region, self.storage_resolution, self._known_regions
        )
        self._known_regions.update(interval.regions)
        for batch in batches(data):
            self._put(batch)

    def _put(self, batch: list[dict[str, Any]]) -> None:
        for attempt in range(1, self.attempts + 1):
            with self._lock:
                self.calls += 1
            try:
                self.client.put_metric_data(Namespace=self.namespace, MetricData=batch)
            except Exception as error:  # any failure: retry, then count; the load goes on
                self.last_error = f"{type(error).__name__}: {error}"
                if attempt < self.attempts:
                    self._sleep(self.backoff_seconds * 2 ** (attempt - 1))
                    continue
                with self._lock:
                    self.failed_calls += 1
                logger.warning(
                    "cloudwatch:PutMetricData to namespace %r failed after %d attempts (%s); "
                    "%d datums lost, the load goes on",
                    self.namespace,
                    attempt,
                    self.last_error,
                    len(batch),
                )
                return
            with self._lock:
                self.datums += len(batch)
            return

    def stats(self) -> dict[str, Any]:
        """Return what was published: calls (including retries), failures, datums."""
        return {
            "publish": "cloudwatch",
            "namespace": self.namespace,
            "put_metric_data_calls": self.calls,
            "failed_calls": self.failed_calls,
            "datums": self.datums,
            "last_error": self.last_error,
        }


class EmfPublisher:
    """Write each interval as Embedded Metric Format JSON lines (CloudWatch Logs extracts them).

    Inside Lambda, stdout goes to CloudWatch Logs, which turns these lines into
    metrics without any API call from the function.
    """

    def __init__(
        self,
        namespace: str,
        url: str,
        client_region: Optional[str],
        storage_resolution: int = 1,
        stream: Optional[IO[str]] = None,
    ) -> None:
        self.namespace = namespace
        self.url = url
        self.client_region = client_region
        self.storage_resolution = storage_resolution
        self.stream = stream
        self._known_regions: set[str] = set()
        self.lines = 0

    def records(self, interval: IntervalStats) -> list[dict[str, Any]]:
        """Return the EMF records of one interval (pure apart from the known regions)."""
        counts = counts_of(interval, self._known_regions)
        self._known_regions.update(interval.regions)
        dims = {metric_names.DIMENSION_URL: self.url}
        if self.client_region:
            dims[metric_names.DIMENSION_CLIENT_REGION] = self.client_region
        names = list(counts)
        records = []
        for start in range(0, len(names), MAX_EMF_METRICS):
            chunk = names[start : start + MAX_EMF_METRICS]
            metrics = [{"Name": n, "Unit": "Count"} for n in chunk]
            if self.storage_resolution == 1:
                for metric in metrics:
                    metric["StorageResolution"] = 1  # type: ignore[assignment]  # EMF takes an int
            record: dict[str, Any] = {
                "_aws": {
                    "Timestamp": int(interval.start_epoch * 1000),
                    "CloudWatchMetrics": [
                        {
                            "Namespace": self.namespace,
                            "Dimensions": [sorted(dims)],
                            "Metrics": metrics,
                        }
                    ],
                },
                **dims,
                **{n: counts[n] for n in chunk},
                # Not metrics: searchable with Logs Insights next to the counts.
                "latency_ms": interval.latency_ms(),
                "dropped": interval.dropped,
            }
            records.append(record)
        return records

    def publish(self, interval: IntervalStats) -> None:
        """Write the interval's records, one JSON object per line."""
        stream = self.stream or sys.stdout
        try:
            for record in self.records(interval):
                stream.write(json.dumps(record, separators=(",", ":")) + "\n")
                self.lines += 1
            stream.flush()
        except (OSError, ValueError) as error:  # a closed stdout must not stop the load
            logger.warning("could not write EMF lines: %s", error)

    def stats(self) -> dict[str, Any]:
        """Return how many EMF lines were written."""
        return {"publish": "emf", "namespace": self.namespace, "emf_lines": self.lines}


class NullPublisher:
    """Publish nothing (the summary and callbacks still see every interval)."""

    def publish(self, interval: IntervalStats) -> None:
        """Do nothing."""

    def stats(self) -> dict[str, Any]:
        """Return the mode."""
        return {"publish": "none"}


class CallbackPublisher:
    """Hand each closed interval to a function (a lab's dashboard, a test)."""

    def __init__(self, callback: Callable[[IntervalStats], None]) -> None:
        self.callback = callback
        self.intervals = 0

    def publish(self, interval: IntervalStats) -> None:
        """Call the callback; an exception in it is logged, never raised."""
        try:
            self.callback(interval)
            self.intervals += 1
        except Exception:  # a broken callback must not stop the load
            logger.exception("interval callback failed")

    def stats(self) -> dict[str, Any]:
        """Return how many intervals the callback received."""
        return {"publish": "callback", "intervals": self.intervals}


def _round_significant(value: float, digits: int) -> float:
    if value <= 0:
        return 0.0
    return round(value, digits - 1 - math.floor(math.log10(value)))
