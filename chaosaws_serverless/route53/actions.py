"""Actions on Route 53: a region evacuation drill on the region's health check.

Route 53 is a global service: these actions take no region. The drill and its
record are ``route53.evacuation``.
"""

from typing import Any, Dict

from chaoslib.types import Configuration, Secrets

from chaosaws_serverless.route53 import evacuation

__all__ = ["evacuate_region", "restore_region"]


def evacuate_region(
    health_check_id: str,
    *,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> Dict[str, Any]:
    """Evacuate a region: invert its Route 53 health check so Route 53 routes its customers away.

    ``UpdateHealthCheck(Inverted=true)`` with the ``HealthCheckVersion`` just
    read, so a concurrent edit of the check is refused, never overwritten; the
    check's ``Inverted`` before is recorded in its tags first, so
    ``restore_region`` works from any process. This drill tests ROUTING (do
    customers move, how fast), not whether the check itself notices an
    outage: the pre-flight (``find_failover_misconfigurations``) and the Lambda
    faults test that. A disabled check is evacuated too (Route 53 API
    reference: disabled is always healthy, and may be inverted: then always
    unhealthy). Refused before any change: a check already inverted, one that
    reports unhealthy now (inverted it would report the failing region healthy),
    another run's drill, no room for the record's tag (10 per check).
    Rollback partner: ``restore_region``. Returns ``health_check_id``,
    ``inverted_before``, ``inverted``, ``disabled``, ``health_check_version``,
    ``since``.

    ```json
    {"type": "action", "name": "evacuate-us-east-1",
     "provider": {"type": "python", "module": "chaosaws_serverless.route53.actions",
                  "func": "evacuate_region",
                  "arguments": {"health_check_id": "${us_health_check_id}"}}}
    ```
    """
    return evacuation.evacuate(health_check_id, configuration, secrets)


def restore_region(
    health_check_id: str,
    *,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> Dict[str, Any]:
    """Restore a region after ``evacuate_region``: its health check's ``Inverted`` as it was.

    While ``Inverted`` is still the drill's ``true``, puts the recorded value
    back (with the version just read; a concurrent edit makes it read again);
    another value was set by someone else during the drill and is kept. The
    record is removed last. Idempotent, from any process. Returns
    ``health_check_id``, ``restored`` (bool) and, when restored, ``inverted``,
    ``kept_concurrent_change``, ``injected_by``, ``injected_at``.

    ```json
    {"type": "action", "name": "restore-us-east-1",
     "provider": {"type": "python", "module": "chaosaws_serverless.route53.actions",
                  "func": "restore_region",
                  "arguments": {"health_check_id": "${us_health_check_id}"}}}
    ```
    """
    return evacuation.restore(health_check_id, configuration, secrets)
