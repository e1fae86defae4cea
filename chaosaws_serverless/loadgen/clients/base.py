"""What the engine asks of an HTTP client: the whole contract of a back end.

A client sends the run's one prepared request (``LoadConfig``: method, URL,
headers) each time the scheduler asks, and reports how each request ended
through the ``done`` callback it was given::

    client = make_client(config, ...)     # clients/choice.py
    await client.start()                  # before the run's first request
    client.send(done, token)              # per request: returns at once
    ...                                   # client.run() upkeep runs beside the run
    await client.abandon()                # the run is over: end what is outstanding
    await client.close()

``done(class, body, token)`` is called exactly once per ``send``, on the event
loop's thread: ``class`` is a status class (``classify_status``), or
``"timeout"`` / ``"connect_error"`` / ``"invalid_response"``, or ``"shed"``
(it never left: the generator had no connection for it in time); ``body`` is
the start of the answer's body (up to ``max_body_bytes``) or None; ``token``
is the caller's, handed back untouched. A client never raises from ``send``
and never lets a request's error escape: every end is a class.
"""

import inspect
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, Optional, Union

__all__ = ["USER_AGENT", "Done", "HttpClient", "ResolveHook", "call_hook"]

USER_AGENT = "chaosaws-serverless-loadgen"

# done(class, body start or None, token): how a request ends (see above).
Done = Callable[[str, Optional[bytes], Any], None]
# resolve(host) -> "ip" | ("ip", port) | None (None: use normal DNS). May be async.
ResolveHook = Callable[[str], Union[str, tuple[str, int], Awaitable[Any], None]]


class HttpClient(ABC):
    """One run's HTTP client: ``send`` requests, then ``abandon`` and ``close``."""

    name: ClassVar[str]  # what the summary's ``http_client`` says

    async def start(self) -> None:
        """Get ready for the first request (called once, before it)."""
        return None  # most clients have nothing to prepare

    @abstractmethod
    def send(self, done: Done, token: Any) -> None:
        """Start one request; ``done(class, body, token)`` is called once when it ends."""

    async def run(self) -> None:
        """Upkeep for the run's life (e.g. replacing connections); cancelled at its end."""
        return None  # most clients need none

    @abstractmethod
    async def abandon(self) -> None:
        """End every request still outstanding now, as a ``timeout`` (or ``shed``)."""

    @abstractmethod
    async def close(self) -> None:
        """Close every connection; requests are drained or abandoned by now."""


async def call_hook(hook: ResolveHook, host: str) -> Optional[tuple[str, Optional[int]]]:
    """Return the hook's answer for ``host`` as ``(ip, port or None)``, or None for DNS."""
    answer = hook(host)
    if inspect.isawaitable(answer):
        answer = await answer
    if answer is None:
        return None
    if isinstance(answer, str):
        return answer, None
    return str(answer[0]), int(answer[1])
