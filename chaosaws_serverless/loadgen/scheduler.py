"""One run's state on its event loop: the schedule, the counts, the intervals.

``Run.schedule`` starts request ``i`` at ``start + i / rate`` (open loop) until
the plan is done or ``stop`` is set; each request's end comes back through
``Run.answered`` (the clients' ``done`` callback) and lands in the open
interval, which ``tick_intervals`` closes every ``interval_seconds``: into the
run's totals, to ``on_interval`` and to the publisher (in one worker thread,
in order). Everything here runs on the event loop's thread.
"""

import asyncio
import concurrent.futures
import contextlib
import logging
import math
import re
import time
from collections.abc import Callable
from typing import Any, Optional

from chaosaws_serverless.loadgen.clients.base import HttpClient
from chaosaws_serverless.loadgen.config import LoadConfig
from chaosaws_serverless.loadgen.governor import Governor
from chaosaws_serverless.loadgen.publish import Publisher
from chaosaws_serverless.loadgen.stats import IntervalStats, RunTotals, parse_region

__all__ = ["IntervalCallback", "ProgressCallback", "Run", "clock"]

logger = logging.getLogger(__name__)

# Intended and finish times: uvloop's loop.time() has 1 ms resolution, too coarse for latency.
clock = time.perf_counter
_MIN_SLEEP_SECONDS = 0.001

IntervalCallback = Callable[[IntervalStats], None]
ProgressCallback = Callable[[dict[str, Any]], None]


class Run:
    """State of one run; everything runs on its event loop's thread."""

    def __init__(
        self,
        config: LoadConfig,
        publisher: Publisher,
        on_interval: Optional[IntervalCallback],
        on_progress: Optional[ProgressCallback],
        progress_seconds: float,
        stop: asyncio.Event,
        governor: Governor,
    ) -> None:
        self.config = config
        self.publisher = publisher
        self.on_interval = on_interval
        self.on_progress = on_progress
        self.progress_seconds = progress_seconds
        self.stop = stop
        self.governor = governor
        self.pattern = re.compile(config.region_pattern.encode())
        self.regions_seen: dict[bytes, Optional[str]] = {}
        self.current = IntervalStats()
        self.totals = RunTotals()
        self.in_flight = 0
        self.scheduled = 0
        self.started_at = 0.0
        # One worker: intervals are published in order and never block the loop.
        self.executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="loadgen-pub")
        self.publishing: list[concurrent.futures.Future[None]] = []
        self.last_saturated = False
        self.phase = 0.0  # seconds added to every intended time (worker k of N: k / rate)

    def answered(self, klass: str, body: Optional[bytes], intended: float) -> None:
        """Count one request's end (the clients' ``done`` callback)."""
        if klass == "shed":  # no connection came free in time: it never left
            self.in_flight -= 1
            self.current.dropped += 1
            self.current.shed += 1
            return
        self.current.sent += 1  # counted when it ends: only then is it known to have left
        self.finish(klass, clock() - intended, self.region_of(body) if body else None)

    def region_of(self, body: bytes) -> Optional[str]:
        """Return the region an answer names; short bodies' answers are remembered."""
        # An API answers the same few bodies over and over: a dict hit is much cheaper
        # than the regex. Bounded: a body that varies (a request id) must not grow it.
        if body in self.regions_seen:
            return self.regions_seen[body]
        region = parse_region(self.pattern, body)
        if len(body) <= 512:
            if len(self.regions_seen) >= 1024:
                self.regions_seen.clear()
            self.regions_seen[body] = region
        return region

    def finish(self, klass: str, latency_s: float, region: Optional[str]) -> None:
        self.in_flight -= 1
        self.current.record(klass, latency_s, region)

    async def schedule(self, client: HttpClient) -> None:
        """Start requests at their intended times until the plan is done or stop is set.

        Requests already later than ``max_send_lag_seconds`` are shed in one step (no
        per-request work), so a generator that falls behind catches up with the plan
        at once instead of sending a backlog whose latency would be its own.
        """
        config = self.config
        rate = float(config.rate_per_second)
        planned = config.planned_requests
        cap = config.in_flight_cap
        max_lag = config.max_send_lag_seconds
        start = self.started_at + self.phase
        send = client.send
        answered = self.answered
        governor = self.governor
        i = 0
        while i < planned and not self.stop.is_set():
            now = clock()
            due = min(planned, int((now - start) * rate) + 1)
            # First index still within the send-lag bound: everything before it is shed.
            fresh = min(due, max(i, math.ceil((now - max_lag - start) * rate)))
            if fresh > i:
                self.current.dropped += fresh - i
                self.current.shed += fresh - i
                i = fresh
            current = self.current
            while i < due:
                if self.in_flight >= governor.flow_cap:
                    self.current.dropped += due - i  # counted, not queued
                    if self.in_flight < cap:
                        # Below the configured cap: the generator's own limit (see
                        # govern), so these were shed because it is behind.
                        self.current.shed += due - i
                    i = due
                    break
                intended = start + i / rate
                slip = clock() - intended
                i += 1
                if slip > max_lag:
                    # Sending this batch took the loop past the bound: sending it now
                    # would measure the generator's backlog, not the API. Shed it.
                    current.dropped += 1
                    current.shed += 1
                    continue
                if slip > current.send_slip_max_s:
                    current.send_slip_max_s = slip
                self.in_flight += 1
                send(answered, intended)
            self.scheduled = i
            if i >= planned:
                break
            delay = start + i / rate - clock()
            # Sleep until the next intended time, but at least 1 ms: waking more often
            # costs more CPU than the send slip it saves (which latency records anyway),
            # and uvloop's timers have 1 ms resolution. At most 50 ms, to notice stop.
            await asyncio.sleep(min(max(delay, _MIN_SLEEP_SECONDS), 0.05))

    async def drain(self, client: HttpClient) -> None:
        """Wait for outstanding requests up to the timeout, then end the rest as timeouts."""
        deadline = clock() + self.config.timeout_seconds + 1
        while self.in_flight > 0 and clock() < deadline:
            await asyncio.sleep(0.01)
        await client.abandon()  # still outstanding: the customer got nothing

    def close_interval(self) -> None:
        closed, self.current = self.current, IntervalStats()
        closed.end_epoch = time.time()
        self.last_saturated = closed.judge_saturation()
        self.totals.add(closed)
        if self.on_interval is not None:
            try:
                self.on_interval(closed)
            except Exception:  # a broken callback must not stop the load
                logger.exception("on_interval callback failed")
        # Only unfinished publishes are kept: a day-long run must not hold every interval.
        self.publishing = [future for future in self.publishing if not future.done()]
        self.publishing.append(self.executor.submit(self.publisher.publish, closed))

    async def tick_intervals(self) -> None:
        n = 1
        while True:
            due = self.started_at + n * self.config.interval_seconds
            await asyncio.sleep(max(0.0, due - clock()))
            self.close_interval()
            n += 1

    async def tick_progress(self) -> None:
        while self.on_progress is not None:
            await asyncio.sleep(self.progress_seconds)
            with contextlib.suppress(Exception):
                self.on_progress(self.snapshot())

    def snapshot(self) -> dict[str, Any]:
        """Return live counters (totals plus the open interval)."""
        counts = dict(self.totals.counts)
        for klass, count in self.current.counts.items():
            counts[klass] += count
        elapsed = clock() - self.started_at
        current = self.current
        sent = self.totals.sent + current.sent
        saturated_now = current.is_saturated() or self.last_saturated
        return {
            "elapsed_seconds": round(elapsed, 1),
            "sent": sent,
            "dropped": self.totals.dropped + current.dropped,
            "shed": self.totals.shed + current.shed,
            "completed": sum(counts.values()),
            "in_flight": self.in_flight,
            "counts": counts,
            "latency_ms": current.latency_ms(),
            # The open interval or the last closed one: what a live reader needs to know now.
            "saturated": saturated_now,
            "held_rate_per_second": round(sent / elapsed, 1) if elapsed > 0 else 0.0,
        }
