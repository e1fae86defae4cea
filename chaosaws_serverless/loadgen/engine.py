"""The open-loop engine: one event loop per run, on uvloop when installed.

HTTP goes through one of three clients behind the same interface (``_Clients``),
measured side by side in ``benchmarks/loadgen_throughput.py``: httptools (the
generator's own HTTP/1.1 client on the event loop, ``http1.py``; the default:
the least CPU per request, which is what bounds an open-loop generator),
pyreqwest (Rust, for ``HEAD`` and proxies) and aiohttp (the reference, and what
an aiohttp ``resolver=`` needs). ``LoadConfig.http_client`` picks one.

``run_load`` is the coroutine; ``run_load_sync`` runs it on a fresh loop in the
calling thread; ``LoadGenerator`` runs it in a thread with ``start``/``stop``/
``join``. See the package docstring for the contract.
"""

import asyncio
import concurrent.futures
import contextlib
import glob
import importlib
import inspect
import logging
import math
import re
import signal
import socket
import threading
import time
import urllib.request
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, Optional, Union
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from chaosaws_serverless.loadgen.config import LoadConfig
from chaosaws_serverless.loadgen.publish import NullPublisher, Publisher
from chaosaws_serverless.loadgen.stats import (
    IntervalStats,
    RunTotals,
    classify_status,
    parse_region,
)

__all__ = [
    "HookResolver",
    "LoadGenerator",
    "ResolveHook",
    "event_loop_name",
    "http_client_name",
    "run_load",
    "run_load_sync",
    "stop_all_loads",
]

logger = logging.getLogger(__name__)

# Intended and finish times: uvloop's loop.time() has 1 ms resolution, too coarse for latency.
_clock = time.perf_counter
_MIN_SLEEP_SECONDS = 0.001

# resolve(host) -> "ip" | ("ip", port) | None (None: use normal DNS). May be async.
ResolveHook = Callable[[str], Union[str, tuple[str, int], Awaitable[Any], None]]
IntervalCallback = Callable[[IntervalStats], None]
# done(class, body start or None, token): how the clients report a request's end.
Done = Callable[[str, Optional[bytes], Any], None]
ProgressCallback = Callable[[dict[str, Any]], None]


class HookResolver(AbstractResolver):
    """An aiohttp resolver that asks a ``resolve(host)`` hook first.

    The hook returns an IP, an ``(ip, port)`` pair (the port replaces the URL's:
    the ``Host`` header and TLS name stay those of the URL), or ``None`` to fall
    back to the system resolver.
    """

    def __init__(self, hook: ResolveHook) -> None:
        self._hook = hook
        self._fallback: Optional[AbstractResolver] = None

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        answer = self._hook(host)
        if inspect.isawaitable(answer):
            answer = await answer
        if answer is None:
            if self._fallback is None:
                self._fallback = aiohttp.ThreadedResolver()
            return await self._fallback.resolve(host, port, family)
        ip, ip_port = (answer, port) if isinstance(answer, str) else answer
        ip_family = socket.AF_INET6 if ":" in ip else socket.AF_INET
        return [
            {
                "hostname": host,
                "host": ip,
                "port": int(ip_port),
                "family": ip_family,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
        ]

    async def close(self) -> None:
        if self._fallback is not None:
            await self._fallback.close()


def event_loop_name() -> str:
    """Return "uvloop" when uvloop is installed (the loop runs use), else "asyncio"."""
    return "uvloop" if _uvloop_factory() is not None else "asyncio"


def _uvloop_factory() -> Optional[Callable[[], asyncio.AbstractEventLoop]]:
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def _importable(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


def http_client_name(config: LoadConfig, resolver: Optional[AbstractResolver] = None) -> str:
    """Return the HTTP client a run uses: "httptools", "pyreqwest" or "aiohttp".

    ``auto``: the cheapest per request that can serve the run (measured in
    ``benchmarks/loadgen_throughput.py``): httptools, but not for ``HEAD`` (its
    parser would wait for a body), nor through a proxy the environment names
    (it speaks to the origin only), nor beside an aiohttp resolver; then
    pyreqwest (reqwest uses the environment's proxy); then aiohttp.
    """
    if config.http_client != "auto":
        return config.http_client
    if resolver is not None:
        return "aiohttp"
    if config.method != "HEAD" and not _proxied(config.url) and _importable("httptools"):
        return "httptools"
    return "pyreqwest" if _importable("pyreqwest.client") else "aiohttp"


def _proxied(url: str) -> bool:
    """Return whether the environment sends ``url`` through a proxy (``HTTPS_PROXY``...)."""
    parts = urlsplit(url)
    proxies = urllib.request.getproxies()
    if not (proxies.get(parts.scheme) or proxies.get("all")):
        return False
    return not urllib.request.proxy_bypass(parts.netloc)


async def _call_hook(hook: ResolveHook, host: str) -> Optional[tuple[str, Optional[int]]]:
    answer = hook(host)
    if inspect.isawaitable(answer):
        answer = await answer
    if answer is None:
        return None
    if isinstance(answer, str):
        return answer, None
    return str(answer[0]), int(answer[1])


# How often the loop-lag probe wakes: often enough to see a stall within an interval,
# rarely enough to cost nothing measurable (100 wake-ups a second).
_LAG_PROBE_SECONDS = 0.01


# A thread busy (running or runnable) this fraction of the time has no slack left.
BUSY_SATURATED = 0.95
BUSY_SLACK = 0.85
_MIN_FLOW_CAP = 8


def govern(flow_cap: int, in_flight: int, cap: int, busy: float, loop_late: bool) -> int:
    """Return the next in-flight limit of a generator (pure; see ``probe_loop_lag``).

    Behind (busiest thread ≥ ``BUSY_SATURATED`` or loop late): 80 % of what is in
    flight, so the backlog drains. With slack (< ``BUSY_SLACK``): doubled, up to
    the configured cap. Between: unchanged.
    """
    if busy >= BUSY_SATURATED or loop_late:
        return max(_MIN_FLOW_CAP, min(flow_cap, int(in_flight * 0.8)))
    if busy < BUSY_SLACK:
        return min(cap, max(flow_cap * 2, _MIN_FLOW_CAP))
    return flow_cap


class ThreadPressure:
    """How busy the generator's busiest thread was since the last sample (0..1).

    Busy = on a CPU or waiting for one (Linux ``/proc/self/task/*/schedstat``).
    Only the generator's threads count: the event loop's (the creating thread) and
    pyreqwest's runtime (named ``pyreqwest``), not a server that shares the
    process (the lab). 0.0 where the file does not exist: loop lag is then the
    only signal.
    """

    def __init__(self) -> None:
        self._loop_tid = str(threading.get_native_id())
        self._last = self._read()
        self._at = time.monotonic_ns()

    def _read(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for task in glob.glob("/proc/self/task/*"):
            try:
                if not task.endswith("/" + self._loop_tid):
                    with open(task + "/comm") as f:
                        if not f.read().startswith("pyreqwest"):
                            continue
                with open(task + "/schedstat") as f:
                    on_cpu, waiting, _ = f.read().split()
            except (OSError, ValueError):
                continue  # the thread ended meanwhile
            out[task] = int(on_cpu) + int(waiting)
        return out

    def sample(self) -> float:
        """Return the busiest generator thread's busy fraction since the last sample."""
        now, current = time.monotonic_ns(), self._read()
        wall = now - self._at
        busiest = max(
            (ns - self._last[task] for task, ns in current.items() if task in self._last),
            default=0,
        )
        self._last, self._at = current, now
        return min(1.0, busiest / wall) if wall > 0 else 0.0


class _Run:
    """State of one run; everything runs on its event loop's thread."""

    def __init__(
        self,
        config: LoadConfig,
        publisher: Publisher,
        on_interval: Optional[IntervalCallback],
        on_progress: Optional[ProgressCallback],
        progress_seconds: float,
        stop: asyncio.Event,
    ) -> None:
        self.config = config
        self.publisher = publisher
        self.on_interval = on_interval
        self.on_progress = on_progress
        self.progress_seconds = progress_seconds
        self.stop = stop
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
        self.flow_cap = config.in_flight_cap  # lowered by probe_loop_lag when behind
        self.slack = True  # the generator had CPU to spare at the last sample
        self.phase = 0.0  # seconds added to every intended time (worker k of N: k / rate)

    def answered(self, klass: str, body: Optional[bytes], intended: float) -> None:
        """Count one request's end (the clients' ``done`` callback)."""
        if klass == "shed":  # no connection came free in time: it never left
            self.in_flight -= 1
            self.current.dropped += 1
            self.current.shed += 1
            return
        self.current.sent += 1  # counted when it ends: only then is it known to have left
        self.finish(klass, _clock() - intended, self.region_of(body) if body else None)

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

    async def schedule(self, clients: "_Clients") -> None:
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
        send = clients.send
        answered = self.answered
        i = 0
        while i < planned and not self.stop.is_set():
            now = _clock()
            due = min(planned, int((now - start) * rate) + 1)
            # First index still within the send-lag bound: everything before it is shed.
            fresh = min(due, max(i, math.ceil((now - max_lag - start) * rate)))
            if fresh > i:
                self.current.dropped += fresh - i
                self.current.shed += fresh - i
                i = fresh
            client = clients.current
            current = self.current
            while i < due:
                if self.in_flight >= self.flow_cap:
                    self.current.dropped += due - i  # counted, not queued
                    if self.in_flight < cap:
                        # Below the configured cap: the generator's own limit (see
                        # govern), so these were shed because it is behind.
                        self.current.shed += due - i
                    i = due
                    break
                intended = start + i / rate
                slip = _clock() - intended
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
                send(client, answered, intended)
            self.scheduled = i
            if i >= planned:
                break
            delay = start + i / rate - _clock()
            # Sleep until the next intended time, but at least 1 ms: waking more often
            # costs more CPU than the send slip it saves (which latency records anyway),
            # and uvloop's timers have 1 ms resolution. At most 50 ms, to notice stop.
            await asyncio.sleep(min(max(delay, _MIN_SLEEP_SECONDS), 0.05))

    async def probe_loop_lag(self) -> None:
        """Measure the generator's own delay and govern what it lets in flight.

        Every 10 ms: how late the event loop wakes a sleeper. Every 100 ms: how
        busy the process's busiest thread was (CPU plus run-queue wait, from
        Linux's per-thread schedstat: the tokio thread of pyreqwest is invisible
        to the loop). A thread busy ~all the time, or a loop later than half the
        send lag bound, means requests already in flight wait for the generator:
        sending more would lengthen that wait, which reads as the API's latency.
        So the in-flight limit is cut below what is in flight (the excess is
        shed and counted), and raised again once the generator has slack.
        """
        config = self.config
        budget = config.max_send_lag_seconds / 2
        pressure = ThreadPressure()
        ticks = 0
        lag_max = 0.0
        while True:
            before = _clock()
            await asyncio.sleep(_LAG_PROBE_SECONDS)
            lag = _clock() - before - _LAG_PROBE_SECONDS
            lag_max = max(lag_max, lag)
            if lag > self.current.loop_lag_max_s:
                self.current.loop_lag_max_s = lag
            ticks += 1
            if ticks % 10:
                continue
            busy = pressure.sample()
            if busy > self.current.busy_max:
                self.current.busy_max = busy
            self.flow_cap = govern(
                self.flow_cap, self.in_flight, config.in_flight_cap, busy, lag_max > budget
            )
            self.slack = busy < BUSY_SLACK and lag_max <= budget
            lag_max = 0.0

    async def drain(self, clients: "_Clients") -> None:
        """Wait for outstanding requests up to the timeout, then end the rest as timeouts."""
        deadline = _clock() + self.config.timeout_seconds + 1
        while self.in_flight > 0 and _clock() < deadline:
            await asyncio.sleep(0.01)
        await clients.abandon()  # still outstanding: the customer got nothing

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
            await asyncio.sleep(max(0.0, due - _clock()))
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
        elapsed = _clock() - self.started_at
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


class _Clients:
    """The HTTP client new requests use, replaced every ``connection_max_age_seconds``.

    Replacing it closes kept-alive connections, so customers re-resolve the name
    like real clients do and follow a DNS failover. ``fetch`` sends one request
    and returns its class and the start of its body; it never raises but for
    cancellation.
    """

    name = ""

    def __init__(self, config: LoadConfig) -> None:
        self.config = config
        self.current: Any = None
        self._old: list[asyncio.Task[None]] = []
        self._replaced: list[Any] = []
        self._requests: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self.current = await self._new()

    async def _new(self) -> Any:
        raise NotImplementedError

    async def _close(self, client: Any) -> None:
        raise NotImplementedError

    async def fetch(self, client: Any) -> tuple[str, Optional[bytes]]:
        raise NotImplementedError

    def send(self, client: Any, done: "Done", token: Any) -> None:
        """Start one request; ``done(class, body, token)`` is called once when it ends."""
        task = asyncio.get_running_loop().create_task(self._fetch_then(client, done, token))
        self._requests.add(task)
        task.add_done_callback(self._requests.discard)

    async def _fetch_then(self, client: Any, done: "Done", token: Any) -> None:
        try:
            klass, body = await self.fetch(client)
        except asyncio.CancelledError:
            done("timeout", None, token)  # abandoned: the customer got nothing
            raise
        done(klass, body, token)

    async def abandon(self) -> None:
        """End every request still outstanding now, as a ``timeout``."""
        for task in list(self._requests):
            task.cancel()
        await asyncio.gather(*self._requests, return_exceptions=True)

    async def rotate_forever(self) -> None:
        while True:
            await asyncio.sleep(self.config.connection_max_age_seconds)
            old, self.current = self.current, await self._new()
            self._replaced = [c for c in self._replaced if not self._closed(c)] + [old]
            self._old.append(asyncio.get_running_loop().create_task(self._close_later(old)))

    def _closed(self, client: Any) -> bool:
        return False

    async def _close_later(self, client: Any) -> None:
        # Its requests finish within the timeout; closing earlier would fail them.
        await asyncio.sleep(self.config.timeout_seconds + 1)
        await self._close(client)

    async def close(self) -> None:
        # Requests are drained by now: close the replaced clients without waiting.
        for task in self._old:
            task.cancel()
        await asyncio.gather(*self._old, return_exceptions=True)
        for client in (*self._replaced, self.current):
            if client is not None and not self._closed(client):
                with contextlib.suppress(Exception):
                    await self._close(client)


class _AiohttpClients(_Clients):
    """aiohttp sessions (the reference client, and the one an aiohttp resolver needs)."""

    name = "aiohttp"

    def __init__(self, config: LoadConfig, resolver: Optional[AbstractResolver]) -> None:
        super().__init__(config)
        self.resolver = resolver
        self.timeout = aiohttp.ClientTimeout(total=config.timeout_seconds)

    async def _new(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=self.config.connection_cap,
            ttl_dns_cache=int(self.config.dns_cache_seconds) or None,
            use_dns_cache=self.config.dns_cache_seconds > 0,
            resolver=self.resolver,
            ssl=self.config.verify_tls,
        )
        return aiohttp.ClientSession(
            connector=connector,
            connector_owner=True,
            skip_auto_headers=("User-Agent",),
            headers={"User-Agent": _USER_AGENT},
            raise_for_status=False,
        )

    def _closed(self, client: Any) -> bool:
        return bool(client.closed)

    async def _close(self, client: Any) -> None:
        await client.close()  # a resolver we passed in is not closed by aiohttp: run_load does

    async def fetch(self, client: Any) -> tuple[str, Optional[bytes]]:
        config = self.config
        try:
            async with client.request(
                config.method,
                config.url,
                headers=config.headers,
                timeout=self.timeout,
                allow_redirects=False,
            ) as response:
                body = await response.content.read(config.max_body_bytes)
                return classify_status(response.status), body
        except TimeoutError:  # also aiohttp's ServerTimeoutError
            return "timeout", None
        except (aiohttp.ClientResponseError, aiohttp.ClientPayloadError):
            return "invalid_response", None  # something answered, but not valid HTTP
        except (aiohttp.ClientError, OSError):
            return "connect_error", None
        except Exception as error:  # an answer aiohttp chokes on must be counted, not lost
            logger.debug("unclassified error from %s: %r", config.url, error)
            return "invalid_response", None


class _PyreqwestClients(_Clients):
    """pyreqwest clients: HTTP/1.1 and TLS in Rust, one awaited call per request.

    The resolve hook is asked once per client (so once per
    ``connection_max_age_seconds``), its answer pinned with the client's static
    resolution; without a hook (or when it answers None) the system resolver is
    used for each new connection.
    """

    name = "pyreqwest"

    def __init__(self, config: LoadConfig, hook: Optional[ResolveHook]) -> None:
        super().__init__(config)
        from pyreqwest import exceptions

        self.hook = hook
        self.host = urlsplit(config.url).hostname or ""
        self.port = urlsplit(config.url).port or (443 if config.url.startswith("https") else 80)
        self._closed_ids: set[int] = set()
        self._connect_errors = (exceptions.ConnectError, exceptions.ClientClosedError, OSError)
        self._invalid = (exceptions.RequestError,)

    async def _new(self) -> Any:
        from pyreqwest.client import ClientBuilder

        config = self.config
        builder = (
            ClientBuilder()
            .timeout(timedelta(seconds=config.timeout_seconds))
            .follow_redirects(False)
            .max_connections(config.connection_cap)
            .user_agent(_USER_AGENT)
            .danger_accept_invalid_certs(not config.verify_tls)
        )
        if config.headers:
            builder = builder.default_headers(dict(config.headers))
        if self.hook is not None:
            answer = await _call_hook(self.hook, self.host)
            if answer is not None:
                ip, port = answer
                builder = builder.resolve(self.host, ip, port or self.port)
        return builder.build()

    def _closed(self, client: Any) -> bool:
        return id(client) in self._closed_ids

    async def _close(self, client: Any) -> None:
        self._closed_ids.add(id(client))
        await client.close()

    async def fetch(self, client: Any) -> tuple[str, Optional[bytes]]:
        config = self.config
        try:
            response = await client.request(config.method, config.url).build().send()
            status = response.status
            body = await response.bytes()
        except TimeoutError:  # pyreqwest's timeouts subclass it
            return "timeout", None
        except self._connect_errors:
            return "connect_error", None
        except self._invalid:  # answered, but hyper could not read HTTP out of it
            return "invalid_response", None
        except Exception as error:  # counted, never lost
            logger.debug("unclassified error from %s: %r", config.url, error)
            return "invalid_response", None
        limit = config.max_body_bytes
        # pyreqwest's Bytes is not hashable: the region memo needs real bytes.
        return classify_status(status), bytes(body if len(body) <= limit else body[:limit])


class _Http1Clients(_Clients):
    """The event loop's own HTTP/1.1 client (``loadgen/http1.py``): no thread crossings.

    New connections go where the resolve hook says (or DNS), asked at most every
    ``dns_cache_seconds``; each pool is replaced every
    ``connection_max_age_seconds`` like the other clients, so customers follow a
    changed answer.
    """

    name = "httptools"

    def __init__(
        self, config: LoadConfig, hook: Optional[ResolveHook], has_slack: Callable[[], bool]
    ) -> None:
        super().__init__(config)
        from chaosaws_serverless.loadgen import http1

        self.has_slack = has_slack

        self._http1 = http1
        parts = urlsplit(config.url)
        self.host = parts.hostname or ""
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.hook = hook
        self.request_bytes = http1.request_bytes(
            config.method, config.url, dict(config.headers), _USER_AGENT
        )
        self.locate = http1.CachedLocation(self._resolve, max(0.0, config.dns_cache_seconds))

    async def _resolve(self) -> tuple[str, int]:
        if self.hook is not None:
            answer = await _call_hook(self.hook, self.host)
            if answer is not None:
                return answer[0], answer[1] or self.port
        infos = await asyncio.get_running_loop().getaddrinfo(
            self.host, self.port, type=socket.SOCK_STREAM
        )
        address = infos[0][4]
        return str(address[0]), int(address[1])

    async def _new(self) -> Any:
        config = self.config
        return self._http1.Http1Pool(
            config.url,
            self.request_bytes,
            self.locate,
            max_connections=config.connection_cap,
            timeout_seconds=config.timeout_seconds,
            max_body_bytes=config.max_body_bytes,
            verify_tls=config.verify_tls,
            classify=classify_status,
            wait_seconds=config.max_send_lag_seconds,
            has_slack=self.has_slack,
        )

    def _closed(self, client: Any) -> bool:
        return bool(client.closing)

    async def _close(self, client: Any) -> None:
        client.close()

    def send(self, client: Any, done: "Done", token: Any) -> None:
        client.start(done, token)  # no task per request: the pool calls done itself

    async def abandon(self) -> None:
        for pool in (*self._replaced, self.current):
            if pool is not None:
                await pool.abandon()


_USER_AGENT = "chaosaws-serverless-loadgen"


def _make_clients(
    config: LoadConfig,
    resolver: Optional[AbstractResolver],
    hook: Optional[ResolveHook],
    run: _Run,
) -> _Clients:
    name = http_client_name(config, resolver)
    if name == "httptools":
        if resolver is not None:
            raise ValueError("an aiohttp resolver needs http_client='aiohttp'; pass resolve=")
        return _Http1Clients(config, hook, lambda: run.slack)
    if name == "pyreqwest":
        if resolver is not None:
            raise ValueError("an aiohttp resolver needs http_client='aiohttp'; pass resolve=")
        return _PyreqwestClients(config, hook)
    return _AiohttpClients(config, HookResolver(hook) if hook is not None else resolver)


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
    if resolver is not None and resolve is not None:
        raise ValueError("pass either resolver or resolve, not both")
    publisher = publisher or NullPublisher()
    stop = stop or asyncio.Event()
    run = _Run(config, publisher, on_interval, on_progress, progress_seconds, stop)
    run.phase = phase_seconds
    loop = asyncio.get_running_loop()
    clients = _make_clients(config, resolver, resolve, run)
    await clients.start()
    if start_epoch is not None:
        await asyncio.sleep(max(0.0, start_epoch - time.time()))
    run.started_at = _clock()
    run.current.start_epoch = start_epoch if start_epoch is not None else time.time()
    helpers = [
        loop.create_task(run.tick_intervals()),
        loop.create_task(run.tick_progress()),
        loop.create_task(run.probe_loop_lag()),
        loop.create_task(clients.rotate_forever()),
    ]
    send_window = 0.0
    try:
        await run.schedule(clients)
        send_window = run.scheduled / float(config.rate_per_second)
        await run.drain(clients)
    finally:
        for task in helpers:
            task.cancel()
        await asyncio.gather(*helpers, return_exceptions=True)
        await clients.close()
        if resolver is not None:
            await resolver.close()
        if isinstance(clients, _AiohttpClients) and clients.resolver is not resolver:
            await clients.resolver.close()  # type: ignore[union-attr]  # our HookResolver
        run.close_interval()  # the last, partial interval is published too
        await asyncio.wrap_future(_all_done(run.publishing))
        run.executor.shutdown(wait=True)
    summary = finish_summary(
        run.totals, config, send_window, run.scheduled, _clock() - run.started_at
    )
    return {
        **summary_head(config),
        "event_loop": type(loop).__module__.split(".")[0],
        "http_client": clients.name,
        **summary,
        **publisher.stats(),
    }


def summary_head(config: LoadConfig) -> dict[str, Any]:
    """Return what a summary says about the run asked for."""
    return {
        "url": config.url,
        "client_region": config.client_region,
        "rate_per_second": config.rate_per_second,
        "duration_seconds": config.duration_seconds,
        "max_in_flight": config.in_flight_cap,
    }


def finish_summary(
    totals: RunTotals, config: LoadConfig, send_window: float, scheduled: int, elapsed: float
) -> dict[str, Any]:
    """Return a run's counted part of the summary, with the rate it held."""
    summary = totals.summary(send_window, config.planned_requests)
    summary["achieved_rate_per_second"] = (
        round(summary["sent"] / send_window, 1) if send_window else 0.0
    )
    # The rate the generator held: what it sent on time. Equal to the achieved rate;
    # named for a saturated run, where it is the generator's capacity, not the ask.
    summary["held_rate_per_second"] = summary["achieved_rate_per_second"]
    summary["elapsed_seconds"] = round(elapsed, 3)
    summary["stopped_early"] = scheduled < config.planned_requests
    return summary


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
