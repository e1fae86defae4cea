"""The event loop's own HTTP/1.1 client (loadgen/clients/http1.py) against raw servers.

Each server is a few lines of asyncio that write bytes as RFC 9112 frames them,
and count what they saw (connections, requests, peak concurrency, SNI): the
judge is the server's own tally, never the client's.
"""

import asyncio
import ssl
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from chaosaws_serverless.lab.tls import server_context
from chaosaws_serverless.loadgen.clients.choice import http_client_name
from chaosaws_serverless.loadgen.clients.http1 import (
    GROW_AFTER,
    MIN_OPENING,
    CachedLocation,
    Http1Pool,
)
from chaosaws_serverless.loadgen.clients.http1_connection import request_bytes
from chaosaws_serverless.loadgen.config import LoadConfig, LoadConfigError
from chaosaws_serverless.loadgen.engine import run_load_sync
from chaosaws_serverless.loadgen.stats import classify_status

Behaviour = Callable[["RawServer", asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class RawServer:
    """An asyncio TCP server on 127.0.0.1 in its own thread, with a tally."""

    def __init__(self, behaviour: Behaviour, tls: ssl.SSLContext | None = None) -> None:
        self.behaviour = behaviour
        self.connections = 0
        self.requests = 0
        self.open_now = 0
        self.open_peak = 0
        self.request_heads: list[bytes] = []
        self.loop = asyncio.new_event_loop()
        self.server = self.loop.run_until_complete(
            asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=tls)
        )
        self.port = self.server.sockets[0].getsockname()[1]
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open_now += 1
        self.open_peak = max(self.open_peak, self.open_now)
        try:
            await self.behaviour(self, reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            self.open_now -= 1
            writer.close()

    async def read_request(self, reader: asyncio.StreamReader) -> bytes:
        head = await reader.readuntil(b"\r\n\r\n")
        self.requests += 1
        self.request_heads.append(head)
        return head

    def stop(self) -> None:
        """Close the server and every connection (the clients see them reset), then its loop."""
        if self.loop.is_closed():
            return

        async def shutdown() -> None:
            self.server.close()
            handlers = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in handlers:
                task.cancel()  # handlers blocked reading: their finally closes the socket
            await asyncio.gather(*handlers, return_exceptions=True)
            await asyncio.sleep(0)  # the closed transports' connection_lost runs

        asyncio.run_coroutine_threadsafe(shutdown(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


HELLO = b"Hello from region eu-west-1"


def framed(body: bytes = HELLO, extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n%s" % (len(body), extra, body)


@pytest.fixture(name="serve")
def fixture_serve() -> Iterator[Callable[..., RawServer]]:
    servers: list[RawServer] = []

    def serve(behaviour: Behaviour, tls: ssl.SSLContext | None = None) -> RawServer:
        servers.append(RawServer(behaviour, tls))
        return servers[-1]

    yield serve
    for server in servers:
        server.stop()


def run(url: str, rate: float = 20, duration: float = 0.5, **kwargs: Any) -> dict[str, Any]:
    options = {k: kwargs.pop(k) for k in list(kwargs) if k in LoadConfig.__dataclass_fields__}
    options.setdefault("max_send_lag_seconds", 2.0)
    options.setdefault("http_client", "httptools")
    config = LoadConfig(url=url, rate_per_second=rate, duration_seconds=duration, **options)
    summary = run_load_sync(config, handle_signals=False, **kwargs)
    assert summary["http_client"] == "httptools"
    return summary


def answering_after(seconds: float, body: bytes = HELLO) -> Behaviour:
    """A kept-alive server that answers each request ``seconds`` after reading it."""

    async def behaviour(server: RawServer, reader: Any, writer: Any) -> None:
        while True:
            await server.read_request(reader)
            if seconds:
                await asyncio.sleep(seconds)
            writer.write(framed(body))
            await writer.drain()

    return behaviour


keep_alive = answering_after(0)


def test_a_kept_alive_connection_carries_every_request(serve: Callable[..., RawServer]) -> None:
    server = serve(keep_alive)
    summary = run(f"http://127.0.0.1:{server.port}/api/hello", rate=20, duration=0.5)
    assert summary["status_2xx"] == server.requests == 10
    assert summary["regions"] == {"eu-west-1": 10}
    assert server.connections == 1


def test_a_connection_the_server_dropped_while_idle_is_retried_once(
    serve: Callable[..., RawServer],
) -> None:
    # Each connection answers one request, then closes on the next one without a byte:
    # what an API's idle timeout looks like when it races the next request.
    async def one_answer_per_connection(server: RawServer, reader: Any, writer: Any) -> None:
        await server.read_request(reader)
        writer.write(framed())
        await writer.drain()
        await server.read_request(reader)  # closes without answering

    server = serve(one_answer_per_connection)
    summary = run(f"http://127.0.0.1:{server.port}/", rate=20, duration=0.5)
    assert summary["status_2xx"] == 10 and summary["status_connect_error"] == 0
    # The first connection answered 1; every later request came twice (stale, then new).
    assert server.connections == 10 and server.requests == 19


def test_a_fresh_connection_closed_without_an_answer_is_a_connect_error_not_retried(
    serve: Callable[..., RawServer],
) -> None:
    async def hang_up(server: RawServer, reader: Any, writer: Any) -> None:
        await server.read_request(reader)

    server = serve(hang_up)
    summary = run(f"http://127.0.0.1:{server.port}/", rate=20, duration=0.5)
    assert summary["status_connect_error"] == 10
    assert server.connections == server.requests == 10  # no retry doubles a dead API's load


def test_an_answer_framed_by_the_end_of_the_connection_is_complete(
    serve: Callable[..., RawServer],
) -> None:
    async def until_close(server: RawServer, reader: Any, writer: Any) -> None:
        await server.read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + HELLO)
        await writer.drain()

    server = serve(until_close)
    summary = run(f"http://127.0.0.1:{server.port}/", rate=20, duration=0.5)
    assert summary["status_2xx"] == 10 and summary["regions"] == {"eu-west-1": 10}
    assert server.connections == 10


def test_a_chunked_answer_is_read_across_chunks(serve: Callable[..., RawServer]) -> None:
    async def chunked(server: RawServer, reader: Any, writer: Any) -> None:
        while True:
            await server.read_request(reader)
            head, tail = HELLO[:9], HELLO[9:]
            writer.write(
                b"HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n\r\n"
                b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(head), head, len(tail), tail)
            )
            await writer.drain()

    server = serve(chunked)
    summary = run(f"http://127.0.0.1:{server.port}/", rate=20, duration=0.5)
    assert summary["status_5xx"] == 10 and summary["regions"] == {"eu-west-1": 10}
    assert server.connections == 1


def test_an_informational_answer_is_not_the_answer(serve: Callable[..., RawServer]) -> None:
    async def early_hints(server: RawServer, reader: Any, writer: Any) -> None:
        while True:
            await server.read_request(reader)
            writer.write(b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n")
            writer.write(framed())
            await writer.drain()

    server = serve(early_hints)
    summary = run(f"http://127.0.0.1:{server.port}/", rate=20, duration=0.5)
    assert summary["status_2xx"] == server.requests == 10 and summary["status_other"] == 0
    assert summary["regions"] == {"eu-west-1": 10} and server.connections == 1


def test_an_answer_cut_short_is_a_connect_error(serve: Callable[..., RawServer]) -> None:
    async def truncated(server: RawServer, reader: Any, writer: Any) -> None:
        await server.read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nHello")
        await writer.drain()

    server = serve(truncated)
    summary = run(f"http://127.0.0.1:{server.port}/", rate=20, duration=0.5)
    assert summary["status_connect_error"] == 10 and summary["status_2xx"] == 0


def test_the_connection_cap_holds_and_waiting_requests_still_complete(
    serve: Callable[..., RawServer],
) -> None:
    server = serve(answering_after(0.1))
    summary = run(f"http://127.0.0.1:{server.port}/", rate=40, duration=0.5, max_connections=2)
    assert summary["status_2xx"] == server.requests == 20
    assert server.open_peak == 2
    assert summary["latency_ms"]["max"] >= 200  # queued for a connection: in the latency


class SlowResolver:
    """A resolve hook that answers after ``seconds``: each call is a connection being opened.

    ``first_round`` counts the calls made before the first one answered: the
    connections the pool opened at once while it had none to send on.
    """

    def __init__(self, port: Callable[[], int], seconds: float = 0.1) -> None:
        self.port, self.seconds = port, seconds
        self.calls, self.first_round = 0, 0
        self.answered = False
        self.spans: list[tuple[float, float]] = []  # (called, answered): time.monotonic()

    async def __call__(self, host: str) -> tuple[str, int]:
        self.calls += 1
        called = time.monotonic()
        if not self.answered:
            self.first_round += 1
        await asyncio.sleep(self.seconds)
        self.answered = True
        self.spans.append((called, time.monotonic()))
        return ("127.0.0.1", self.port())


def burst_behind_a_slow_first_connection(
    serve: Callable[..., RawServer], max_send_lag_seconds: float
) -> tuple[RawServer, SlowResolver, dict[str, Any]]:
    """200 requests come due in 100 ms while the first connection takes 100 ms to open."""
    server = serve(keep_alive)
    resolver = SlowResolver(lambda: server.port)
    summary = run(
        "http://api.example.com/",
        rate=2000,
        duration=0.1,
        resolve=resolver,
        dns_cache_seconds=0,
        max_send_lag_seconds=max_send_lag_seconds,
    )
    return server, resolver, summary


def test_a_burst_waits_for_the_pool_instead_of_opening_a_connection_each(
    serve: Callable[..., RawServer],
) -> None:
    # Far within the send-lag bound: a kept-alive connection carries them all, one
    # after the other, where a connection each would be 200 TLS handshakes (the cold
    # start).
    server, resolver, summary = burst_behind_a_slow_first_connection(serve, 8.0)
    assert summary["status_2xx"] == server.requests == 200
    assert server.connections == resolver.calls == 1


def test_requests_that_waited_open_a_bounded_number_of_connections_at_once(
    serve: Callable[..., RawServer],
) -> None:
    # The requests behind the first connection wait past GROW_AFTER of the send-lag
    # bound (50 ms of 200), so the pool opens connections for them: MIN_OPENING at
    # once while none is open, not one per request.
    server, resolver, summary = burst_behind_a_slow_first_connection(serve, 0.2)
    assert resolver.first_round == MIN_OPENING
    assert summary["status_2xx"] == server.requests
    assert summary["status_2xx"] + summary["shed"] == summary["planned"] == 200


def test_the_pool_grows_again_only_once_the_queue_waited_behind_its_new_connections(
    serve: Callable[..., RawServer],
) -> None:
    # A slow API (30 ms an answer: 30 connections for 1000 requests a second) and
    # connections that take 20 ms to open: the pool grows in rounds. The requests
    # that queued while a round's handshakes ran are the new connections' to carry:
    # no connection is opened until GROW_AFTER of the send-lag bound (50 ms) after
    # the last one opened, where opening one for each of them at once was the
    # spiral of handshakes of a cold start over TLS.
    server = serve(answering_after(0.03))
    resolver = SlowResolver(lambda: server.port, seconds=0.02)
    summary = run(
        "http://api.example.com/",
        rate=1000,
        duration=0.6,
        resolve=resolver,
        dns_cache_seconds=0,
        max_send_lag_seconds=0.2,
    )
    grow_after = GROW_AFTER * 0.2
    assert resolver.calls > MIN_OPENING  # it grew past its first round
    # A call that starts a round (none in progress, one answered before) comes at
    # least grow_after after the last answer: a busy machine only makes it later.
    calls = resolver.spans
    for called, _ in calls:
        answered_before = [a for _, a in calls if a <= called]
        in_progress = any(c < called < a for c, a in calls)
        if answered_before and not in_progress:
            assert called - max(answered_before) >= 0.9 * grow_after
    assert summary["status_2xx"] == server.requests
    assert summary["status_2xx"] + summary["shed"] == summary["planned"]


def test_a_generator_with_no_cpu_to_spare_does_not_grow_its_pool(
    serve: Callable[..., RawServer],
) -> None:
    # Same wait as above, but the governor says the generator is out of CPU: a
    # handshake would take it from the requests, so they wait for the one connection
    # (or are shed past the bound) instead.
    server = serve(keep_alive)
    resolver = SlowResolver(lambda: server.port)
    ends: list[str] = []

    async def burst() -> None:
        pool = Http1Pool(
            "http://api.example.com/",
            request_bytes("GET", "http://api.example.com/", {}, "test"),
            CachedLocation(lambda: resolver("api.example.com"), 0.0),
            max_connections=100,
            timeout_seconds=5.0,
            max_body_bytes=100,
            verify_tls=False,
            classify=classify_status,
            wait_seconds=0.2,
            has_slack=lambda: False,
        )
        for _ in range(200):
            pool.send(lambda klass, body, token: ends.append(klass), None)
            await asyncio.sleep(0.0005)
        while len(ends) < 200:
            await asyncio.sleep(0.01)
        await pool.close()

    asyncio.run(burst())
    assert resolver.calls == server.connections == 1
    assert len(ends) == 200 and set(ends) <= {"2xx", "shed"}


def test_after_a_failover_the_pool_grows_to_what_the_new_region_needs(
    serve: Callable[..., RawServer],
) -> None:
    # Customers of a region that went away (its server closes every connection) move
    # to the other region's, which answers in 50 ms: at 200 requests a second that is
    # 10 requests outstanding at once, so the new pool must grow past its first
    # connection to 10 or more, as it did in the first region, and carry the load.
    first = serve(answering_after(0.05, b"Hello from region us-east-1"))
    second = serve(answering_after(0.05, b"Hello from region eu-west-1"))
    target = {"server": first}

    def failover() -> None:
        target["server"] = second
        first.stop()

    timer = threading.Timer(0.6, failover)
    timer.start()
    try:
        summary = run(
            "http://api.example.com/",
            rate=200,
            duration=1.5,
            resolve=lambda host: ("127.0.0.1", target["server"].port),
            dns_cache_seconds=0,
            max_send_lag_seconds=0.1,  # the default: requests wait at most 25 ms for growth
        )
    finally:
        timer.cancel()
    assert first.open_peak >= 10 and second.open_peak >= 10
    # Every request the second region read was answered; the first's last ones were not.
    assert summary["regions"]["eu-west-1"] == second.requests
    assert summary["regions"]["us-east-1"] <= first.requests
    counted = ("status_2xx", "status_connect_error", "shed")
    assert sum(summary[key] for key in counted) == summary["planned"] == 300


def test_a_request_that_finds_no_connection_in_time_is_shed_not_queued(
    serve: Callable[..., RawServer],
) -> None:
    # One connection, 300 ms per answer, a request every 50 ms: waiting for the
    # connection would be the generator's queue, so past the send-lag bound (0.1 s)
    # the request is shed and counted, never sent late and blamed on the API.
    server = serve(answering_after(0.3))
    summary = run(
        f"http://127.0.0.1:{server.port}/",
        rate=20,
        duration=0.5,
        max_connections=1,
        max_send_lag_seconds=0.1,
    )
    assert summary["sent"] == summary["status_2xx"] == server.requests
    assert summary["sent"] + summary["dropped"] == summary["planned"] == 10
    assert summary["shed"] == summary["dropped"] >= 5 and summary["saturated"] is True
    assert summary["latency_ms"]["max"] < 300 + 100 + 150  # answer + bounded wait + slack


def test_request_head_names_the_url_host_and_sends_the_configured_headers(
    serve: Callable[..., RawServer],
) -> None:
    server = serve(keep_alive)
    run(
        "http://api.example.com/api/hello?x=1",
        rate=10,
        duration=0.2,
        method="POST",
        headers={"X-Chaos": "on"},
        resolve=lambda host: ("127.0.0.1", server.port),
    )
    head = server.request_heads[0].decode()
    lines = head.split("\r\n")
    assert lines[0] == "POST /api/hello?x=1 HTTP/1.1"
    assert "Host: api.example.com" in lines and "X-Chaos: on" in lines
    assert "Content-Length: 0" in lines


def test_tls_sends_the_url_host_as_sni_and_verifies_unless_told_not_to(
    serve: Callable[..., RawServer], tmp_path: Path
) -> None:
    names: list[str | None] = []
    context = server_context(["api.example.com"], tmp_path)
    context.sni_callback = lambda sock, name, ctx: names.append(name)  # type: ignore[assignment,func-returns-value]
    server = serve(keep_alive, context)

    def pinned(host: str) -> tuple[str, int]:
        return ("127.0.0.1", server.port)

    summary = run("https://api.example.com/", resolve=pinned, verify_tls=False)
    assert summary["status_2xx"] == 10 and set(names) == {"api.example.com"}
    # Self-signed: with verification on, nothing is answered and nothing counts as 2xx.
    summary = run("https://api.example.com/", resolve=pinned, verify_tls=True)
    assert summary["status_connect_error"] == 10 and summary["status_2xx"] == 0


@pytest.fixture(name="no_proxy_env")
def fixture_no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        for variant in (name, name.upper()):
            monkeypatch.delenv(variant, raising=False)
    return monkeypatch


@pytest.mark.usefixtures("no_proxy_env")
def test_head_goes_to_a_client_that_knows_it_has_no_body() -> None:
    with pytest.raises(LoadConfigError, match="HEAD"):
        LoadConfig(
            url="http://h/",
            rate_per_second=1,
            duration_seconds=1,
            method="HEAD",
            http_client="httptools",
        )
    head = LoadConfig(url="http://h/", rate_per_second=1, duration_seconds=1, method="HEAD")
    assert http_client_name(head) == "aiohttp"
    get = LoadConfig(url="http://h/", rate_per_second=1, duration_seconds=1)
    assert http_client_name(get) == "httptools"


def test_a_proxy_in_the_environment_sends_auto_to_a_client_that_uses_it(
    no_proxy_env: pytest.MonkeyPatch,
) -> None:
    monkeypatch = no_proxy_env
    config = LoadConfig(url="https://api.example.com/", rate_per_second=1, duration_seconds=1)
    assert http_client_name(config) == "httptools"
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.corp:3128")
    assert http_client_name(config) == "aiohttp"
    monkeypatch.setenv("NO_PROXY", "api.example.com")
    assert http_client_name(config) == "httptools"
