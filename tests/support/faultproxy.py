"""A flaky AWS: an HTTP proxy on 127.0.0.1 between boto3 and a moto server.

It answers a configurable share of the calls with what AWS answers on a bad
day, in the error shape of each wire protocol, so botocore parses the same
error code it would get from AWS:

=============  ==============================================================
kind           what the client sees
=============  ==============================================================
``throttle``   Lambda (REST-JSON): 429 ``TooManyRequestsException``;
               JSON protocols: 400 ``ThrottlingException``; Route 53 / query
               protocols (XML): 400 ``Throttling``
``error500``   500 ``ServiceException`` / ``InternalFailure``
``conflict``   Lambda writes only: 409 ``ResourceConflictException``
               "An update is in progress for resource"; any other call gets a
               throttle instead (AWS answers 409 only to writes)
``drop``       the connection closes before the request reaches moto
``drop_after`` the request reaches moto and changes its state, then the
               connection closes without an answer (the nastiest case: the
               client cannot know whether its write happened)
``denied``     (only when asked for, never among the defaults) Lambda: 403
               ``AccessDeniedException``; JSON protocols: 400
               ``AccessDeniedException``: a policy that does not allow the call
=============  ==============================================================

Decisions come from ``random.Random(seed)`` in request order, so a run with
one seed and one request order injects the same faults. The proxy counts every
request, every injected fault per kind, and the retries botocore announces in
its ``amz-sdk-request: attempt=N`` header.

Use::

    with FaultProxy(moto_url, fault_rate=0.2, seed=7) as proxy:
        configuration["aws_endpoint_url"] = proxy.url
        ...
        print(proxy.stats())
"""

from __future__ import annotations

import http.client
import json
import random
import re
import threading
import urllib.parse
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

KINDS = ("throttle", "error500", "conflict", "drop", "drop_after")
# Kinds a test asks for by name, never drawn by default (seeded runs keep their faults).
NAMED_KINDS = ("denied",)
# Lambda's REST-JSON API lives under dated path prefixes (/2015-03-31/functions, ...).
_LAMBDA_PATH = re.compile(r"^/20\d\d-\d\d-\d\d/(functions|tags|layers|event-source|account)")
_HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length"}
_ATTEMPT = re.compile(r"attempt=(\d+)")


@dataclass
class Request:
    """What the proxy saw of one call (enough to pick the error's shape)."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def is_lambda(self) -> bool:
        return bool(_LAMBDA_PATH.match(self.path))

    @property
    def is_write(self) -> bool:
        return self.method not in ("GET", "HEAD")

    @property
    def json_target(self) -> str:
        return self.headers.get("x-amz-target", "")

    @property
    def operation(self) -> str:
        if self.json_target:
            return self.json_target.rsplit(".", 1)[-1]
        if self.method == "POST" and b"Action=" in self.body:
            query = urllib.parse.parse_qs(self.body.decode("utf-8", "replace"))
            return query.get("Action", ["?"])[0]
        return f"{self.method} {urllib.parse.urlsplit(self.path).path}"


@dataclass
class Stats:
    """What the proxy did: requests seen, faults injected per kind, retries announced."""

    requests: int = 0
    injected: Counter = field(default_factory=Counter)
    retried: int = 0
    injected_by_operation: Counter = field(default_factory=Counter)

    @property
    def faults(self) -> int:
        return sum(self.injected.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "faults": self.faults,
            "retried": self.retried,
            "injected": dict(self.injected),
        }


def error_response(kind: str, request: Request) -> tuple[int, dict[str, str], bytes]:
    """Return (status, headers, body) of the AWS error ``kind`` for ``request``'s protocol."""
    request_id = str(uuid.uuid4())
    if kind == "conflict" and not (request.is_lambda and request.is_write):
        kind = "throttle"
    if kind == "unknown_key":  # AWS not knowing the access key that signed the request
        return _unknown_key(request, request_id)
    denied = (
        f"User: arn:aws:sts::123456789012:assumed-role/chaos/runner is not authorized to "
        f"perform this operation ({request.operation}) because no identity-based policy "
        "allows it (fault proxy)"
    )
    if request.is_lambda:
        status, code, message = {
            "denied": (403, "AccessDeniedException", denied),
            "throttle": (429, "TooManyRequestsException", "Rate exceeded"),
            "error500": (500, "ServiceException", "An internal error occurred (fault proxy)"),
            "conflict": (
                409,
                "ResourceConflictException",
                "The operation cannot be performed at this time. An update is in progress "
                "for resource: (fault proxy)",
            ),
        }[kind]
        body = {"Type": "User" if status < 500 else "Service", "message": message}
        if kind == "throttle":
            body["reason"] = "CallerRateLimitExceeded"
        return (
            status,
            {
                "Content-Type": "application/json",
                "x-amzn-ErrorType": code,
                "x-amzn-RequestId": request_id,
            },
            json.dumps(body).encode(),
        )
    if request.json_target:
        status, code = {
            "denied": (400, "AccessDeniedException"),
            "throttle": (400, "ThrottlingException"),
            "error500": (500, "InternalFailure"),
        }[kind]
        return (
            status,
            {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": request_id},
            json.dumps({"__type": code, "message": "fault proxy"}).encode(),
        )
    status, code, sender = {
        "throttle": (400, "Throttling", "Sender"),
        "error500": (500, "InternalFailure", "Receiver"),
    }[kind]
    xml = (
        "<ErrorResponse><Error>"
        f"<Type>{sender}</Type><Code>{code}</Code><Message>fault proxy</Message>"
        f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>"
    )
    return status, {"Content-Type": "text/xml", "x-amzn-RequestId": request_id}, xml.encode()


class FaultProxy:
    """A threaded HTTP proxy that injects AWS faults into a share of the calls."""

    def __init__(
        self,
        upstream_url: str,
        fault_rate: float = 0.2,
        seed: int = 0,
        kinds: Iterable[str] = KINDS,
        only: Callable[[Request], bool] | None = None,
    ) -> None:
        kinds = tuple(kinds)
        unknown = set(kinds) - set(KINDS) - set(NAMED_KINDS)
        if unknown or not kinds:
            raise ValueError(
                f"kinds must be a non-empty subset of {KINDS + NAMED_KINDS}, got {kinds}"
            )
        if not 0 <= fault_rate <= 1:
            raise ValueError(f"fault_rate must be in 0..1, got {fault_rate}")
        parts = urllib.parse.urlsplit(upstream_url)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.fault_rate = fault_rate
        self.kinds = kinds
        self.only = only
        self.enabled = True
        self.stats = Stats()
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._local = threading.local()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FaultProxy:
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="fault-proxy", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def decide(self, request: Request) -> str | None:
        """Return the fault to inject into ``request`` (or None), counting it."""
        with self._lock:
            self.stats.requests += 1
            match = _ATTEMPT.search(request.headers.get("amz-sdk-request", ""))
            if match and int(match.group(1)) > 1:
                self.stats.retried += 1
            if not self.enabled or (self.only is not None and not self.only(request)):
                return None
            if self._random.random() >= self.fault_rate:
                return None
            kind = self._random.choice(self.kinds)
            if kind == "conflict" and not (request.is_lambda and request.is_write):
                kind = "throttle"
            self.stats.injected[kind] += 1
            self.stats.injected_by_operation[f"{kind} {request.operation}"] += 1
            return kind

    def forward(self, request: Request) -> tuple[int, list[tuple[str, str]], bytes]:
        connection = getattr(self._local, "connection", None)
        for attempt in range(2):
            if connection is None:
                connection = http.client.HTTPConnection(*self.upstream, timeout=60)
                self._local.connection = connection
            try:
                headers = {k: v for k, v in request.headers.items() if k not in _HOP_HEADERS}
                connection.request(request.method, request.path, request.body, headers)
                response = connection.getresponse()
                body = response.read()
                return response.status, response.getheaders(), body
            except (http.client.HTTPException, OSError):
                connection.close()
                connection = None
                self._local.connection = None
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = Request(
                    self.command,
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                )
                kind = proxy.decide(request)
                if kind == "drop":
                    self.close_connection = True
                    return
                if kind in (None, "drop_after"):
                    try:
                        status, headers, payload = proxy.forward(request)
                    except (http.client.HTTPException, OSError):
                        self.close_connection = True
                        return
                    if kind == "drop_after":
                        self.close_connection = True
                        return
                    self.send_response(status)
                    for name, value in headers:
                        if name.lower() not in _HOP_HEADERS:
                            self.send_header(name, value)
                else:
                    status, fault_headers, payload = error_response(kind, request)
                    self.send_response(status)
                    for name, value in fault_headers.items():
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _handle

        return Handler


def _unknown_key(request: Request, request_id: str) -> tuple[int, dict[str, str], bytes]:
    """AWS's answer to a request signed with an access key it does not know, per protocol.

    JSON protocols (Lambda's REST-JSON included) answer 403 UnrecognizedClientException
    "The security token included in the request is invalid."; the query and REST-XML
    protocols (STS, Route 53) 403 InvalidClientTokenId.
    """
    message = "The security token included in the request is invalid."
    if request.is_lambda or request.json_target:
        headers = {
            "Content-Type": "application/x-amz-json-1.1",
            "x-amzn-ErrorType": "UnrecognizedClientException",
            "x-amzn-RequestId": request_id,
        }
        body = {"__type": "UnrecognizedClientException", "message": message}
        return 403, headers, json.dumps(body).encode()
    xml = (
        "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code>"
        f"<Message>{message}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
    )
    return 403, {"Content-Type": "text/xml", "x-amzn-RequestId": request_id}, xml.encode()
