"""CloudWatch metric alarms evaluated as the CloudWatch User Guide describes: what moto never does.

moto stores alarms and metric data and never moves an alarm out of its state. The lab's
control plane (:mod:`.control_plane`) runs :func:`evaluate_all` every second so that an
FIS stop condition, or the package's stop-condition control, sees an alarm fire when the
customers' errors cross it. Metric alarms on one metric and a statistic are modelled;
metric math and composite alarms are left in their state (said in :func:`evaluate`).

Sources, AmazonCloudWatch User Guide
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/<page>), not in a stored copy:

[E] AlarmThatSendsEmail.html#alarm-evaluation   an alarm compares the metric's statistic
    over each Period with Threshold by ComparisonOperator; it goes to ALARM when
    DatapointsToAlarm of the last EvaluationPeriods datapoints breach (M out of N; M
    defaults to N), to OK when they do not
[M] alarms-and-missing-data.html   TreatMissingData: missing (the default: the alarm looks
    further back, INSUFFICIENT_DATA when every datapoint is missing), notBreaching,
    breaching, ignore (the state stays)

The lab evaluates the periods that ended before now (a period still filling is left out,
so an alarm never fires on a partial count).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["breaches", "evaluate", "evaluate_all"]

_COMPARE = {
    "GreaterThanThreshold": lambda v, t: v > t,
    "GreaterThanOrEqualToThreshold": lambda v, t: v >= t,
    "LessThanThreshold": lambda v, t: v < t,
    "LessThanOrEqualToThreshold": lambda v, t: v <= t,
}


def breaches(alarm: Mapping[str, Any], values: list[float | None]) -> tuple[str, str] | None:
    """The state [E]/[M] give the last EvaluationPeriods values (oldest first; None: missing).

    Returns (state, reason), or None when the alarm keeps its state.
    """
    compare = _COMPARE.get(str(alarm.get("ComparisonOperator")))
    if compare is None:
        return None
    threshold = float(alarm["Threshold"])
    periods = int(alarm.get("EvaluationPeriods") or 1)
    needed = int(alarm.get("DatapointsToAlarm") or periods)
    treat = str(alarm.get("TreatMissingData") or "missing")
    window = values[-periods:]
    if all(v is None for v in window):
        if treat == "breaching":
            return "ALARM", f"{periods} missing datapoints treated as breaching"
        if treat == "notBreaching":
            return "OK", f"{periods} missing datapoints treated as not breaching"
        if treat == "ignore":
            return None
        return "INSUFFICIENT_DATA", "no datapoint in the evaluation periods"
    breaching = sum(
        1
        for v in window
        if (v is None and treat == "breaching") or (v is not None and compare(v, threshold))
    )
    shown = ", ".join("-" if v is None else f"{v:g}" for v in window)
    if breaching >= needed:
        return (
            "ALARM",
            f"{breaching} of the last {periods} datapoints [{shown}] crossed {threshold:g}",
        )
    return "OK", f"{breaching} of the last {periods} datapoints [{shown}] crossed {threshold:g}"


def evaluate(cloudwatch: Any, alarm: Mapping[str, Any], now: dt.datetime) -> tuple[str, str] | None:
    """Read the alarm's metric over its evaluation periods and return its state (or None)."""
    if alarm.get("Metrics") or not alarm.get("MetricName"):
        return None  # metric math: not modelled, the state stays
    period = int(alarm.get("Period") or 60)
    periods = int(alarm.get("EvaluationPeriods") or 1)
    statistic = str(alarm.get("Statistic") or "")
    if not statistic:
        return None  # extended statistics: not modelled
    end = dt.datetime.fromtimestamp(math.floor(now.timestamp() / period) * period, dt.UTC)
    start = end - dt.timedelta(seconds=period * periods)
    answer = cloudwatch.get_metric_statistics(
        Namespace=alarm["Namespace"],
        MetricName=alarm["MetricName"],
        Dimensions=list(alarm.get("Dimensions") or []),
        StartTime=start,
        EndTime=end,
        Period=period,
        Statistics=[statistic],
    )
    by_start = {
        int(point["Timestamp"].timestamp() // period): float(point[statistic])
        for point in answer.get("Datapoints", [])
    }
    first = int(start.timestamp() // period)
    values = [by_start.get(first + i) for i in range(periods)]
    return breaches(alarm, values)


def evaluate_all(cloudwatch: Any, now: dt.datetime | None = None) -> list[tuple[str, str, str]]:
    """Evaluate every metric alarm of one region; set the states that change.

    Returns (alarm name, new state, reason) for each change.
    """
    now = now or dt.datetime.now(dt.UTC)
    changed = []
    for alarm in _alarms(cloudwatch):
        with contextlib.suppress(Exception):  # one broken alarm must not stop the others
            outcome = evaluate(cloudwatch, alarm, now)
            if outcome is None or outcome[0] == alarm.get("StateValue"):
                continue
            cloudwatch.set_alarm_state(
                AlarmName=alarm["AlarmName"], StateValue=outcome[0], StateReason=outcome[1][:1000]
            )
            changed.append((str(alarm["AlarmName"]), outcome[0], outcome[1]))
    return changed


def _alarms(cloudwatch: Any) -> Iterable[Mapping[str, Any]]:
    for page in cloudwatch.get_paginator("describe_alarms").paginate(AlarmTypes=["MetricAlarm"]):
        yield from page.get("MetricAlarms", [])
