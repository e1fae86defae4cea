"""Which HTTP client a run uses, and building it."""

import importlib.util
import urllib.request
from collections.abc import Callable
from typing import Optional
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver

from chaosaws_serverless.loadgen.clients.aiohttp import AiohttpClient, HookResolver
from chaosaws_serverless.loadgen.clients.base import HttpClient, ResolveHook
from chaosaws_serverless.loadgen.config import LoadConfig

__all__ = ["http_client_name", "make_client"]


def http_client_name(config: LoadConfig, resolver: Optional[AbstractResolver] = None) -> str:
    """Return the HTTP client a run uses: "httptools" or "aiohttp".

    ``auto``: httptools (``clients/http1.py``, the least CPU per request), but
    aiohttp for what it does not do: ``HEAD`` (its parser would wait for a
    body), a URL the environment sends through a proxy (it speaks to the
    origin only), an aiohttp resolver, or where httptools is not installed.
    """
    if config.http_client != "auto":
        return config.http_client
    if (
        resolver is None
        and config.method != "HEAD"
        and not _proxied(config.url)
        and importlib.util.find_spec("httptools") is not None
    ):
        return "httptools"
    return "aiohttp"


def _proxied(url: str) -> bool:
    """Return whether the environment sends ``url`` through a proxy (``HTTPS_PROXY``...)."""
    parts = urlsplit(url)
    proxies = urllib.request.getproxies()
    if not (proxies.get(parts.scheme) or proxies.get("all")):
        return False
    return not urllib.request.proxy_bypass(parts.netloc)


def make_client(
    config: LoadConfig,
    resolver: Optional[AbstractResolver],
    hook: Optional[ResolveHook],
    has_slack: Callable[[], bool],
) -> HttpClient:
    """Return the run's client; ``has_slack()`` says whether the generator has CPU to spare."""
    if resolver is not None and hook is not None:
        raise ValueError("pass either resolver or resolve, not both")
    if http_client_name(config, resolver) == "httptools":
        if resolver is not None:
            raise ValueError("an aiohttp resolver needs http_client='aiohttp'; pass resolve=")
        from chaosaws_serverless.loadgen.clients.http1 import http1_client  # needs httptools

        return http1_client(config, hook, has_slack)
    return AiohttpClient(config, HookResolver(hook) if hook is not None else resolver)
