"""aiohttp sessions: the client for what ``http1.py`` does not do.

``HEAD`` (httptools cannot be told an answer has no body), a proxy named by the
environment (``HTTPS_PROXY``/``NO_PROXY``: sessions trust the environment), and
a caller's own aiohttp resolver. It costs about eight times the CPU per
request of ``http1.py`` (``benchmarks/loadgen_cpu_per_request.py``): a task,
a future and a timer per request.

A session's connections are kept alive, so the session is replaced every
``connection_max_age_seconds``: customers then resolve the name again and
follow a DNS failover, as real clients do.
"""

import asyncio
import contextlib
import logging
import socket
from typing import Any, ClassVar, Optional

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from chaosaws_serverless.loadgen.clients.base import (
    USER_AGENT,
    Done,
    HttpClient,
    ResolveHook,
    call_hook,
)
from chaosaws_serverless.loadgen.config import LoadConfig
from chaosaws_serverless.loadgen.stats import classify_status

__all__ = ["AiohttpClient", "HookResolver"]

logger = logging.getLogger(__name__)


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
        answer = await call_hook(self._hook, host)
        if answer is None:
            if self._fallback is None:
                self._fallback = aiohttp.ThreadedResolver()
            return await self._fallback.resolve(host, port, family)
        ip, ip_port = answer
        return [
            {
                "hostname": host,
                "host": ip,
                "port": ip_port or port,
                "family": socket.AF_INET6 if ":" in ip else socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
        ]

    async def close(self) -> None:
        if self._fallback is not None:
            await self._fallback.close()


class AiohttpClient(HttpClient):
    """aiohttp sessions, one task per request, replaced every connection max age.

    ``resolver`` (the caller's, or a ``HookResolver`` over a resolve hook) is
    closed with the client.
    """

    name: ClassVar[str] = "aiohttp"

    def __init__(self, config: LoadConfig, resolver: Optional[AbstractResolver]) -> None:
        self.config = config
        self.resolver = resolver
        self.timeout = aiohttp.ClientTimeout(total=config.timeout_seconds)
        self.session: Optional[aiohttp.ClientSession] = None
        self.replaced: list[aiohttp.ClientSession] = []  # still carrying requests
        self.requests: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self.session = self._new_session()

    def _new_session(self) -> aiohttp.ClientSession:
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
            headers={"User-Agent": USER_AGENT},
            raise_for_status=False,
            trust_env=True,  # HTTPS_PROXY / NO_PROXY, as urllib reads them
        )

    def send(self, done: Done, token: Any) -> None:
        assert self.session is not None, "send() before start()"
        task = asyncio.get_running_loop().create_task(self._fetch(self.session, done, token))
        self.requests.add(task)
        task.add_done_callback(self.requests.discard)

    async def _fetch(self, session: aiohttp.ClientSession, done: Done, token: Any) -> None:
        try:
            klass, body = await self._classified(session)
        except asyncio.CancelledError:
            done("timeout", None, token)  # abandoned: the customer got nothing
            raise
        done(klass, body, token)

    async def _classified(self, session: aiohttp.ClientSession) -> tuple[str, Optional[bytes]]:
        config = self.config
        try:
            async with session.request(
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

    async def run(self) -> None:
        """Replace the session every connection max age; close the old one after its requests."""
        closing: set[asyncio.Task[None]] = set()
        try:
            while True:
                await asyncio.sleep(self.config.connection_max_age_seconds)
                old, self.session = self.session, self._new_session()
                assert old is not None
                self.replaced = [s for s in self.replaced if not s.closed] + [old]
                task = asyncio.get_running_loop().create_task(self._close_later(old))
                closing.add(task)
                task.add_done_callback(closing.discard)
        finally:
            for task in list(closing):
                task.cancel()
            await asyncio.gather(*closing, return_exceptions=True)

    async def _close_later(self, session: aiohttp.ClientSession) -> None:
        # Its requests finish within the timeout; closing earlier would fail them.
        await asyncio.sleep(self.config.timeout_seconds + 1)
        await session.close()

    async def abandon(self) -> None:
        for task in list(self.requests):
            task.cancel()
        await asyncio.gather(*self.requests, return_exceptions=True)

    async def close(self) -> None:
        for session in (*self.replaced, self.session):
            if session is not None and not session.closed:
                with contextlib.suppress(Exception):
                    await session.close()
        if self.resolver is not None:
            await self.resolver.close()
