"""Customers in each region: the package's load generator, resolving names through the lab.

One open-loop run per client region calls the latency-routed API URL with the
rate of the stack description, until the data plane stops. Names resolve
through the lab's resolver as seen from that region (TTL honoured), so a
failover moves them; they publish their per-interval counts to the emulator's
CloudWatch, where the experiment's probes read them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from chaosaws_serverless import aws
from chaosaws_serverless.lab.stack import Stack
from chaosaws_serverless.loadgen.config import LoadConfig
from chaosaws_serverless.loadgen.engine import run_load
from chaosaws_serverless.loadgen.publish import CloudWatchPublisher

# (client_region, port) -> the name resolution a customer there uses (the data plane's
# resolver as seen from that region): what the customers need of the data plane, and all.
ResolveFor = Callable[[str, int], Any]

# Long enough for any demo or `lab up` session; `lab down` ends it.
RUN_FOR_SECONDS = 24 * 3600


class Customers:
    """The customers of one client region, running on the data plane's event loop."""

    def __init__(
        self,
        stack: Stack,
        client_region: str,
        rate_per_second: float,
        cloudwatch: Any,
        resolve_for: ResolveFor,
    ) -> None:
        settings = stack.customers
        self.client_region = client_region
        self.config = LoadConfig(
            url=stack.api_url,
            rate_per_second=rate_per_second,
            duration_seconds=RUN_FOR_SECONDS,
            client_region=client_region,
            timeout_seconds=float(settings.get("timeout_seconds", 5)),
            interval_seconds=float(settings.get("publish_interval_seconds", 1)),
            storage_resolution=1,
            # Follow DNS like a client honouring the record's TTL, and do not
            # stay pinned to a region through a kept-alive connection.
            dns_cache_seconds=0,
            connection_max_age_seconds=max(0.5, float(stack.ttl_seconds)),
            verify_tls=False,  # the lab's self-signed certificate
        )
        self.publisher = CloudWatchPublisher(
            cloudwatch, self.config.namespace, self.config.url, client_region
        )
        port = 443 if urlsplit(stack.api_url).scheme == "https" else 80
        self._resolve = resolve_for(client_region, port)
        self._stop = asyncio.Event()
        self._task: asyncio.Task[dict[str, Any]] | None = None
        self.result: dict[str, Any] | None = None
        self.latest: dict[str, Any] = {}

    def start(self) -> None:
        self._task = asyncio.create_task(
            run_load(
                self.config,
                publisher=self.publisher,
                resolve=self._resolve,
                on_progress=self._progress,
                stop=self._stop,
            ),
            name=f"customers-{self.client_region}",
        )

    def _progress(self, snapshot: dict[str, Any]) -> None:
        self.latest = snapshot

    async def stop(self) -> None:
        """Stop sending, let in-flight requests finish, publish the last interval."""
        self._stop.set()
        if self._task is not None:
            with contextlib.suppress(Exception):
                self.result = await asyncio.wait_for(self._task, self.config.timeout_seconds + 10)

    def summary(self) -> dict[str, Any]:
        return {"client_region": self.client_region, **(self.result or self.latest)}


async def start_customers(
    stack: Stack,
    rate_per_second: float,
    configuration: Mapping[str, Any],
    secrets: Mapping[str, Any],
    resolve_for: ResolveFor,
) -> list[Customers]:
    """Start customers in every region of the stack."""
    # Every customer publishes where the experiment reads: the configuration's region.
    cloudwatch = aws.client("cloudwatch", None, dict(configuration), dict(secrets))
    customers = [
        Customers(stack, region, rate_per_second, cloudwatch, resolve_for)
        for region in stack.regions
    ]
    for customer in customers:
        customer.start()
    return customers
