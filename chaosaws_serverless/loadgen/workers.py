"""One load over several worker processes: one plan, one summary, one publish per interval.

A single Python process sends from one core. ``run_load_workers`` starts ``n``
processes, each running
``run_load`` on ``rate / n`` with its intended times shifted by ``k / rate``
(together: the one evenly spaced plan) and a common start, so their intervals
line up. Each worker sends its closed intervals (HdrHistogram-encoded) to this
process, where ``IntervalMerger`` adds the k-th interval of every worker into
one, publishes it once and calls ``on_interval`` once; the summary is computed
from the merged intervals, so it reads like a one-process run's
(``saturated`` if any worker was).
"""

import contextlib
import dataclasses
import math
import multiprocessing
import queue
import signal
import threading
import time
from collections.abc import Callable
from typing import Any, Optional

from chaosaws_serverless.loadgen.config import LoadConfig
from chaosaws_serverless.loadgen.publish import NullPublisher, Publisher
from chaosaws_serverless.loadgen.stats import CLASSES, IntervalStats, RunTotals
from chaosaws_serverless.loadgen.summary import finish_summary, summary_head

__all__ = ["IntervalMerger", "merge_progress", "run_load_workers", "worker_config"]

# host -> (ip, port or None): a resolve table a worker can receive (a hook cannot be pickled).
ResolveTable = dict[str, tuple[str, Optional[int]]]
_READY_TIMEOUT_SECONDS = 60.0
# Workers start this long after the last one is ready, so every one starts on time.
_START_DELAY_SECONDS = 0.2


def worker_config(config: LoadConfig, workers: int) -> LoadConfig:
    """Return worker k's share of a config: ``1/n`` of the rate and of the caps."""
    return dataclasses.replace(
        config,
        rate_per_second=config.rate_per_second / workers,
        max_in_flight=math.ceil(config.in_flight_cap / workers),
        max_connections=math.ceil(config.connection_cap / workers),
    )


class IntervalMerger:
    """Adds the k-th interval of every worker into one and emits them in order.

    ``add(worker, index, interval)``; ``finish(worker)`` when a worker ended (its
    later indexes will never come); ``emit`` is called once per index, in order,
    as soon as every worker still running has sent that index. ``flush`` emits
    what is left at the end.
    """

    def __init__(self, workers: int, emit: Callable[[IntervalStats], None]) -> None:
        self.workers = workers
        self.emit = emit
        self.pending: dict[int, tuple[set[int], IntervalStats]] = {}
        self.next_index = 0
        self.finished: set[int] = set()

    def add(self, worker: int, index: int, interval: IntervalStats) -> None:
        if index < self.next_index:
            raise ValueError(f"interval {index} of worker {worker} came after it was emitted")
        if index not in self.pending:
            self.pending[index] = ({worker}, interval)
        else:
            seen, merged = self.pending[index]
            if worker in seen:
                raise ValueError(f"interval {index} of worker {worker} came twice")
            merged.merge(interval)
            seen.add(worker)
        self._emit_ready()

    def finish(self, worker: int) -> None:
        self.finished.add(worker)
        self._emit_ready()

    def _emit_ready(self) -> None:
        while self.next_index in self.pending:
            seen, merged = self.pending[self.next_index]
            if len(seen | self.finished) < self.workers:
                return
            del self.pending[self.next_index]
            self.next_index += 1
            self.emit(merged)

    def flush(self) -> None:
        for index in sorted(self.pending):
            self.emit(self.pending.pop(index)[1])
            self.next_index = index + 1


def merge_progress(snapshots: list[dict[str, Any]]) -> dict[str, Any]:
    """Return one progress snapshot from the workers' latest ones (p99: the worst worker's)."""
    counts = dict.fromkeys(CLASSES, 0)
    for snap in snapshots:
        for klass, count in snap["counts"].items():
            counts[klass] = counts.get(klass, 0) + count
    p99s = [s["latency_ms"]["p99"] for s in snapshots if s["latency_ms"]["p99"] is not None]
    return {
        "elapsed_seconds": max((s["elapsed_seconds"] for s in snapshots), default=0.0),
        **{
            key: sum(s[key] for s in snapshots)
            for key in ("sent", "dropped", "shed", "completed", "in_flight")
        },
        "counts": counts,
        "latency_ms": {"p50": None, "p90": None, "p99": max(p99s, default=None), "max": None},
        "saturated": any(s["saturated"] for s in snapshots),
        "held_rate_per_second": round(sum(s["held_rate_per_second"] for s in snapshots), 1),
    }


class _QueuePublisher:
    """A worker's publisher: hands each closed interval to the parent, in order."""

    def __init__(self, out: Any, worker: int) -> None:
        self.out, self.worker, self.index = out, worker, 0

    def publish(self, interval: IntervalStats) -> None:
        self.out.put(("interval", self.worker, self.index, interval.to_wire()))
        self.index += 1

    def stats(self) -> dict[str, Any]:
        return {}


def _worker_main(
    worker: int,
    workers: int,
    config: LoadConfig,
    table: Optional[ResolveTable],
    progress_seconds: Optional[float],
    out: Any,
    start_at: Any,
    stop: Any,
) -> None:
    # The parent owns Ctrl-C: it sets `stop`, and every worker stops as on its own SIGINT.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        from chaosaws_serverless.loadgen.engine import run_load_sync, stop_all_loads

        def resolve(host: str) -> Any:
            if table is None or host not in table:
                return None
            ip, port = table[host]
            return ip if port is None else (ip, port)

        def watch_stop() -> None:
            while not stop.value:
                time.sleep(0.1)
            while stop_all_loads() == 0 and not finished.is_set():
                time.sleep(0.05)  # the run has not registered yet

        finished = threading.Event()
        threading.Thread(target=watch_stop, daemon=True).start()
        out.put(("ready", worker, None, None))
        # Shared values, polled, not multiprocessing Events: setting an Event whose
        # waiter died blocks the setter forever.
        deadline = time.monotonic() + _READY_TIMEOUT_SECONDS
        while not start_at.value and not stop.value and time.monotonic() < deadline:
            time.sleep(0.005)
        progress = None
        if progress_seconds is not None:

            def progress(snapshot: dict[str, Any]) -> None:
                out.put(("progress", worker, None, snapshot))

        summary = run_load_sync(
            worker_config(config, workers),
            publisher=_QueuePublisher(out, worker),
            on_progress=progress,
            progress_seconds=progress_seconds or 1.0,
            resolve=resolve if table else None,
            handle_signals=False,
            start_epoch=start_at.value,
            phase_seconds=worker / config.rate_per_second,
        )
        finished.set()
        out.put(("done", worker, None, summary))
    except BaseException as error:  # the parent must learn why, not wait forever
        out.put(("failed", worker, None, f"{type(error).__name__}: {error}"))
        raise


def run_load_workers(
    config: LoadConfig,
    workers: int,
    *,
    publisher: Optional[Publisher] = None,
    on_interval: Optional[Callable[[IntervalStats], None]] = None,
    on_progress: Optional[Callable[[dict[str, Any]], None]] = None,
    progress_seconds: float = 1.0,
    resolve_table: Optional[ResolveTable] = None,
    handle_signals: bool = True,
) -> dict[str, Any]:
    """Run one load over ``workers`` processes and return one merged summary.

    With ``handle_signals`` (main thread), the first SIGINT/SIGTERM stops every
    worker cleanly (in-flight requests finish, last interval published).
    """
    if not isinstance(workers, int) or not 1 <= workers <= 256:
        raise ValueError(f"workers must be an integer 1..256, got {workers!r}")
    publisher = publisher or NullPublisher()
    pool = _WorkerPool(config, workers, resolve_table, progress_seconds if on_progress else None)
    totals = RunTotals()

    def emit(interval: IntervalStats) -> None:
        totals.add(interval)
        if on_interval is not None:
            with contextlib.suppress(Exception):  # a broken callback must not stop the load
                on_interval(interval)
        publisher.publish(interval)  # publishers never raise (see publish.py)

    restore = _stop_on_signals(pool.stop) if handle_signals else {}
    try:
        pool.start()
        summaries = pool.collect(IntervalMerger(workers, emit), on_progress)
    finally:
        pool.end()
        for signum, previous in restore.items():
            signal.signal(signum, previous)
    return {
        **summary_head(config),
        "event_loop": summaries[0]["event_loop"],
        "http_client": summaries[0]["http_client"],
        "workers": workers,
        **_merged_summary(config, totals, list(summaries.values())),
        **publisher.stats(),
    }


class _WorkerPool:
    """The worker processes of one run and the queue they report on.

    Spawned (a fresh interpreter each, on every platform): a fork would copy
    whatever the parent's other threads hold (a test's servers, a caller's
    pool), and importing the engine again costs about a second, once per run.
    """

    def __init__(
        self,
        config: LoadConfig,
        workers: int,
        table: Optional[ResolveTable],
        progress_seconds: Optional[float],
    ) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.workers = workers
        self.out = ctx.Queue()
        self.start_at = ctx.Value("d", 0.0)
        self.stop = ctx.Value("b", 0)
        self.procs = [
            ctx.Process(
                target=_worker_main,
                args=(
                    k,
                    workers,
                    config,
                    table,
                    progress_seconds,
                    self.out,
                    self.start_at,
                    self.stop,
                ),
                name=f"loadgen-worker-{k}",
                daemon=True,
            )
            for k in range(workers)
        ]

    def start(self) -> None:
        """Start every worker, wait until all are ready, then give them one start time."""
        for proc in self.procs:
            proc.start()
        ready = 0
        deadline = time.monotonic() + _READY_TIMEOUT_SECONDS
        while ready < self.workers:
            kind, worker, _, payload = self.out.get(timeout=max(0.1, deadline - time.monotonic()))
            if kind == "failed":
                raise RuntimeError(f"load worker {worker} failed to start: {payload}")
            ready += kind == "ready"
        self.start_at.value = time.time() + _START_DELAY_SECONDS

    def collect(
        self,
        merger: IntervalMerger,
        on_progress: Optional[Callable[[dict[str, Any]], None]],
    ) -> dict[int, dict[str, Any]]:
        """Merge the workers' intervals and progress until each is done; return their summaries."""
        summaries: dict[int, dict[str, Any]] = {}
        failures: list[str] = []
        snapshots: dict[int, dict[str, Any]] = {}
        while len(summaries) + len(failures) < self.workers:
            try:
                kind, worker, index, payload = self.out.get(timeout=1.0)
            except queue.Empty:
                dead = [p.name for p in self.procs if not p.is_alive() and p.exitcode]
                if dead:
                    failures.append(f"worker(s) {', '.join(dead)} died")
                    break
                continue
            if kind == "interval":
                merger.add(worker, index, IntervalStats.from_wire(payload))
            elif kind == "progress" and on_progress is not None:
                snapshots[worker] = payload
                with contextlib.suppress(Exception):
                    on_progress(merge_progress(list(snapshots.values())))
            elif kind in ("done", "failed"):
                if kind == "done":
                    summaries[worker] = payload
                else:
                    failures.append(f"worker {worker}: {payload}")
                merger.finish(worker)
        merger.flush()
        if failures:
            raise RuntimeError("; ".join(failures))
        return summaries

    def end(self) -> None:
        """Stop every worker (a no-op for those done) and wait for them."""
        self.stop.value = 1
        for proc in self.procs:
            proc.join(10)
            if proc.is_alive():
                proc.terminate()


def _merged_summary(
    config: LoadConfig, totals: RunTotals, summaries: list[dict[str, Any]]
) -> dict[str, Any]:
    """Return the counted part of the summary from the merged intervals, as one run's."""
    scheduled = sum(s["sent"] + s["dropped"] for s in summaries)
    summary = finish_summary(
        totals,
        config,
        send_window=scheduled / float(config.rate_per_second),
        scheduled=scheduled,
        elapsed=max(s["elapsed_seconds"] for s in summaries),
    )
    summary["planned"] = sum(s["planned"] for s in summaries)
    summary["stopped_early"] = any(s["stopped_early"] for s in summaries)
    return summary


def _stop_on_signals(stop: Any) -> dict[int, Any]:
    if threading.current_thread() is not threading.main_thread():
        return {}
    previous: dict[int, Any] = {}

    def handler(signum: int, frame: Any) -> None:
        if stop.value:  # second signal: behave as before
            signal.signal(signum, previous[signum])
            signal.raise_signal(signum)
            return
        stop.value = 1

    for signum in (signal.SIGINT, signal.SIGTERM):
        previous[signum] = signal.signal(signum, handler)
    return previous
