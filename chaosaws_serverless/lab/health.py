"""Route 53 health checkers for the lab, following each health check's live configuration.

moto stores health checks but never checks anything, so the lab does: for
every health check in the emulator it sends a request every
``RequestInterval * time_scale`` seconds to ``FullyQualifiedDomainName``
(resolved through the lab's network map to the gateway serving that domain),
``Port`` and ``ResourcePath``. A request counts as a success when it answers
2xx/3xx within the response timeout (for ``*_STR_MATCH`` types, when the
first 5,120 bytes also contain ``SearchString``). The status turns unhealthy
after ``FailureThreshold`` consecutive failures and healthy again after as many
consecutive successes; ``Disabled`` checks are healthy (unhealthy when also ``Inverted``),
``Inverted`` ones flip.
Each status is published as ``AWS/Route53 HealthCheckStatus`` (1 or 0,
dimension ``HealthCheckId``) to the emulator's CloudWatch in us-east-1, where
the package's probes read it as they read Route 53's on AWS.

Where Route 53 polls from many checkers and applies its 18% rule, the lab has
one checker per health check: the threshold behaviour is the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp

from chaosaws_serverless import aws
from chaosaws_serverless.metric_names import (
    HEALTH_CHECK_STATUS,
    ROUTE53_METRICS_REGION,
    ROUTE53_NAMESPACE,
)

# (domain, port) -> (host, port) on 127.0.0.1, or None when nothing answers there.
AddressOf = Callable[[str, int], "tuple[str, int] | None"]
SEARCH_BYTES = 5120


@dataclass
class HealthState:
    """What the lab's checker currently concludes about one health check."""

    health_check_id: str
    config: dict[str, Any]
    healthy: bool = True
    consecutive_successes: int = 0
    consecutive_failures: int = 0
    checks: int = 0
    last_error: str = ""
    transitions: list[tuple[float, bool]] = field(default_factory=list)

    @property
    def reported_healthy(self) -> bool:
        """The status Route 53 reports: disabled checks are healthy, inverted ones flip."""
        if self.config.get("Disabled"):
            # Route 53 API reference (Disabled): healthy, unless also inverted.
            return not self.config.get("Inverted")
        return self.healthy != bool(self.config.get("Inverted"))

    def record(self, success: bool, error: str, now: float) -> bool:
        """Count one observation; return True when the reported status changed."""
        before = self.reported_healthy
        self.checks += 1
        threshold = max(1, int(self.config.get("FailureThreshold") or 3))
        if success:
            self.consecutive_successes += 1
            self.consecutive_failures = 0
            if not self.healthy and self.consecutive_successes >= threshold:
                self.healthy = True
        else:
            self.last_error = error
            self.consecutive_failures += 1
            self.consecutive_successes = 0
            if self.healthy and self.consecutive_failures >= threshold:
                self.healthy = False
        changed = before != self.reported_healthy
        if changed:
            self.transitions.append((now, self.reported_healthy))
        return changed


class HealthCheckers:
    """Run one checker per health check of the emulator and publish their status."""

    def __init__(
        self,
        configuration: dict[str, Any],
        secrets: dict[str, Any],
        address_of: AddressOf,
        *,
        time_scale: float = 1.0,
        response_timeout_seconds: float = 2.0,
        refresh_seconds: float = 2.0,
        executor: Executor | None = None,
        on_change: Callable[[HealthState], None] | None = None,
    ) -> None:
        self._configuration = configuration
        self._secrets = secrets
        self._address_of = address_of
        self.time_scale = time_scale
        self.response_timeout_seconds = response_timeout_seconds
        self.refresh_seconds = refresh_seconds
        self._executor = executor
        self._on_change = on_change
        self.states: dict[str, HealthState] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._probes: set[asyncio.Task[bool]] = set()
        self._session: aiohttp.ClientSession | None = None
        self._main: list[asyncio.Task[None]] = []
        self.publish_errors = 0

    def is_healthy(self, health_check_id: str) -> bool:
        """Return the status Route 53 would use for routing (unknown checks: healthy)."""
        state = self.states.get(health_check_id)
        return True if state is None else state.reported_healthy

    def interval_seconds(self, config: dict[str, Any]) -> float:
        return float(config.get("RequestInterval") or 30) * self.time_scale

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(force_close=True, limit=0),
        )
        await self.refresh()
        self._main = [
            asyncio.create_task(self._refresh_loop(), name="health-refresh"),
            asyncio.create_task(self._publish_loop(), name="health-publish"),
        ]

    async def stop(self) -> None:
        tasks: list[asyncio.Task[Any]] = [*self._main, *self._tasks.values(), *self._probes]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._session is not None:
            await self._session.close()

    async def refresh(self) -> None:
        """Follow the emulator's health checks: new ones start, changed ones re-read config."""
        loop = asyncio.get_running_loop()
        checks = await loop.run_in_executor(self._executor, self._list_health_checks)
        for check in checks:
            hc_id, config = check["Id"], dict(check["HealthCheckConfig"])
            state = self.states.get(hc_id)
            if state is None:
                self.states[hc_id] = HealthState(hc_id, config)
                self._tasks[hc_id] = asyncio.create_task(self._check_loop(hc_id), name=hc_id)
            else:
                state.config = config
        for hc_id in set(self.states) - {c["Id"] for c in checks}:
            self._tasks.pop(hc_id).cancel()
            del self.states[hc_id]

    def _list_health_checks(self) -> list[dict[str, Any]]:
        route53 = aws.client("route53", "us-east-1", self._configuration, self._secrets)
        checks: list[dict[str, Any]] = []
        for page in route53.get_paginator("list_health_checks").paginate():
            checks.extend(page["HealthChecks"])
        return checks

    async def _refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_seconds)
            with contextlib.suppress(Exception):  # the emulator may be restarting: keep going
                await self.refresh()

    async def _check_loop(self, hc_id: str) -> None:
        # Route 53 sends requests on a fixed schedule, whether or not earlier
        # ones answered: a slow endpoint gets overlapping requests, not fewer.
        while hc_id in self.states:
            probe = asyncio.create_task(self.check_once(hc_id))
            self._probes.add(probe)
            probe.add_done_callback(self._probes.discard)
            await asyncio.sleep(self.interval_seconds(self.states[hc_id].config))

    async def check_once(self, hc_id: str) -> bool:
        """Send one health-check request for ``hc_id``, record and return its success."""
        state = self.states[hc_id]
        success, error = await self._request(state.config)
        changed = hc_id in self.states and state.record(success, error, time.time())
        if changed and self._on_change is not None:
            self._on_change(state)
        return success

    async def _request(self, config: dict[str, Any]) -> tuple[bool, str]:
        kind = str(config.get("Type", "HTTP"))
        domain = str(config.get("FullyQualifiedDomainName") or config.get("IPAddress") or "")
        port = int(config.get("Port") or (443 if kind.startswith("HTTPS") else 80))
        address = self._address_of(domain, port)
        if address is None:
            return False, f"nothing answers at {domain}:{port}"
        host, real_port = address
        if kind == "TCP":
            try:
                _, writer = await asyncio.wait_for(
                    asyncio.open_connection(host, real_port), self.response_timeout_seconds
                )
                writer.close()
                return True, ""
            except (OSError, TimeoutError) as error:
                return False, f"TCP connect failed: {error!r}"
        if kind not in ("HTTP", "HTTPS", "HTTP_STR_MATCH", "HTTPS_STR_MATCH"):
            return True, ""  # CALCULATED / CLOUDWATCH_METRIC: not evaluated by the lab
        # Route 53 does not validate the certificate of an HTTPS endpoint.
        scheme = "https" if kind.startswith("HTTPS") else "http"
        url = f"{scheme}://{host}:{real_port}{config.get('ResourcePath') or '/'}"
        assert self._session is not None
        try:
            async with self._session.get(
                url,
                headers={"Host": domain, "User-Agent": "Amazon-Route53-Health-Check-Service"},
                timeout=aiohttp.ClientTimeout(total=self.response_timeout_seconds),
                allow_redirects=False,
                ssl=False,
            ) as response:
                body = await response.content.read(SEARCH_BYTES)
                if not 200 <= response.status < 400:
                    return False, f"HTTP {response.status}"
                search = config.get("SearchString")
                if kind.endswith("_STR_MATCH") and search and search.encode() not in body:
                    return False, f"search string {search!r} not found"
                return True, ""
        except TimeoutError:
            return False, f"no answer within {self.response_timeout_seconds:g} s"
        except aiohttp.ClientError as error:
            return False, f"request failed: {error!r}"

    async def _publish_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            period = min(
                (self.interval_seconds(s.config) for s in self.states.values()), default=1.0
            )
            await asyncio.sleep(period)
            try:
                await loop.run_in_executor(self._executor, self.publish)
            except Exception:  # a lost datapoint is a gap in the graph, not a crash
                self.publish_errors += 1

    def publish(self) -> None:
        """Put every check's current status into AWS/Route53 HealthCheckStatus (us-east-1)."""
        if not self.states:
            return
        now = datetime.now(UTC)
        data = [
            {
                "MetricName": HEALTH_CHECK_STATUS,
                "Dimensions": [{"Name": "HealthCheckId", "Value": state.health_check_id}],
                "Timestamp": now,
                "Value": 1.0 if state.reported_healthy else 0.0,
                "StorageResolution": 1,
            }
            for state in list(self.states.values())
        ]
        cloudwatch = aws.client(
            "cloudwatch", ROUTE53_METRICS_REGION, self._configuration, self._secrets
        )
        for start in range(0, len(data), 1000):
            cloudwatch.put_metric_data(Namespace=ROUTE53_NAMESPACE, MetricData=data[start:][:1000])
