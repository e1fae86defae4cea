"""CloudWatch alarms' states, read in batches of DescribeAlarms' 100 names."""

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets

from chaosaws_serverless.aws import client
from chaosaws_serverless.errors import aws_errors

__all__ = ["alarm_states"]


def alarm_states(
    alarm_names: list[str],
    region: str,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, tuple[str, str]]:
    """Return ``{alarm name: (state, state reason)}``; ``ActivityFailed`` names missing alarms.

    What ``probes.get_alarm_state`` reads, and the stop-condition control for all its alarms.
    """
    cloudwatch = client("cloudwatch", region, configuration, secrets)
    states: dict[str, tuple[str, str]] = {}
    with aws_errors("cloudwatch:DescribeAlarms", f"alarms {alarm_names} in {region}"):
        for offset in range(0, len(alarm_names), 100):  # DescribeAlarms takes 100 names
            pages = cloudwatch.get_paginator("describe_alarms").paginate(
                AlarmNames=alarm_names[offset : offset + 100],
                AlarmTypes=["MetricAlarm", "CompositeAlarm"],
            )
            for page in pages:
                for alarm in [*page.get("MetricAlarms", []), *page.get("CompositeAlarms", [])]:
                    states[alarm["AlarmName"]] = (
                        alarm["StateValue"],
                        str(alarm.get("StateReason", "")),
                    )
    missing = [n for n in alarm_names if n not in states]
    if missing:
        raise ActivityFailed(
            f"CloudWatch alarm(s) {missing} not found in {region}; check the names and the "
            "region, or create them (chaosaws_serverless.cloudwatch.actions.put_error_ratio_alarm)"
        )
    return states
