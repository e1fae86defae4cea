"""A local API for the load generator's tests: 127.0.0.1, answers chosen by path.

- ``/us``, ``/eu``: 200 ``Hello from region us-east-1`` / ``eu-west-1``
- ``/noregion``: 200 without a region; ``/missing``: 404; ``/fail``: 503
- ``/slow``: answers after 3 s (beyond the tests' timeouts)
- ``/delay/{ms}``: ``Hello from region us-east-1`` after ``ms`` milliseconds
- the second port (``garbage_url``) answers every connection with bytes that are not HTTP
"""

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from aiohttp import web


@dataclass
class LocalApi:
    base_url: str
    garbage_url: str
    hits: dict[str, int]


async def _hello(request: web.Request) -> web.Response:
    region = {"us": "us-east-1", "eu": "eu-west-1"}[request.match_info["who"]]
    return web.Response(text=f"Hello from region {region}")


async def _status(request: web.Request) -> web.Response:
    return web.Response(status=int(request.match_info["code"]), text="status")


async def _slow(request: web.Request) -> web.Response:
    await asyncio.sleep(3)
    return web.Response(text="Hello from region us-east-1")


async def _delay(request: web.Request) -> web.Response:
    await asyncio.sleep(int(request.match_info["ms"]) / 1000)
    return web.Response(text="Hello from region us-east-1")


async def _noregion(request: web.Request) -> web.Response:
    return web.Response(text="hello")


async def _garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"THIS IS NOT HTTP\r\n\r\n")
    await writer.drain()
    writer.close()


@pytest.fixture(scope="session", name="local_api")
def fixture_local_api() -> Iterator[LocalApi]:
    hits: dict[str, int] = {}

    @web.middleware
    async def count(request: web.Request, handler):  # type: ignore[no-untyped-def]
        hits[request.path] = hits.get(request.path, 0) + 1
        return await handler(request)

    app = web.Application(middlewares=[count])
    app.router.add_get("/{who:us|eu}", _hello)
    app.router.add_get("/status/{code}", _status)
    app.router.add_get("/slow", _slow)
    app.router.add_get("/delay/{ms:\\d+}", _delay)
    app.router.add_get("/noregion", _noregion)
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = runner.addresses[0][1]
    garbage = loop.run_until_complete(asyncio.start_server(_garbage, "127.0.0.1", 0))
    garbage_port = garbage.sockets[0].getsockname()[1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield LocalApi(f"http://127.0.0.1:{port}", f"http://127.0.0.1:{garbage_port}/", hits)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
