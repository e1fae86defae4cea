"""What a run's timeline needs, taken from its Chaos Toolkit journal.

The journal holds the experiment as declared (``journal["experiment"]``, a copy
made by ``chaoslib.run.initialize_run_journal``), not the values ``--var-file``
gave it: the timeline control records the configuration the run resolved in
``journal["chaosaws_serverless"]["configuration"]`` (a key declared by the
environment in its declared form); that record, else the experiment's own
configuration, is resolved again with the same var files
(``chaoslib.configuration.load_configuration``, as ``chaos run`` does).

From the experiment's activities, arguments substituted with that
configuration:

- the customers' URL: the ``url`` arguments of this package's activities
  (``get_error_ratio``, ``generate_load``...), else the ``api_url`` key;
- the health checks: the latency records of every ``hosted_zone_id`` +
  ``record_name`` pair of the activities (region -> health check; the zones
  the least-privilege policy already grants), plus every
  ``health_check_id`` argument no record names (labelled by its id);
- the client regions: ``client_region`` arguments and ``aws_regions``.

Events marked: the first fault (``inject_*``, FIS ``start_experiment``, SSM
``start_automation``), the failover ``wait_for_failover`` measured, the first
rollback, a stop condition.
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from chaoslib import substitute
from chaoslib.exceptions import ActivityFailed

from chaosaws_serverless import aws, metric_names
from chaosaws_serverless.experiment import activities, package_provider
from chaosaws_serverless.timeline.metrics import Marker

__all__ = [
    "JOURNAL_KEY",
    "RunFacts",
    "embed_chart",
    "epoch",
    "journal_configuration",
    "markers",
    "run_facts",
]

# The journal key this package writes (chaoslib and chaostoolkit-reporting ignore it).
JOURNAL_KEY = "chaosaws_serverless"
FAULT_FUNCS = {
    "inject_latency",
    "inject_error",
    "inject_throttle",
    "inject_throttle_by_tags",
    "evacuate_region",
    "start_experiment",
    "start_automation",
}
# Configuration keys never copied into a journal (they belong in secrets).
_SECRET_KEYS = ("aws_access_key_id", "aws_secret_access_key", "aws_session_token")


@dataclass
class RunFacts:
    """The values a timeline of one run is drawn with."""

    url: str
    health_check_ids: dict[str, str]
    client_regions: list[str]
    namespace: str
    metrics_region: str
    start: float
    end: float
    lead_seconds: float
    title: str
    markers: list[Marker] = field(default_factory=list)


def epoch(text: Any) -> float | None:
    """Return the epoch seconds of an ISO timestamp of the journal (naive = UTC)."""
    if not text:
        return None
    moment = datetime.fromisoformat(str(text))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def journal_configuration(
    journal: Mapping[str, Any], config_vars: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Return the configuration the run used: the control's record, else the experiment's.

    Either is resolved as ``chaos run`` resolves it (``load_configuration``): the
    record keeps a key declared by ``{"type": "env", ...}`` in that form, never its
    value, so it reads the environment again (``--var-file lab.env`` puts the
    lab's there); ``config_vars`` win.
    """
    from chaosaws_serverless.inputs import resolve_configuration

    recorded = (journal.get(JOURNAL_KEY) or {}).get("configuration")
    if isinstance(recorded, Mapping):
        declared, where = recorded, "the journal's recorded configuration"
    else:
        declared = (journal.get("experiment") or {}).get("configuration") or {}
        where = "the journal's experiment"
    return resolve_configuration(declared, dict(config_vars or {}), where)


def public_configuration(
    configuration: Mapping[str, Any], declared: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Return what may go into a journal: no credential keys, and a key declared as a
    dynamic value (``{"type": "env", ...}``, vault...) keeps its declared form, never the
    value it resolved to (it may be a secret)."""
    public: dict[str, Any] = {}
    for key, value in configuration.items():
        if key in _SECRET_KEYS:
            continue
        origin = (declared or {}).get(key)
        public[key] = origin if isinstance(origin, Mapping) and origin.get("type") else value
    return public


def _arguments(activity: Mapping[str, Any], configuration: Mapping[str, Any]) -> dict[str, Any]:
    arguments = package_provider(activity).get("arguments") or {}
    if not isinstance(arguments, Mapping):
        return {}
    return dict(substitute(dict(arguments), dict(configuration), {}))


def run_facts(
    journal: Mapping[str, Any],
    configuration: Mapping[str, Any],
    secrets: Mapping[str, Any] | None = None,
    *,
    url: str | None = None,
    health_check_ids: Mapping[str, str] | None = None,
) -> RunFacts:
    """Return what the timeline of ``journal`` draws; ``ActivityFailed`` names a missing value."""
    experiment = journal.get("experiment") or {}
    start, end = epoch(journal.get("start")), epoch(journal.get("end"))
    if start is None or end is None:
        raise ActivityFailed(
            "the journal has no 'start'/'end': it is not the journal of a finished chaos run"
        )
    urls: list[str] = []
    checks: dict[str, str] = dict(health_check_ids or {})
    zones: set[tuple[str, str]] = set()
    client_regions: list[str] = []
    windows: list[float] = []
    for activity in activities(experiment):
        arguments = _arguments(activity, configuration)
        if isinstance(arguments.get("url"), str) and arguments["url"] not in urls:
            urls.append(arguments["url"])
        if arguments.get("hosted_zone_id") and arguments.get("record_name"):
            zones.add((str(arguments["hosted_zone_id"]), str(arguments["record_name"])))
        if isinstance(arguments.get("client_region"), str):
            client_regions.append(arguments["client_region"])
        if arguments.get("window_seconds") is not None and activity in (
            (experiment.get("steady-state-hypothesis") or {}).get("probes") or []
        ):
            with contextlib.suppress(TypeError, ValueError):
                windows.append(float(arguments["window_seconds"]))
    chosen_url = url or (urls[0] if len(urls) == 1 else None) or configuration.get("api_url")
    if not chosen_url:
        raise ActivityFailed(
            "the journal's experiment names no customer URL: no activity of this package has a "
            "'url' argument and the configuration has no 'api_url'"
            + (f" (several URLs: {urls}; choose one with --url)" if len(urls) > 1 else "")
            + "; pass --url"
        )
    if not health_check_ids:
        for zone_id, record_name in sorted(zones):
            checks.update(_record_health_checks(zone_id, record_name, configuration, secrets))
        known = set(checks.values())
        for activity in activities(experiment):
            check = _arguments(activity, configuration).get("health_check_id")
            if isinstance(check, str) and check not in known:
                checks[check] = check
                known.add(check)
    regions = list(dict.fromkeys([*client_regions, *aws.configured_regions(dict(configuration))]))
    namespace = str(configuration.get("metrics_namespace") or metric_names.DEFAULT_NAMESPACE)
    title = str(substitute(experiment.get("title", "chaos run"), dict(configuration), {}))
    status = "deviated" if journal.get("deviated") else str(journal.get("status"))
    return RunFacts(
        url=str(chosen_url),
        health_check_ids=checks,
        client_regions=regions,
        namespace=namespace,
        metrics_region=aws.resolve_region(None, dict(configuration)),
        start=start,
        end=end,
        lead_seconds=min(max(windows, default=60.0), 3600.0),
        title=f"{_short(title)}: {status}",
        markers=markers(journal),
    )


def _short(text: str, limit: int = 90) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _record_health_checks(
    hosted_zone_id: str,
    record_name: str,
    configuration: Mapping[str, Any],
    secrets: Mapping[str, Any] | None,
) -> dict[str, str]:
    """Return {region: health check id} of the latency records under ``record_name``."""
    from chaosaws_serverless.route53.records import load_zone, normalize_zone_id, routing_records

    zone_id = normalize_zone_id(hosted_zone_id)
    route53 = aws.client(
        "route53", metric_names.ROUTE53_METRICS_REGION, dict(configuration), dict(secrets or {})
    )
    routed, _ = routing_records(load_zone(route53, zone_id), record_name, zone_id)
    return {
        str(r.get("Region") or r.get("Failover") or r.get("SetIdentifier")): str(r["HealthCheckId"])
        for r in routed
        if r.get("HealthCheckId")
    }


def markers(journal: Mapping[str, Any]) -> list[Marker]:
    """Return the journal's events: fault injected, failover seen, rollback, stop condition."""
    found: list[Marker] = []
    fault_at = None
    for run in journal.get("run") or []:
        provider = package_provider(run.get("activity") or {})
        if not provider:
            continue
        func = str(provider.get("func", ""))
        started = epoch(run.get("start"))
        if func in FAULT_FUNCS and fault_at is None and started is not None:
            fault_at = started
            found.append(Marker("fault injected", started, "black"))
        output = run.get("output")
        if (
            func == "wait_for_failover"
            and run.get("status") == "succeeded"
            and isinstance(output, int | float)
            and started is not None
        ):
            found.append(Marker(f"failover seen (+{output:.0f} s)", started + output, "tab:blue"))
    rollbacks = journal.get("rollbacks") or []
    rollback_at = epoch(rollbacks[0].get("start")) if rollbacks else None
    if rollback_at is not None:
        found.append(Marker("rollback", rollback_at, "grey"))
    stop = journal.get("stop_condition") or {}
    stop_at = epoch(stop.get("at")) if isinstance(stop, Mapping) else None
    if stop_at is not None:
        found.append(Marker(f"stop condition: {stop.get('alarm')}", stop_at, "tab:red"))
    return found


def embed_chart(journal: dict[str, Any], png: bytes, alt: str = "timeline of the run") -> bool:
    """Put the PNG where ``chaos report`` renders it; return False when the run has no activity.

    chaostoolkit-reporting (0.18, ``template/index.md``) writes each run entry's
    ``charts`` into the HTML report raw, inside a ``<figure>`` (an SVG for its
    own Prometheus charts): an ``<img>`` with a data URI is a picture there.
    It goes on the first fault's entry, else the method's last one.
    """
    runs = [r for r in journal.get("run") or [] if isinstance(r, dict)]
    if not runs:
        return False
    target = next(
        (
            r
            for r in runs
            if str(((r.get("activity") or {}).get("provider") or {}).get("func")) in FAULT_FUNCS
        ),
        runs[-1],
    )
    encoded = base64.b64encode(png).decode("ascii")
    image = f'<img alt="{alt}" style="max-width:100%" src="data:image/png;base64,{encoded}"/>'
    target["charts"] = [c for c in target.get("charts") or [] if "data:image/png" not in c] + [
        image
    ]
    return True
