"""One kept-alive HTTP/1.1 connection of an ``Http1Pool``: the wire side.

It writes the pool's prepared request (``request_bytes``), feeds what comes
back to httptools (llhttp, C: the parser uvicorn uses) and ends the request
exactly once, in the generator's classes: the answer's status class,
``timeout`` (the pool's sweep says its deadline passed), ``connect_error``
(the connection dropped before a complete answer, or an answer cut short) or
``invalid_response`` (bytes that are not HTTP/1.1, or a protocol switch).

Framing (RFC 9112): a length, chunks, or the end of the connection when the
answer says neither; ``1xx`` answers other than ``101`` (``103 Early Hints``)
are skipped; an answer nobody asked for closes the socket, which is out of
sync. A reused connection that the server closed before any byte of the
answer (an API's idle timeout racing the next request) is retried once on
another connection, as browsers and hyper do; a fresh one is not (a dead
API's load is not doubled).
"""

import asyncio
from typing import TYPE_CHECKING, Any, Optional, Union
from urllib.parse import urlsplit

import httptools

from chaosaws_serverless.loadgen.clients.base import Done

if TYPE_CHECKING:
    from chaosaws_serverless.loadgen.clients.http1 import Http1Pool

__all__ = ["Connection", "request_bytes"]

_STALE = "stale"  # a reused connection closed before any byte of the answer


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


class Connection(asyncio.BufferedProtocol):
    """One socket; at most one request outstanding on it.

    Buffered: the loop reads into the pool's buffer. With TLS this matters most:
    a plain protocol gets each read as a new bytes object, which uvloop's TLS
    layer allocates at 256 KiB and shrinks, more CPU than the request itself.
    """

    def __init__(self, pool: "Http1Pool", expires: float) -> None:
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
        self.expires = expires  # loop time: past it, the pool closes it once it is free

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
            self.pool.dispatch(done, self.token, self.deadline, may_retry=False)
        else:
            done("connect_error" if outcome is _STALE else outcome, None, self.token)

    def abort(self) -> None:
        if not self.closed:
            self.closed = True
            self.pool.forget(self)
            if self.transport is not None:
                self.transport.abort()
