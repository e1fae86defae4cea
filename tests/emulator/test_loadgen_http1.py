"""The event loop's own HTTP/1.1 client (loadgen/http1.py) against raw servers.

Each server is a few lines of asyncio that write bytes as RFC 9112 frames them,
and count what they saw (connections, requests, peak concurrency, SNI): the
judge is the server's own tally, never the client's.
"""

import asyncio
import ssl
import threading
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from chaosaws_serverless.lab.tls import server_context
from chaosaws_serverless.loadgen.config import LoadConfig, LoadConfigError
from chaosaws_serverless.loadgen.engine import http_client_name, run_load_sync
from chaosaws_serverless.loadgen.http1 import MAX_OPENING

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
        def shutdown() -> None:
            self.server.close()
            for task in asyncio.all_tasks(self.loop):
                task.cancel()  # handlers blocked reading: their finally closes the socket
            self.loop.call_soon(self.loop.stop)  # after the cancellations have run

        self.loop.call_soon_threadsafe(shutdown)
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


def answering_after(seconds: float) -> Behaviour:
    """A kept-alive server that answers each request ``seconds`` after reading it."""

    async def behaviour(server: RawServer, reader: Any, writer: Any) -> None:
        while True:
            await server.read_request(reader)
            if seconds:
                await asyncio.sleep(seconds)
            writer.write(framed())
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


def test_a_burst_opens_a_bounded_number_of_connections_at_once(
    serve: Callable[..., RawServer],
) -> None:
    # Each new connection asks the (slow) resolver first: the calls in flight at once
    # are the connections being opened at once.
    server = serve(keep_alive)
    resolving, peak = 0, 0

    async def slow_resolve(host: str) -> tuple[str, int]:
        nonlocal resolving, peak
        resolving += 1
        peak = max(peak, resolving)
        await asyncio.sleep(0.1)
        resolving -= 1
        return ("127.0.0.1", server.port)

    summary = run(
        "http://api.example.com/",
        rate=2000,
        duration=0.1,
        resolve=slow_resolve,
        dns_cache_seconds=0,
    )
    assert summary["status_2xx"] == server.requests == 200
    assert peak == MAX_OPENING


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
    assert http_client_name(head) == "pyreqwest"
    get = LoadConfig(url="http://h/", rate_per_second=1, duration_seconds=1)
    assert http_client_name(get) == "httptools"


def test_a_proxy_in_the_environment_sends_auto_to_a_client_that_uses_it(
    no_proxy_env: pytest.MonkeyPatch,
) -> None:
    monkeypatch = no_proxy_env
    config = LoadConfig(url="https://api.example.com/", rate_per_second=1, duration_seconds=1)
    assert http_client_name(config) == "httptools"
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.corp:3128")
    assert http_client_name(config) == "pyreqwest"
    monkeypatch.setenv("NO_PROXY", "api.example.com")
    assert http_client_name(config) == "httptools"
