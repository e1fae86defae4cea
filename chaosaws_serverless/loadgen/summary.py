"""A run's summary: what was asked, and what was counted (see the package docstring)."""

from typing import Any

from chaosaws_serverless.loadgen.config import LoadConfig
from chaosaws_serverless.loadgen.stats import RunTotals

__all__ = ["finish_summary", "summary_head"]


def summary_head(config: LoadConfig) -> dict[str, Any]:
    """Return what a summary says about the run asked for."""
    return {
        "url": config.url,
        "client_region": config.client_region,
        "rate_per_second": config.rate_per_second,
        "duration_seconds": config.duration_seconds,
        "max_in_flight": config.in_flight_cap,
    }


def finish_summary(
    totals: RunTotals, config: LoadConfig, send_window: float, scheduled: int, elapsed: float
) -> dict[str, Any]:
    """Return a run's counted part of the summary, with the rate it held."""
    summary = totals.summary(send_window, config.planned_requests)
    summary["achieved_rate_per_second"] = (
        round(summary["sent"] / send_window, 1) if send_window else 0.0
    )
    # The rate the generator held: what it sent on time. Equal to the achieved rate;
    # named for a saturated run, where it is the generator's capacity, not the ask.
    summary["held_rate_per_second"] = summary["achieved_rate_per_second"]
    summary["elapsed_seconds"] = round(elapsed, 3)
    summary["stopped_early"] = scheduled < config.planned_requests
    return summary
