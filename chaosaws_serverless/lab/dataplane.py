"""The lab's data plane: what AWS would run and moto does not, all on 127.0.0.1.

One asyncio loop holds a regional gateway per region, the Route 53 health
checkers, the latency-routing resolver and the customers (the package's load
generator, one per client region, resolving names through the lab). Run as
``python -m chaosaws_serverless.lab.dataplane --deployment FILE --output DIR``:
it prints one JSON "ready" line (the gateways' ports), writes ``events.jsonl``
(health transitions, routing changes) and ``status.json`` (every second) into
DIR, and stops cleanly on SIGTERM/SIGINT or when its parent dies.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from chaosaws_serverless import aws
from chaosaws_serverless.lab.deploy import Deployment
from chaosaws_serverless.lab.emulator import FAKE_CREDENTIALS
from chaosaws_serverless.lab.gateway import FisFaults, FunctionConfigs, RegionalGateway
from chaosaws_serverless.lab.health import HealthCheckers, HealthState
from chaosaws_serverless.lab.processes import watch_parent
from chaosaws_serverless.lab.resolver import Answer, LatencyResolver, NoSuchName, normalize
from chaosaws_serverless.lab.stack import Stack, load_stack
from chaosaws_serverless.lab.tls import server_context

LOOPBACK = "127.0.0.1"
EVENTS_FILE = "events.jsonl"
STATUS_FILE = "status.json"


class DataPlane:
    """Gateways, health checkers, resolver and customers for one deployed stack."""

    def __init__(
        self,
        stack: Stack,
        deployment: Deployment,
        output: Path | None = None,
        *,
        customers: bool = True,
        customer_rate_per_second: float | None = None,
    ) -> None:
        self.stack = stack
        self.deployment = deployment
        self.output = output
        self.with_customers = customers
        self.customer_rate = float(
            customer_rate_per_second or stack.customers.get("rate_per_second", 10)
        )
        self.configuration = deployment.configuration
        self.secrets = dict(FAKE_CREDENTIALS)
        self.executor = ThreadPoolExecutor(max_workers=8, thread_name_prefix="lab-aws")
        configs = FunctionConfigs(self.configuration, self.secrets, executor=self.executor)
        fis_faults = FisFaults(self.configuration, self.secrets, executor=self.executor)
        self.domains = {normalize(d): r for r, d in stack.regions.items()}
        self.gateways = {
            region: RegionalGateway(
                region,
                routes=deployment.functions[region],
                hosts={domain, stack.record_name},
                configs=configs,
                layer_name=stack.layer_name,
                integration_timeout_seconds=stack.integration_timeout_seconds,
                fis_faults=fis_faults,
            )
            for region, domain in stack.regions.items()
        }
        self.checkers = HealthCheckers(
            self.configuration,
            self.secrets,
            self.address_of,
            time_scale=stack.time_scale,
            response_timeout_seconds=stack.health_check.response_timeout_seconds,
            executor=self.executor,
            on_change=self._health_changed,
        )
        self.resolver = LatencyResolver(self.checkers.is_healthy, on_change=self._route_changed)
        self.customers: list[Any] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._events = (output / EVENTS_FILE).open("a", encoding="utf-8") if output else None
        self._tls_dir: tempfile.TemporaryDirectory[str] | None = None

    # -- the lab's network: names → gateways on 127.0.0.1 ----------------------------

    def address_of(
        self, domain: str, port: int, client_region: str = "us-east-1"
    ) -> tuple[str, int] | None:
        """Return (host, port) serving ``domain:port``, or None when nothing listens there."""
        if port not in (80, 443):
            return None
        name = normalize(domain)
        if name not in self.domains:
            try:
                name = self.resolver.resolve(name, client_region).target
            except NoSuchName:
                return None
        region = self.domains.get(name)
        if region is None:
            return None
        gateway = self.gateways[region]
        real_port = gateway.tls_port if port == 443 else gateway.port
        return (LOOPBACK, real_port) if real_port else None

    def resolve_for(self, client_region: str, port: int) -> Any:
        """Return the name resolution a customer in ``client_region`` uses for ``port``."""

        def resolve(host: str) -> tuple[str, int]:
            address = self.address_of(host, port, client_region)
            if address is None:
                raise OSError(f"lab DNS: no answer for {host}:{port}")
            return address

        return resolve

    # -- lifecycle -------------------------------------------------------------------

    async def start(self) -> dict[str, dict[str, int]]:
        """Start everything; return the gateways' ports by region."""
        names = sorted({*self.stack.regions.values(), self.stack.record_name})
        if self.output is None:
            self._tls_dir = tempfile.TemporaryDirectory(prefix="chaos-lab-tls-")
            tls = server_context(names, Path(self._tls_dir.name))
        else:
            tls = server_context(names, self.output)
        ports = {}
        for region, gateway in self.gateways.items():
            await gateway.start(LOOPBACK, tls=tls)
            ports[region] = {"http": gateway.port, "https": gateway.tls_port}
        await self._refresh_records()
        await self.checkers.start()
        self._tasks.append(asyncio.create_task(self._records_loop(), name="zone-refresh"))
        if self.output is not None:
            self._tasks.append(asyncio.create_task(self._status_loop(), name="status"))
        self.event("started", gateways=ports, misconfigured=self.deployment.misconfigured)
        if self.with_customers:
            await self.start_customers()
        return ports

    async def start_customers(self) -> None:
        from chaosaws_serverless.lab.customers import start_customers

        self.customers = await start_customers(
            self.stack, self.customer_rate, self.configuration, self.secrets, self.resolve_for
        )

    async def stop(self) -> None:
        for customer in self.customers:
            with contextlib.suppress(Exception):
                await customer.stop()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.checkers.stop()
        for gateway in self.gateways.values():
            await gateway.stop()
        self.event("stopped")
        if self.output is not None:
            self.write_status()
        if self._events is not None:
            self._events.close()
            self._events = None
        if self._tls_dir is not None:
            self._tls_dir.cleanup()
        self.executor.shutdown(wait=False, cancel_futures=True)

    # -- zone records ------------------------------------------------------------------

    async def _refresh_records(self) -> None:
        loop = asyncio.get_running_loop()
        records = await loop.run_in_executor(self.executor, self._list_records)
        self.resolver.set_records(records)

    def _list_records(self) -> list[dict[str, Any]]:
        route53 = aws.client("route53", "us-east-1", self.configuration, self.secrets)
        records: list[dict[str, Any]] = []
        pages = route53.get_paginator("list_resource_record_sets")
        for page in pages.paginate(HostedZoneId=self.deployment.hosted_zone_id):
            records.extend(page["ResourceRecordSets"])
        return records

    async def _records_loop(self) -> None:
        while True:
            await asyncio.sleep(2.0)
            with contextlib.suppress(Exception):
                await self._refresh_records()

    # -- events and status ---------------------------------------------------------------

    def event(self, kind: str, **fields: Any) -> None:
        if self._events is None:
            return
        self._events.write(json.dumps({"time": time.time(), "event": kind, **fields}) + "\n")
        self._events.flush()

    def _health_changed(self, state: HealthState) -> None:
        region = next(
            (r for r, i in self.deployment.health_check_ids.items() if i == state.health_check_id),
            None,
        )
        self.event(
            "health",
            health_check_id=state.health_check_id,
            region=region,
            healthy=state.reported_healthy,
            reason=state.last_error if not state.reported_healthy else "",
        )

    def _route_changed(
        self, name: str, client_region: str, previous: Answer | None, answer: Answer
    ) -> None:
        self.event(
            "route",
            name=name,
            client_region=client_region,
            region=answer.region,
            target=answer.target,
            previous_region=previous.region if previous else None,
        )

    def status(self) -> dict[str, Any]:
        """Return what the data plane sees right now (``lab status`` prints it)."""
        regions = {i: r for r, i in self.deployment.health_check_ids.items()}
        routes = {}
        for region in self.stack.regions:
            try:
                routes[region] = self.resolver.answer(self.stack.record_name, region).region
            except NoSuchName:
                routes[region] = None
        return {
            "time": time.time(),
            "gateways": {
                r: {"port": g.port, "status_counts": _counts(g)} for r, g in self.gateways.items()
            },
            "health_checks": {
                hc_id: {
                    "region": regions.get(hc_id),
                    "target": s.config.get("FullyQualifiedDomainName"),
                    "healthy": s.reported_healthy,
                    "checks": s.checks,
                    "last_error": s.last_error,
                }
                for hc_id, s in self.checkers.states.items()
            },
            "routes": routes,
            "customers": [c.summary() for c in self.customers if hasattr(c, "summary")],
        }

    def write_status(self) -> None:
        if self.output is None:
            return
        path = self.output / STATUS_FILE
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self.status(), indent=2) + "\n", encoding="utf-8")
        temporary.replace(path)

    async def _status_loop(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            with contextlib.suppress(Exception):
                self.write_status()


def _counts(gateway: RegionalGateway) -> dict[str, int]:
    return {str(status): count for status, count in sorted(gateway.status_counts.items())}


async def _serve(args: argparse.Namespace) -> None:
    deployment = Deployment.from_json(json.loads(Path(args.deployment).read_text("utf-8")))
    stack = load_stack(args.stack, misconfigured=deployment.misconfigured)
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    plane = DataPlane(stack, deployment, output, customers=not args.no_customers)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    watch_parent(args.parent_pid, lambda: loop.call_soon_threadsafe(stop.set))
    try:
        ports = await plane.start()
        print(json.dumps({"gateways": ports}), flush=True)
        await stop.wait()
    finally:
        await plane.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--deployment", required=True, help="deployment.json written by lab up")
    parser.add_argument("--stack", default=None, help="stack description (default: packaged)")
    parser.add_argument("--output", required=True)
    parser.add_argument("--parent-pid", type=int, default=0)
    parser.add_argument("--no-customers", action="store_true")
    args = parser.parse_args(argv)
    asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
