"""The stack description: what the lab deploys, read from ``stack.json``.

The file is plain data so a reader sees the whole reference architecture in
one place. Two knobs exist only because the lab is not AWS:

- ``time_scale``: Route 53 accepts health-check intervals of 10 or 30 s only,
  so the stack keeps real values and the lab's checkers run ``time_scale``
  times faster (0.1: a 10 s interval is checked every second).
- ``misconfigured``: the reference run's bug, the US health check watching the
  EU domain, applied by ``--misconfigured``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

DEFAULT_STACK_FILE = "stack.json"


class StackError(ValueError):
    """The stack description is not usable; the message names the key and the fix."""


@dataclass(frozen=True)
class FunctionSpec:
    name_template: str
    path: str
    handler: str
    runtime: str
    timeout_seconds: int
    memory_mb: int

    def name(self, region: str) -> str:
        return self.name_template.format(region=region)


@dataclass(frozen=True)
class HealthCheckSpec:
    type: str
    path: str
    port: int
    request_interval_seconds: int
    failure_threshold: int
    response_timeout_seconds: float


@dataclass(frozen=True)
class Stack:
    """The reference architecture, one variant (correct or misconfigured)."""

    name: str
    regions: dict[str, str]  # region -> regional custom domain
    role_name: str
    functions: tuple[FunctionSpec, ...]
    layer_name: str
    layer_runtimes: tuple[str, ...]
    layer_architectures: tuple[str, ...]
    integration_timeout_seconds: float
    zone_name: str
    record_name: str
    record_type: str
    ttl_seconds: int
    health_check: HealthCheckSpec
    health_check_domains: dict[str, str]  # region -> domain its health check targets
    time_scale: float
    customers: dict[str, Any]
    dashboard_name: str
    experiment: dict[str, Any]
    misconfigured: bool = False
    # AWS's engines: the SSM document's and FIS's roles, the stop-condition alarm.
    engines: dict[str, Any] = field(default_factory=dict)

    @property
    def api_url(self) -> str:
        scheme = "https" if self.health_check.type.startswith("HTTPS") else "http"
        return f"{scheme}://{self.record_name}{self.customers['path']}"


def load_stack(path: str | Path | None = None, *, misconfigured: bool = False) -> Stack:
    """Return the stack of ``path`` (default: the packaged reference stack)."""
    from chaosaws_serverless.inputs import InputError, read_mapping

    if path is None:
        text = resources.files(__package__).joinpath(DEFAULT_STACK_FILE).read_text("utf-8")
        return parse_stack(
            json.loads(text),
            source=f"{__package__}/{DEFAULT_STACK_FILE}",
            misconfigured=misconfigured,
        )
    try:
        data = read_mapping(path, "stack file")
    except InputError as error:
        raise StackError(str(error)) from None
    return parse_stack(data, source=str(path), misconfigured=misconfigured)


def parse_stack(data: dict[str, Any], *, source: str = "stack", misconfigured: bool) -> Stack:
    """Return the :class:`Stack` described by ``data`` (validated)."""

    def need(mapping: dict[str, Any], key: str, where: str) -> Any:
        if key not in mapping:
            raise StackError(
                f"{source}: {where} has no {key!r}; add it (see the packaged stack.json)"
            )
        return mapping[key]

    regions = {r: need(v, "domain", f"regions.{r}") for r, v in need(data, "regions", "").items()}
    if len(regions) < 2:
        raise StackError(
            f"{source}: 'regions' needs two regions for a failover, got {list(regions)}"
        )
    hc = need(data, "health_checks", "")
    health_check = HealthCheckSpec(
        type=str(need(hc, "type", "health_checks")),
        path=str(need(hc, "path", "health_checks")),
        port=int(need(hc, "port", "health_checks")),
        request_interval_seconds=int(need(hc, "request_interval_seconds", "health_checks")),
        failure_threshold=int(need(hc, "failure_threshold", "health_checks")),
        response_timeout_seconds=float(hc.get("response_timeout_seconds", 2)),
    )
    if health_check.request_interval_seconds not in (10, 30):
        raise StackError(
            f"{source}: health_checks.request_interval_seconds must be 10 or 30 (Route 53's "
            f"values), got {health_check.request_interval_seconds}; use time_scale to go faster"
        )
    time_scale = float(data.get("time_scale", 1.0))
    if not 0 < time_scale <= 1:
        raise StackError(f"{source}: time_scale must be in (0, 1], got {time_scale}")
    domains = dict(regions)
    if misconfigured:
        domains.update(need(data, "misconfigured", "").get("health_check_domains", {}))
    zone = need(data, "zone", "")
    layer = need(data, "chaos_layer", "")
    functions = tuple(
        FunctionSpec(
            name_template=str(need(f, "name", "functions[]")),
            path=str(need(f, "path", "functions[]")),
            handler=str(need(f, "handler", "functions[]")),
            runtime=str(f.get("runtime", "python3.12")),
            timeout_seconds=int(f.get("timeout_seconds", 3)),
            memory_mb=int(f.get("memory_mb", 128)),
        )
        for f in need(data, "functions", "")
    )
    return Stack(
        name=str(data.get("name", "reference")),
        regions=regions,
        role_name=str(need(data, "role_name", "")),
        functions=functions,
        layer_name=str(need(layer, "name", "chaos_layer")),
        layer_runtimes=tuple(layer.get("runtimes", ["python3.12"])),
        layer_architectures=tuple(layer.get("architectures", ["x86_64"])),
        integration_timeout_seconds=float(
            need(data, "gateway", "").get("integration_timeout_seconds", 29)
        ),
        zone_name=str(need(zone, "name", "zone")),
        record_name=str(need(zone, "record_name", "zone")),
        record_type=str(zone.get("record_type", "CNAME")),
        ttl_seconds=int(zone.get("ttl_seconds", 60)),
        health_check=health_check,
        health_check_domains=domains,
        time_scale=time_scale,
        customers=dict(need(data, "customers", "")),
        dashboard_name=str(data.get("dashboard_name", "chaos-lab")),
        experiment=dict(need(data, "experiment", "")),
        misconfigured=misconfigured,
        engines=dict(data.get("engines") or {}),
    )
