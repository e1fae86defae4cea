"""The generator's own HTTP/1.1 client on the event loop: the default, and its fastest.

Why it exists: on one core, what bounds an open-loop generator is the CPU spent
per request (``benchmarks/loadgen_cpu_per_request.py``). aiohttp spends a task,
a future and a timer per request; a Rust client (pyreqwest, measured until it
was removed) crosses threads twice per request, which costs more than the HTTP
itself. Here nothing crosses threads: parsing is httptools (llhttp, C), sockets
and TLS are the event loop's (uvloop: C), and the Python per request is writing
a prepared request and one callback when the answer is in.

Scope, on purpose no more than the generator needs: HTTP/1.1 to the origin
(ALPN ``http/1.1``, no proxies), one request at a time per connection, no
request body, no redirects (3xx are answers), no compression, the status and
the first ``max_body_bytes`` of the body. Not ``HEAD`` (httptools cannot be
told an answer has no body): ``clients/choice.py`` sends it through aiohttp.

How the pool grows: a request that finds every connection busy waits for the
next to come free, and gets a connection of its own only once it has waited
``GROW_AFTER`` of the send-lag bound (at once when none is open), while the
governor says the generator has CPU to spare. A TLS handshake costs 1.5-2.5 ms
of CPU (OpenSSL 3.0), as much as 20-40 requests: opening one for every request
that came due while the first handshakes ran turned a run's start into hundreds
of handshakes that the generator then shed behind. A few kept-alive connections
carry thousands of requests a second from a near API; a far or slow one gets
the connections it needs after that short wait, at most doubling per handshake
round (``MIN_OPENING`` .. ``MAX_OPENING`` opening at once). One round at a time:
the next only once the queue has waited ``GROW_AFTER`` behind the connections
the last one opened (the requests that queued during its handshakes are theirs
to carry), else a loop slowed by its own handshakes grew the pool again for the
wait it caused itself: hundreds of handshakes over TLS at 6,000 req/s.
"""

import asyncio
import collections
import functools
import math
import random
import socket
import ssl
import time
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, Optional
from urllib.parse import urlsplit

from chaosaws_serverless.loadgen.clients.base import (
    USER_AGENT,
    Done,
    HttpClient,
    ResolveHook,
    call_hook,
)
from chaosaws_serverless.loadgen.clients.http1_connection import Connection, request_bytes
from chaosaws_serverless.loadgen.config import LoadConfig
from chaosaws_serverless.loadgen.stats import classify_status

__all__ = [
    "GROW_AFTER",
    "MAX_OPENING",
    "MIN_OPENING",
    "CachedLocation",
    "Http1Pool",
    "http1_client",
]

# () -> (ip, port): where new connections go (the resolve hook or DNS, cached).
Locate = Callable[[], Awaitable[tuple[str, int]]]

GROW_AFTER = 0.25  # of the send-lag bound (or the timeout, if shorter): the wait before growing
MIN_OPENING = 8  # connections being opened at once: at least this many,
MAX_OPENING = 64  # at most as many as are open, and never more than this
_READ_BUFFER_BYTES = 64 * 1024


def http1_client(
    config: LoadConfig, hook: Optional[ResolveHook], has_slack: Callable[[], bool]
) -> "Http1Pool":
    """Return the pool a run sends through: the URL's origin, found as the hook or DNS says.

    The hook (or DNS) is asked at most every ``dns_cache_seconds``; each
    connection is closed once free after about ``connection_max_age_seconds``
    (each its own, between 75 and 100 % of it, so a pool's connections do not
    all reopen at once), so customers follow a changed answer (a failover).
    """
    parts = urlsplit(config.url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)

    async def resolve() -> tuple[str, int]:
        if hook is not None:
            answer = await call_hook(hook, host)
            if answer is not None:
                return answer[0], answer[1] or port
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        address = infos[0][4]
        return str(address[0]), int(address[1])

    return Http1Pool(
        config.url,
        request_bytes(config.method, config.url, dict(config.headers), USER_AGENT),
        CachedLocation(resolve, max(0.0, config.dns_cache_seconds)),
        max_connections=config.connection_cap,
        timeout_seconds=config.timeout_seconds,
        max_body_bytes=config.max_body_bytes,
        verify_tls=config.verify_tls,
        classify=classify_status,
        wait_seconds=config.max_send_lag_seconds,
        max_age_seconds=config.connection_max_age_seconds,
        has_slack=has_slack,
    )


class Http1Pool(HttpClient):
    """Kept-alive connections to one origin, at most ``max_connections`` open.

    ``send`` sends the prepared request on an idle connection (the most
    recently used: its socket is warm), or queues it for the next connection
    that comes free. A queued request gets a connection of its own once it has
    waited ``GROW_AFTER`` of ``wait_seconds`` (or at once when none is open),
    within the caps; from then on it waits for the API (connecting counts in
    its latency). The queue costs nothing per request (no task, no timer), and
    a request that waits in it longer than ``wait_seconds`` is shed: that wait
    would be the generator's own queue, read as the API's latency. The timeout
    covers connecting and the answer.
    """

    name: ClassVar[str] = "httptools"

    def __init__(
        self,
        url: str,
        request: bytes,
        locate: Locate,
        *,
        max_connections: int,
        timeout_seconds: float,
        max_body_bytes: int,
        verify_tls: bool,
        classify: Callable[[int], str],
        wait_seconds: float,
        max_age_seconds: float = math.inf,
        has_slack: Callable[[], bool] = lambda: True,
    ) -> None:
        parts = urlsplit(url)
        self.loop = asyncio.get_running_loop()
        self.request = request
        self.locate = locate
        self.max_connections = max_connections
        self.timeout_seconds = timeout_seconds
        self.max_body_bytes = max_body_bytes
        self.classify = classify
        self.wait_seconds = wait_seconds
        self.max_age_seconds = max_age_seconds
        self.server_hostname = parts.hostname if parts.scheme == "https" else None
        self.ssl = _tls_context(verify_tls) if parts.scheme == "https" else None
        self.read_buffer = memoryview(bytearray(_READ_BUFFER_BYTES))
        self.idle: collections.deque[Connection] = collections.deque()
        self.open: set[Connection] = set()
        self.opening: set[asyncio.Task[None]] = set()
        # (done, token, deadline, queued_at, may_retry), oldest first.
        self.queue: collections.deque[tuple[Done, Any, float, float, bool]] = collections.deque()
        # Well within both bounds: a request must get its connection before it could time out.
        self.grow_after = GROW_AFTER * min(wait_seconds, timeout_seconds)
        self.has_slack = has_slack
        # When a connection last finished opening: the pool grows again only once the
        # queue has waited ``grow_after`` behind it too (what it added drains the queue
        # first), not for every request that waited while the handshakes ran.
        self.grown_at = -math.inf
        self.closing = False
        # One sweep every few tens of milliseconds times out late answers, grows the
        # pool for requests that waited and sheds those queued too long: a timer per
        # request would cost more than its I/O.
        self.sweep_seconds = min(0.05, self.grow_after, timeout_seconds / 4)
        self._sweeper: Optional[asyncio.TimerHandle] = self.loop.call_later(
            self.sweep_seconds, self._sweep
        )

    def send(self, done: Done, token: Any) -> None:
        """Send the request; ``done(class, body, token)`` is called exactly once, later."""
        self.dispatch(done, token, self.loop.time() + self.timeout_seconds, may_retry=True)

    def dispatch(self, done: Done, token: Any, deadline: float, may_retry: bool) -> None:
        """Send on an idle connection, or queue (a retry comes here with its deadline)."""
        idle = self.idle
        while idle:  # the common case: a kept-alive connection is free
            connection = idle.pop()
            if not connection.closed:
                connection.send(done, token, deadline, may_retry)
                return
        self.queue.append((done, token, deadline, self.loop.time(), may_retry))
        self._grow()

    def _grow(self) -> None:
        """Open connections for the requests that waited ``grow_after``, within the caps."""
        queue = self.queue
        if not queue or not self._may_open():
            return
        if not (self.open or self.opening):  # none to wait for: open one now
            done, token, deadline, _, may_retry = queue.popleft()
            self._open_for(done, token, deadline, may_retry)
            return
        # Connections are busy: more help only if they wait for the API, not for a
        # generator with no CPU to spare (a handshake would take it from requests).
        waited_since = self.loop.time() - self.grow_after
        if queue[0][3] > waited_since or not self.has_slack():
            return
        # Once one is open, one round of growth at a time, and the next only once the
        # queue has waited behind what the last round added (it drains the queue first).
        if self.open and (self.opening or self.grown_at > waited_since):
            return
        while queue and queue[0][3] <= waited_since and self._may_open():
            done, token, deadline, _, may_retry = queue.popleft()
            self._open_for(done, token, deadline, may_retry)

    def _may_open(self) -> bool:
        opening = len(self.opening)
        window = min(MAX_OPENING, max(MIN_OPENING, len(self.open)))
        return opening < window and len(self.open) + opening < self.max_connections

    def _open_for(self, done: Done, token: Any, deadline: float, may_retry: bool) -> None:
        task = self.loop.create_task(self._connect_then_send(done, token, deadline, may_retry))
        self.opening.add(task)
        task.add_done_callback(self._opened)

    def _opened(self, task: "asyncio.Task[None]") -> None:
        self.opening.discard(task)
        self.grown_at = self.loop.time()
        self._serve_queue()

    async def _connect_then_send(
        self, done: Done, token: Any, deadline: float, may_retry: bool
    ) -> None:
        try:
            async with asyncio.timeout_at(deadline):
                ip, port = await self.locate()
                expires = self.loop.time() + self.max_age_seconds * random.uniform(0.75, 1.0)
                _, connection = await self.loop.create_connection(
                    lambda: Connection(self, expires),
                    ip,
                    port,
                    ssl=self.ssl,
                    server_hostname=self.server_hostname,
                )
        except TimeoutError:
            done("timeout", None, token)
            return
        except OSError:  # refused, unreachable, TLS refused (ssl.SSLError), DNS failed
            done("connect_error", None, token)
            return
        except asyncio.CancelledError:
            done("timeout", None, token)  # abandoned while connecting
            raise
        if connection.closed:  # dropped as soon as it was made
            done("connect_error", None, token)
            return
        self.open.add(connection)
        connection.send(done, token, deadline, may_retry)

    def _serve_queue(self) -> None:
        """Shed what waited too long; open connections for what waited long enough."""
        self._shed_expired()
        self._grow()

    def _shed_expired(self) -> None:
        queue, now = self.queue, self.loop.time()
        queued_before = now - self.wait_seconds
        while queue and (queue[0][3] <= queued_before or queue[0][2] <= now):
            done, token, *_ = queue.popleft()
            done("shed", None, token)

    def _sweep(self) -> None:
        now = self.loop.time()
        for connection in [c for c in self.open if c.done is not None and c.deadline <= now]:
            connection.time_out()
        self._serve_queue()
        done = self.closing and not self.open and not self.opening
        self._sweeper = None if done else self.loop.call_later(self.sweep_seconds, self._sweep)

    def release(self, connection: Connection) -> None:
        """Take a connection back after a complete answer: the queue's next, or idle."""
        connection.reused = True
        self._shed_expired()
        if self.closing or self.loop.time() >= connection.expires:
            connection.abort()  # the queue's next gets another (a new one follows DNS)
        elif self.queue:
            done, token, deadline, _, may_retry = self.queue.popleft()
            connection.send(done, token, deadline, may_retry)
        else:
            self.idle.append(connection)

    def forget(self, connection: Connection) -> None:
        """Drop a closed connection; the queue may open a new one in its place."""
        if connection in self.open:
            self.open.discard(connection)
            self._serve_queue()

    async def abandon(self) -> None:
        """End every outstanding request now (the run is over): queued ones never left."""
        while self.queue:
            done, token, *_ = self.queue.popleft()
            done("shed", None, token)
        for task in list(self.opening):
            task.cancel()
        await asyncio.gather(*self.opening, return_exceptions=True)
        for connection in list(self.open):
            if connection.done is not None:
                connection.time_out()

    async def close(self) -> None:
        """Close idle connections now; busy ones close when their answer is in."""
        self.closing = True
        for connection in list(self.open):
            if connection.done is None:
                connection.abort()
        if not self.open and not self.opening and self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None


@functools.cache
def _tls_context(verify: bool) -> ssl.SSLContext:
    # One per process and setting: loading the CA store costs milliseconds.
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(["http/1.1"])  # never negotiate HTTP/2: this client speaks 1.1
    return context


class CachedLocation:
    """Where new connections go: ``resolve()`` asked at most every ``ttl_seconds``."""

    def __init__(
        self, resolve: Callable[[], Awaitable[tuple[str, int]]], ttl_seconds: float
    ) -> None:
        self._resolve = resolve
        self._ttl = ttl_seconds
        self._answer: Optional[tuple[str, int]] = None
        self._until = 0.0

    async def __call__(self) -> tuple[str, int]:
        now = time.monotonic()
        if self._answer is None or now >= self._until:
            self._answer = await self._resolve()
            self._until = now + self._ttl
        return self._answer
