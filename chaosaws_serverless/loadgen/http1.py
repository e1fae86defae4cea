"""A lean HTTP/1.1 keep-alive client on the event loop: the generator's fastest path.

Why it exists: on one core, what bounds an open-loop generator is the CPU spent
per request. ``benchmarks/loadgen_cpu_per_request.py`` measures the clients
behind the same engine interface: aiohttp (Python on the loop) and pyreqwest
(Rust on a tokio thread; rnet, the other Rust client, measured once with a
throwaway adapter, cost more). The Rust clients cross threads twice per
request (send, then the answer back under the GIL), and those crossings cost
more than the HTTP itself. Here nothing crosses threads:
parsing is httptools (llhttp, C: the parser uvicorn uses), sockets and TLS are
the event loop's (uvloop: C), and the Python per request is writing a
prepared request and one callback when the answer is in (no task, no future:
on one core those cost as much as the rest of the request).

Scope, on purpose no more than the generator needs: one request at a time
per connection (no pipelining), no request body, no redirects (3xx are
answers), no proxies, no compression, the status and the first
``max_body_bytes`` of the body. Not for ``HEAD`` (the parser cannot be told a
response has no body): ``LoadConfig`` sends ``HEAD`` through another client.

Failures land in the generator's classes: ``timeout`` (no complete answer
within the deadline, connecting included), ``connect_error`` (not reachable,
TLS refused, or the connection dropped before a complete answer) and
``invalid_response`` (bytes that are not HTTP). A kept-alive connection that
the server closed while idle is retried once on a new one, as browsers and
hyper do, so an API's idle timeout is not counted as a customer's error.
"""

import asyncio
import collections
import functools
import math
import ssl
import time
from collections.abc import Awaitable, Callable
from typing import Any, Optional, Union
from urllib.parse import urlsplit

import httptools

__all__ = ["CachedLocation", "Done", "Http1Pool", "request_bytes"]

# done(class, body start or None, token): how a request ends. The class is what
# ``classify(status)`` says of an answer, or "timeout" / "connect_error" /
# "invalid_response", or "shed": it never left, no connection came free within
# ``wait_seconds`` (the generator's own limit, not the API's latency). The token
# is the caller's, handed back untouched.
Done = Callable[[str, Optional[bytes], Any], None]
# () -> (ip, port): where new connections go (the resolve hook or DNS, cached).
Locate = Callable[[], Awaitable[tuple[str, int]]]

_STALE = "stale"  # internal: a reused connection closed before any byte of the answer
# How a pool grows (see Http1Pool): a request that finds every connection busy waits
# for one to come free, and a connection is opened for it only once it has waited
# GROW_AFTER of the send-lag bound, or when none is open. A TLS handshake costs
# 1.5-2.5 ms of CPU (OpenSSL 3.0), the cost of 20-40 requests: opening one per request
# that came due while the first handshakes ran made the pool's start a burst of
# hundreds of handshakes that it then shed behind (benchmarks/loadgen_cpu_per_request.py
# --tls). A few connections carry thousands of requests a second from a near server;
# a far or slow one gets the connections it needs after that short wait.
GROW_AFTER = 0.25
# Connections being opened at once: at most as many as are open (at least
# MIN_OPENING), so a pool at most doubles per handshake round, and never more than
# MAX_OPENING: enough that a pool over a cross-region round trip still grows to
# hundreds of connections within a second.
MIN_OPENING = 8
MAX_OPENING = 64
_READ_BUFFER_BYTES = 64 * 1024


def request_bytes(method: str, url: str, headers: dict[str, str], user_agent: str) -> bytes:
    """Return the bytes of a body-less HTTP/1.1 request for ``url`` (sent as is each time)."""
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"  # an IPv6 literal
    default_port = 443 if parts.scheme == "https" else 80
    if parts.port is not None and parts.port != default_port:
        host = f"{host}:{parts.port}"
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}", f"User-Agent: {user_agent}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lower = {name.lower() for name in headers}
    if "accept" not in lower:
        lines.append("Accept: */*")
    if method in ("POST", "PUT", "PATCH") and "content-length" not in lower:
        lines.append("Content-Length: 0")  # a body-less POST without it may get a 411
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class _Connection(asyncio.BufferedProtocol):
    """One socket; at most one request outstanding on it.

    Buffered: the loop reads into the pool's buffer. With TLS this matters most:
    a plain protocol gets each read as a new bytes object, which uvloop's TLS
    layer allocates at 256 KiB and shrinks, more CPU than the request itself.
    """

    def __init__(self, pool: "Http1Pool") -> None:
        self.pool = pool
        self.transport: Optional[asyncio.Transport] = None
        self.parser = httptools.HttpResponseParser(self)
        # The request outstanding on it: who to tell, their token, whether a stale
        # connection may still be retried, and when the pool's sweeper times it out.
        self.done: Optional[Done] = None
        self.token: Any = None
        self.may_retry = False
        self.deadline = 0.0  # loop time
        self.body = b""
        self.answered = False  # a byte of the current answer arrived
        self.headers_done = False
        self.reused = False  # it carried a complete answer before: the server may drop it
        self.closed = False

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.pool.read_buffer

    def buffer_updated(self, nbytes: int) -> None:
        # The shared buffer is safe: the loop fills it and calls this at once, and the
        # parser copies what it keeps (on_body gets bytes) before the next read.
        self.answered = True
        try:
            self.parser.feed_data(self.pool.read_buffer[:nbytes])
        except (httptools.HttpParserError, httptools.HttpParserUpgrade):
            self._end("invalid_response", None)  # not HTTP/1.1, or a protocol switch
            self.abort()

    def eof_received(self) -> None:
        if self.done is None:
            self.abort()  # closed by the server while idle: never hand it out again

    def connection_lost(self, exc: Optional[Exception]) -> None:
        self.closed = True
        self.pool.forget(self)
        if self.done is None:
            return
        if self.headers_done and not self.parser.should_keep_alive():
            # An answer framed by the end of the connection (no length): complete now.
            self._end(self.parser.get_status_code(), self.body)
        else:
            stale = self.reused and not self.answered
            self._end(_STALE if stale else "connect_error", None)

    # httptools callbacks

    def on_headers_complete(self) -> None:
        self.headers_done = True

    def on_body(self, chunk: bytes) -> None:
        room = self.pool.max_body_bytes - len(self.body)
        if room > 0:
            self.body += chunk[:room]

    def on_message_complete(self) -> None:
        status = self.parser.get_status_code()
        if 100 <= status < 200 and status != 101:
            self.body = b""  # informational (103 Early Hints...): the answer follows
            return
        if self.done is None:  # an answer nobody asked for: this socket is out of sync
            self.abort()
            return
        keep = self.parser.should_keep_alive()
        self._end(status, self.body)
        if keep and not self.closed:
            self.pool.release(self)
        else:
            self.abort()

    # the pool's side

    def send(self, done: Done, token: Any, deadline: float, may_retry: bool) -> None:
        self.done, self.token, self.deadline, self.may_retry = done, token, deadline, may_retry
        self.body, self.answered, self.headers_done = b"", False, False
        self.transport.write(self.pool.request)  # type: ignore[union-attr]

    def time_out(self) -> None:
        self._end("timeout", None)
        self.abort()  # the answer may still come: this socket is no longer in sync

    def _end(self, outcome: Union[int, str], body: Optional[bytes]) -> None:
        done, self.done = self.done, None
        if done is None:
            return
        if isinstance(outcome, int):
            done(self.pool.classify(outcome), body, self.token)
        elif outcome is _STALE and self.may_retry:
            self.pool.send(done, self.token, self.deadline, may_retry=False)
        else:
            done("connect_error" if outcome is _STALE else outcome, None, self.token)

    def abort(self) -> None:
        if not self.closed:
            self.closed = True
            self.pool.forget(self)
            if self.transport is not None:
                self.transport.abort()


class Http1Pool:
    """Kept-alive connections to one origin, at most ``max_connections`` open.

    ``start`` sends the prepared request on an idle connection (the most
    recently used: its socket is warm), or queues it for the next connection
    that comes free. A queued request gets a connection of its own once it has
    waited ``GROW_AFTER`` of ``wait_seconds`` (or at once when none is open),
    within the caps; from then on it waits for the API (connecting counts in
    its latency). The queue costs nothing per request (no task, no timer), and
    a request that waits in it longer than ``wait_seconds`` is shed: that wait
    would be the generator's own queue, read as the API's latency. The timeout
    covers connecting and the answer.
    """

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
        self.server_hostname = parts.hostname if parts.scheme == "https" else None
        self.ssl = _tls_context(verify_tls) if parts.scheme == "https" else None
        self.read_buffer = memoryview(bytearray(_READ_BUFFER_BYTES))
        self.idle: collections.deque[_Connection] = collections.deque()
        self.open: set[_Connection] = set()
        self.opening: set[asyncio.Task[None]] = set()
        # (done, token, deadline, queued_at, may_retry), oldest first.
        self.queue: collections.deque[tuple[Done, Any, float, float, bool]] = collections.deque()
        self.grow_after = GROW_AFTER * wait_seconds
        self.has_slack = has_slack
        self.closing = False
        # One sweep every few tens of milliseconds times out late answers, grows the
        # pool for requests that waited and sheds those queued too long: a timer per
        # request would cost more than its I/O.
        self.sweep_seconds = min(0.05, self.grow_after, timeout_seconds / 4)
        self._sweeper: Optional[asyncio.TimerHandle] = self.loop.call_later(
            self.sweep_seconds, self._sweep
        )

    def start(self, done: Done, token: Any) -> None:
        """Send the request; ``done(class, body, token)`` is called exactly once, later."""
        self.send(done, token, self.loop.time() + self.timeout_seconds, may_retry=True)

    def send(self, done: Done, token: Any, deadline: float, may_retry: bool) -> None:
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
        if self.open or self.opening:
            # Connections are busy: more help only if they wait for the API, not for
            # a generator with no CPU to spare (a handshake would take it from requests).
            waited_since = self.loop.time() - self.grow_after
            if queue[0][3] > waited_since or not self.has_slack():
                return
        else:
            waited_since = math.inf  # none to wait for: open one now
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
        self._serve_queue()

    async def _connect_then_send(
        self, done: Done, token: Any, deadline: float, may_retry: bool
    ) -> None:
        try:
            async with asyncio.timeout_at(deadline):
                ip, port = await self.locate()
                _, connection = await self.loop.create_connection(
                    lambda: _Connection(self),
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

    def release(self, connection: _Connection) -> None:
        """Take a connection back after a complete answer: the queue's next, or idle."""
        connection.reused = True
        self._shed_expired()
        if self.queue:
            done, token, deadline, _, may_retry = self.queue.popleft()
            connection.send(done, token, deadline, may_retry)
        elif self.closing:
            connection.abort()
        else:
            self.idle.append(connection)

    def forget(self, connection: _Connection) -> None:
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

    def close(self) -> None:
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
    # One per process and setting: loading the CA store costs milliseconds, and a shared
    # context lets new connections resume TLS sessions.
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
