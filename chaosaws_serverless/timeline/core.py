"""Read and draw the timeline of a journal's run: journal values, CloudWatch series, PNG."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from chaosaws_serverless.timeline.draw import draw_timeline
from chaosaws_serverless.timeline.journal import run_facts
from chaosaws_serverless.timeline.metrics import TimelineData, read_timeline

__all__ = ["read_journal_timeline", "timeline_of_journal"]


def read_journal_timeline(
    journal: Mapping[str, Any],
    configuration: Mapping[str, Any],
    secrets: Mapping[str, Any] | None = None,
    *,
    url: str | None = None,
    health_check_ids: Mapping[str, str] | None = None,
    lead_seconds: float | None = None,
    tail_seconds: float = 0.0,
    start: float | None = None,
    end: float | None = None,
) -> TimelineData:
    """Return the timeline data of a journal's run (``ActivityFailed`` names what is missing).

    The span is the run, plus ``lead_seconds`` before it (default: the longest
    window of the hypothesis probes, which the "before" check read) and
    ``tail_seconds`` after; ``start``/``end`` (epoch seconds) replace it.
    """
    facts = run_facts(journal, configuration, secrets, url=url, health_check_ids=health_check_ids)
    lead = facts.lead_seconds if lead_seconds is None else lead_seconds
    data = read_timeline(
        dict(configuration),
        url=facts.url,
        health_check_ids=facts.health_check_ids,
        start=start if start is not None else facts.start - lead,
        end=end if end is not None else facts.end + tail_seconds,
        namespace=facts.namespace,
        secrets=dict(secrets or {}),
        client_regions=facts.client_regions,
        metrics_region=facts.metrics_region,
    )
    if not data.statuses:
        from chaoslib.exceptions import ActivityFailed

        raise ActivityFailed(
            f"no load generator counts for {facts.url!r} in namespace {facts.namespace!r} "
            f"({facts.metrics_region}) during the run: nothing to draw; check the URL, "
            "'metrics_namespace', 'aws_region' and that the customers' load was published"
        )
    data.origin = facts.start
    data.markers.extend(facts.markers)
    data.title = facts.title
    return data


def timeline_of_journal(
    journal: Mapping[str, Any],
    output: Path,
    configuration: Mapping[str, Any],
    secrets: Mapping[str, Any] | None = None,
    **options: Any,
) -> TimelineData:
    """Read and draw the timeline of a journal's run into ``output``; return what was drawn."""
    data = read_journal_timeline(journal, configuration, secrets, **options)
    draw_timeline(data, output)
    return data
