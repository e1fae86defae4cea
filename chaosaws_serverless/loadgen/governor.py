"""The CPU governor: how much a generator lets in flight, from its own lag.

A generator that is behind (its event loop wakes late, or its thread has no
CPU left) would make requests already in flight wait for it: that wait reads
as the API's latency. So every 100 ms the governor cuts the in-flight limit
below what is in flight (the scheduler sheds the excess and counts it) and
raises it again once the generator has slack (``govern``); the HTTP/1.1 pool
opens new connections only while its own thread has CPU to spare
(``Governor.has_slack``, from the last 10 ms, so a round of handshakes that
takes the thread's CPU stops the next at once): a TLS handshake would take the
CPU from requests.
Other processes keeping the thread off the CPU are no reason not to: the pool
of a slow API must still grow on a busy machine.
"""

import asyncio
import threading
import time
from pathlib import Path
from typing import Protocol

from chaosaws_serverless.loadgen.config import LoadConfig
from chaosaws_serverless.loadgen.stats import IntervalStats

__all__ = ["BUSY_SATURATED", "BUSY_SLACK", "Governor", "ThreadPressure", "govern"]

# A thread busy (running or runnable) this fraction of the time has no slack left.
BUSY_SATURATED = 0.95
BUSY_SLACK = 0.85
_MIN_FLOW_CAP = 8
# How often the loop-lag probe wakes: often enough to see a stall within an interval,
# rarely enough to cost nothing measurable (100 wake-ups a second).
_LAG_PROBE_SECONDS = 0.01
_clock = time.perf_counter


def govern(flow_cap: int, in_flight: int, cap: int, busy: float, loop_late: bool) -> int:
    """Return the next in-flight limit of a generator (pure; see ``Governor.watch``).

    Behind (its thread busy ≥ ``BUSY_SATURATED`` or loop late): 80 % of what is
    in flight, so the backlog drains. With slack (< ``BUSY_SLACK``): doubled, up
    to the configured cap. Between: unchanged.
    """
    if busy >= BUSY_SATURATED or loop_late:
        return max(_MIN_FLOW_CAP, min(flow_cap, int(in_flight * 0.8)))
    if busy < BUSY_SLACK:
        return min(cap, max(flow_cap * 2, _MIN_FLOW_CAP))
    return flow_cap


class ThreadPressure:
    """How busy the calling (event loop's) thread was since the last sample (0..1).

    ``sample()`` returns (busy, running): busy = on a CPU or waiting for one
    (Linux ``/proc/self/task/<tid>/schedstat``), since a thread that other
    processes keep off the CPU falls behind as well; running = on a CPU, its
    own work. Only this thread counts, not a server that shares the process
    (the lab). 0.0 where the file does not exist: loop lag is then the only
    signal.
    """

    def __init__(self) -> None:
        self._file = Path(f"/proc/self/task/{threading.get_native_id()}/schedstat")
        self._last = self._read()
        self._at = time.monotonic_ns()

    def _read(self) -> tuple[int, int]:
        try:
            on_cpu, waiting, _ = self._file.read_text().split()
        except (OSError, ValueError):
            return 0, 0
        return int(on_cpu), int(waiting)

    def sample(self) -> tuple[float, float]:
        """Return the thread's (busy, running) fractions since the last sample."""
        now, current = time.monotonic_ns(), self._read()
        wall = now - self._at
        running = current[0] - self._last[0]
        waiting = current[1] - self._last[1]
        self._last, self._at = current, now
        if wall <= 0:
            return 0.0, 0.0
        return min(1.0, (running + waiting) / wall), min(1.0, running / wall)


class Watched(Protocol):
    """What the governor reads of a run: what is in flight, and the open interval."""

    in_flight: int
    current: IntervalStats


class Governor:
    """One run's in-flight limit (``flow_cap``) and whether it has CPU to spare."""

    def __init__(self, config: LoadConfig) -> None:
        self.config = config
        self.flow_cap = config.in_flight_cap  # lowered by watch() when behind
        self.slack = True  # in the last 10 ms, its thread ran less than BUSY_SLACK

    def has_slack(self) -> bool:
        """Return whether the generator's own work left CPU to spare in the last 10 ms."""
        return self.slack

    async def watch(self, run: Watched) -> None:
        """Measure the generator's own delay and govern what it lets in flight (until cancelled).

        Every 10 ms: how late the event loop wakes a sleeper. Every 100 ms: how
        busy the loop's thread was (CPU plus run-queue wait). A thread busy ~all
        the time, or a loop later than half the send-lag bound, means requests
        already in flight wait for the generator.
        """
        budget = self.config.max_send_lag_seconds / 2
        pressure = ThreadPressure()
        recent = ThreadPressure()  # the last tick's: growth stops within 10 ms of a busy loop
        ticks = 0
        lag_max = 0.0
        while True:
            before = _clock()
            await asyncio.sleep(_LAG_PROBE_SECONDS)
            lag = _clock() - before - _LAG_PROBE_SECONDS
            lag_max = max(lag_max, lag)
            current = run.current
            if lag > current.loop_lag_max_s:
                current.loop_lag_max_s = lag
            ticks += 1
            self.slack = recent.sample()[1] < BUSY_SLACK
            if ticks % 10:
                continue
            busy, _ = pressure.sample()
            if busy > current.busy_max:
                current.busy_max = busy
            late = lag_max > budget
            self.flow_cap = govern(
                self.flow_cap, run.in_flight, self.config.in_flight_cap, busy, late
            )
            lag_max = 0.0
