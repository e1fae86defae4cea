"""Run a load: in an event loop you own, in this thread, or in a background thread.

- ``run_load(config, ...)``: the coroutine (one event loop per run);
- ``run_load_sync(config, ...)``: on a fresh (uv)loop in the calling thread,
  stopping cleanly on the first SIGINT/SIGTERM;
- ``LoadGenerator(config, ...)``: in a daemon thread, ``start``/``stop``/``join``;
- ``stop_all_loads()``: ask every load running in this process to stop.

A run is a ``scheduler.Run`` (the plan, the counts, the intervals), a client
from ``clients/`` and a ``governor.Governor``; see the package docstring for
the contract.
"""

import asyncio
import concurrent.futures
import contextlib
import logging
import signal
import threading
import time
from collections.abc import Callable
from typing import Any, Optional

from aiohttp.abc import AbstractResolver

from chaosaws_serverless.loadgen.clients.base import ResolveHook
from chaosaws_serverless.loadgen.clients.choice import http_client_name, make_client
from chaosaws_serverless.loadgen.config import LoadConfig
from chaosaws_serverless.loadgen.governor import Governor
from chaosaws_serverless.loadgen.publish import NullPublisher, Publisher
from chaosaws_serverless.loadgen.scheduler import IntervalCallback, ProgressCallback, Run, clock
from chaosaws_serverless.loadgen.summary import finish_summary, summary_head

__all__ = [
    "LoadGenerator",
    "event_loop_name",
    "http_client_name",
    "run_load",
    "run_load_sync",
    "stop_all_loads",
]

logger = logging.getLogger(__name__)


def event_loop_name() -> str:
    """Return "uvloop" when uvloop is installed (the loop runs use), else "asyncio"."""
    return "uvloop" if _uvloop_factory() is not None else "asyncio"


def _uvloop_factory() -> Optional[Callable[[], asyncio.AbstractEventLoop]]:
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


async def run_load(
    config: LoadConfig,
    *,
    publisher: Optional[Publisher] = None,
    on_interval: Optional[IntervalCallback] = None,
    on_progress: Optional[ProgressCallback] = None,
    progress_seconds: float = 1.0,
    resolver: Optional[AbstractResolver] = None,
    resolve: Optional[ResolveHook] = None,
    stop: Optional[asyncio.Event] = None,
    start_epoch: Optional[float] = None,
    phase_seconds: float = 0.0,
) -> dict[str, Any]:
    """Run one open-loop load and return its summary (see the package docstring).

    ``start_epoch`` (wall clock) and ``phase_seconds`` let worker processes share
    one plan: each starts at the same instant, its intervals aligned, and worker
    ``k`` of ``n`` sends at ``rate / n`` shifted by ``k / rate``.
    """
    publisher = publisher or NullPublisher()
    governor = Governor(config)
    client = make_client(config, resolver, resolve, governor.has_slack)
    run = Run(
        config,
        publisher,
        on_interval,
        on_progress,
        progress_seconds,
        stop or asyncio.Event(),
        governor,
    )
    run.phase = phase_seconds
    loop = asyncio.get_running_loop()
    await client.start()
    if start_epoch is not None:
        await asyncio.sleep(max(0.0, start_epoch - time.time()))
    run.started_at = clock()
    run.current.start_epoch = start_epoch if start_epoch is not None else time.time()
    helpers = [
        loop.create_task(run.tick_intervals()),
        loop.create_task(run.tick_progress()),
        loop.create_task(governor.watch(run)),
        loop.create_task(client.run()),
    ]
    send_window = 0.0
    try:
        await run.schedule(client)
        send_window = run.scheduled / float(config.rate_per_second)
        await run.drain(client)
    finally:
        for task in helpers:
            task.cancel()
        await asyncio.gather(*helpers, return_exceptions=True)
        await client.close()
        run.close_interval()  # the last, partial interval is published too
        await asyncio.wrap_future(_all_done(run.publishing))
        run.executor.shutdown(wait=True)
    summary = finish_summary(
        run.totals, config, send_window, run.scheduled, clock() - run.started_at
    )
    return {
        **summary_head(config),
        "event_loop": type(loop).__module__.split(".")[0],
        "http_client": client.name,
        **summary,
        **publisher.stats(),
    }


def _all_done(futures: list[concurrent.futures.Future[None]]) -> "concurrent.futures.Future[None]":
    done: concurrent.futures.Future[None] = concurrent.futures.Future()

    def wait() -> None:
        concurrent.futures.wait(futures)
        done.set_result(None)

    threading.Thread(target=wait, daemon=True).start()
    return done


# Loads running in this process (background generate_load activities run in chaoslib's
# threads): an interrupted experiment stops them, since chaoslib waits for its background
# activities before it rolls back (controls.safe_interrupt calls stop_all_loads).
_running: dict[asyncio.Event, asyncio.AbstractEventLoop] = {}
_running_lock = threading.Lock()


def stop_all_loads() -> int:
    """Ask every load running in this process to stop now (thread-safe); return how many.

    Each stops as on its own SIGINT: no new requests, in-flight ones get their
    timeout, the last interval is published.
    """
    with _running_lock:
        running = list(_running.items())
    for stop, loop in running:
        with contextlib.suppress(RuntimeError):  # its loop already closed
            loop.call_soon_threadsafe(stop.set)
    return len(running)


def run_load_sync(
    config: LoadConfig, *, handle_signals: bool = True, **kwargs: Any
) -> dict[str, Any]:
    """Run ``run_load`` on a fresh (uv)loop in this thread and return the summary.

    With ``handle_signals`` and in the main thread, the first SIGINT/SIGTERM stops
    sending, waits for in-flight requests up to the timeout and publishes the last
    interval; a second one goes to the handler that was there before.
    """

    async def main() -> dict[str, Any]:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        restore = _install_signal_handlers(loop, stop) if handle_signals else {}
        with _running_lock:
            _running[stop] = loop
        try:
            return await run_load(config, stop=stop, **kwargs)
        finally:
            with _running_lock:
                _running.pop(stop, None)
            for signum, previous in restore.items():
                signal.signal(signum, previous)

    with asyncio.Runner(loop_factory=_uvloop_factory()) as runner:
        return runner.run(main())


def _install_signal_handlers(
    loop: asyncio.AbstractEventLoop, stop: asyncio.Event
) -> dict[int, Any]:
    if threading.current_thread() is not threading.main_thread():
        return {}
    previous: dict[int, Any] = {}

    def handler(signum: int, frame: Any) -> None:
        if stop.is_set():  # second signal: behave as before
            signal.signal(signum, previous[signum])
            signal.raise_signal(signum)
            return
        logger.warning("signal %d: stopping the load after in-flight requests", signum)
        loop.call_soon_threadsafe(stop.set)

    for signum in (signal.SIGINT, signal.SIGTERM):
        previous[signum] = signal.signal(signum, handler)
    return previous


class LoadGenerator:
    """Run a load in a background thread: ``start()``, ``stop()``, ``join()``.

    Thread-friendly front for a caller without an event loop (the lab, a test,
    a background Chaos Toolkit activity). ``join`` returns the summary dict, or
    re-raises what the run raised.
    """

    def __init__(self, config: LoadConfig, **kwargs: Any) -> None:
        self.config = config
        self._kwargs = kwargs
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._stop: Optional[asyncio.Event] = None
        self._stop_requested = threading.Event()
        self._ready = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._summary: Optional[dict[str, Any]] = None
        self._error: Optional[BaseException] = None

    def start(self) -> "LoadGenerator":
        """Start sending in a daemon thread; return self."""
        if self._thread is not None:
            raise RuntimeError("this LoadGenerator was already started; create a new one")
        self._thread = threading.Thread(target=self._main, name="loadgen", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        return self

    def _main(self) -> None:
        async def main() -> dict[str, Any]:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            if self._stop_requested.is_set():
                self._stop.set()
            self._ready.set()
            return await run_load(self.config, stop=self._stop, **self._kwargs)

        try:
            with asyncio.Runner(loop_factory=_uvloop_factory()) as runner:
                self._summary = runner.run(main())
        except BaseException as error:  # handed to join()
            self._error = error
        finally:
            self._ready.set()

    def stop(self) -> None:
        """Ask the run to stop sending (thread-safe); in-flight requests still finish."""
        self._stop_requested.set()
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(stop.set)

    @property
    def running(self) -> bool:
        """Return whether the run's thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def join(self, timeout: Optional[float] = None) -> Optional[dict[str, Any]]:
        """Wait for the run; return its summary (None if still running after timeout)."""
        if self._thread is None:
            raise RuntimeError("LoadGenerator.join() before start()")
        self._thread.join(timeout)
        if self._thread.is_alive():
            return None
        if self._error is not None:
            raise self._error
        return self._summary

    def __enter__(self) -> "LoadGenerator":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self.join()
