"""The doctor's check of a region evacuation drill: its health check can be inverted now.

The drill's own checks (``route53.evacuation.preview``: reads only); nothing is changed.
"""

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets

from chaosaws_serverless.doctor.plan import FAIL, PASS, Check
from chaosaws_serverless.route53 import evacuation

__all__ = ["evacuation_target"]


def evacuation_target(
    health_check_id: str, configuration: Configuration, secrets: Secrets
) -> Check:
    """Check that ``evacuate_region`` would go ahead on ``health_check_id``."""
    label = f"health check {health_check_id}"
    try:
        report = evacuation.preview(health_check_id, configuration, secrets)
    except ActivityFailed as error:
        return Check("evacuation target", label, FAIL, f"the drill would refuse: {error}")
    detail = "the drill would invert it (Route 53 then reports it unhealthy)"
    if report["disabled"]:
        detail += "; it is disabled: inverted, Route 53 reports it always unhealthy"
    return Check("evacuation target", label, PASS, detail)
