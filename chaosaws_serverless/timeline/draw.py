"""Draw a ``TimelineData`` into a PNG (matplotlib, Agg: no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chaosaws_serverless.timeline.metrics import REGION_COLOURS, STATUS_COLOURS, TimelineData

__all__ = ["draw_timeline"]


def draw_timeline(data: TimelineData, path: Path, *, title: str = "") -> Path:
    """Draw ``data`` into a PNG at ``path``; return ``path``.

    Panels: Route 53 health per region (only when the run names health
    checks), requests answered per region, then the status codes of each
    client region; every journal event is a dashed line across all panels.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    clients = sorted(data.statuses)
    rows = (1 if data.health else 0) + 1 + max(1, len(clients))
    figure, grid = plt.subplots(rows, 1, figsize=(11, 2.3 * rows + 0.6), sharex=True, squeeze=False)
    axes = [row[0] for row in grid]
    t0 = data.origin or data.start

    def xs(points: dict[float, float]) -> tuple[list[float], list[float]]:
        ordered = sorted(points.items())
        return [t - t0 for t, _ in ordered], [v for _, v in ordered]

    remaining = list(axes)
    if data.health:
        health_axis = remaining.pop(0)
        for i, (region, series) in enumerate(sorted(data.health.items())):
            x, y = xs(series.points)
            # Offset the lines slightly so overlapping "healthy" stays readable.
            shifted = [v + 0.03 * i for v in y]
            health_axis.step(
                x, shifted, where="post", label=region, lw=2, color=_colour(REGION_COLOURS, i)
            )
            if not series.points:
                health_axis.text(
                    0.01,
                    0.5 - 0.2 * i,
                    f"{region}: no datapoint",
                    fontsize=8,
                    transform=health_axis.transAxes,
                    color="tab:red",
                )
        health_axis.set_ylim(-0.15, 1.25)
        health_axis.set_yticks([0, 1], ["unhealthy", "healthy"])
        health_axis.set_title(
            "Route 53 health check status per region (AWS/Route53 HealthCheckStatus)"
        )

    served_axis = remaining.pop(0)
    for i, (region, series) in enumerate(sorted(data.served.items())):
        x, y = xs(series.rates)
        served_axis.step(
            x,
            y,
            where="post",
            label=f"answered by {region}",
            color=_colour(REGION_COLOURS, i),
            lw=1.5,
        )
    served_axis.set_ylabel("requests / s")
    served_axis.set_ylim(bottom=0)
    served_axis.set_title(f"Requests answered per region (all customers of {data.url})")

    for axis, client in zip(remaining, clients or ["(no customers)"], strict=False):
        for name, colour in STATUS_COLOURS.items():
            counts = data.statuses.get(client, {}).get(name)
            if counts is None or not any(counts.points.values()):
                continue
            x, y = xs(counts.rates)
            axis.step(x, y, where="post", label=name.replace("status_", ""), color=colour, lw=1.5)
        axis.set_ylabel("requests / s")
        axis.set_ylim(bottom=0)
        axis.set_title(f"Status codes seen by customers in {client}")

    for axis in axes:
        for marker in data.markers:
            axis.axvline(marker.time - t0, color=marker.colour, ls="--", lw=1.2)
        axis.grid(alpha=0.3)
        if axis.get_legend_handles_labels()[0]:
            axis.legend(loc="upper right", fontsize=8, framealpha=0.8)
    for i, marker in enumerate(sorted(data.markers, key=lambda m: m.time)):
        axes[0].annotate(
            marker.label,
            (marker.time - t0 + 0.2, 0.7 - 0.2 * (i % 3)),  # staggered: close markers overlap
            xycoords=("data", "axes fraction"),
            fontsize=8,
            color=marker.colour,
            ha="left",
            va="top",
        )
    axes[-1].set_xlabel("seconds since the run started")
    figure.suptitle(title or data.title, fontsize=11)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return path


def _colour(colours: list[str], index: int) -> Any:
    return colours[index % len(colours)]
