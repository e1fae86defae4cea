"""A region evacuation drill: the region's Route 53 health check inverted, its setting recorded.

What Route 53 does (API reference, UpdateHealthCheck, as botocore's model carries it):

- ``Inverted``: Route 53 "invert[s] the status of a health check, for example, to
  consider a health check unhealthy when it otherwise would be considered healthy".
  Inverting the check of a healthy region makes it unhealthy, and latency (or
  failover) routing sends its customers elsewhere: the drill tests ROUTING, not
  the check's own correctness (the pre-flight ``find_failover_misconfigurations``
  and the Lambda faults test that). A check that reports unhealthy already is
  refused: inverted, it would report the failing region healthy.
- ``Disabled``: "After you disable a health check, Route 53 considers the status of
  the health check to always be healthy ... Additionally, in disabled state, you
  can also invert the status of the health check to route traffic differently."
  So a disabled check is NOT refused: inverted, it is always unhealthy, which is
  the evacuation. (Issue 25 asked to refuse ``Disabled=true``; the reference says
  inverting works there, so the drill does it and says so in its result.)
- ``HealthCheckVersion``: sent with the update, so "if the value of
  HealthCheckVersion in the health check is greater, the health check was changed
  after you got the version number. Route 53 does not update the health check,
  and it returns a HealthCheckVersionMismatch error": a concurrent edit is
  refused, never overwritten. (moto neither increments the version nor refuses
  a stale one; a stubbed test pins the refusal.)
- A health check holds at most 10 tags (ChangeTagsForResource).

The record: one tag ``chaosaws-serverless:evacuation`` on the health check, written
BEFORE the update, in the characters Route 53 tag values take (letters, digits,
spaces and ``_ . : / = + - @``; others in ``by`` become ``_``)::

    v1 was=false at=2026-12-02T19:00:00Z by=alice@laptop pid 4242

``was`` is ``Inverted`` before (the drill sets ``true``). The rollback puts
``Inverted`` back to ``was`` only while it is still ``true`` (any other value is
someone else's change, kept), with the version just read, then removes the tag.
Idempotent; a logged no-op without a record.
"""

import re
from dataclasses import dataclass
from typing import Any, Optional

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets
from logzero import logger

from chaosaws_serverless import metric_names as names
from chaosaws_serverless.aws import client
from chaosaws_serverless.errors import aws_errors, code_of
from chaosaws_serverless.route53.health import healthy_from_observations
from chaosaws_serverless.runs import injector, now

__all__ = [
    "EVACUATION_TAG",
    "Record",
    "evacuate",
    "find_evacuated",
    "preview",
    "restore",
    "restore_all",
]

EVACUATION_TAG = "chaosaws-serverless:evacuation"
MAX_TAGS = 10
MISMATCH = "HealthCheckVersionMismatch"
_RESTORE_ATTEMPTS = 3
_RECORD = re.compile(r"^v1 was=(?P<was>true|false) at=(?P<at>\S+) by=(?P<by>.*)$")
_NOT_TAG_CHARACTER = re.compile(r"[^\w .:/=+\-@]")


@dataclass(frozen=True)
class Record:
    """The drill's record: ``Inverted`` before, when, and who (in tag characters)."""

    was: bool
    at: str
    by: str

    @classmethod
    def mine(cls, was: bool) -> "Record":
        return cls(was, now(), _NOT_TAG_CHARACTER.sub("_", injector()))

    @property
    def value(self) -> str:
        return f"v1 was={'true' if self.was else 'false'} at={self.at} by={self.by}"

    @classmethod
    def parse(cls, value: str) -> Optional["Record"]:
        match = _RECORD.match(value)
        if match is None:
            return None
        return cls(match["was"] == "true", match["at"], match["by"])


@dataclass(frozen=True)
class _Check:
    """A health check as read: its configuration, version, tags and evacuation record."""

    id: str
    config: dict[str, Any]
    version: int
    tags: dict[str, str]
    record: Optional[Record]

    @property
    def where(self) -> str:
        return f"health check {self.id!r}"

    @property
    def inverted(self) -> bool:
        return bool(self.config.get("Inverted"))


def _validate(health_check_id: Any) -> str:
    if not isinstance(health_check_id, str) or not health_check_id.strip():
        raise ActivityFailed(
            f"health_check_id must be a Route 53 health check id (GetHealthCheck), got "
            f"{health_check_id!r} (nothing was changed)"
        )
    return health_check_id.strip()


def _read(route53: Any, health_check_id: str) -> _Check:
    where = f"health check {health_check_id!r}"
    with aws_errors("route53:GetHealthCheck", where):
        check = route53.get_health_check(HealthCheckId=health_check_id)["HealthCheck"]
    with aws_errors("route53:ListTagsForResource", where):
        tag_set = route53.list_tags_for_resource(
            ResourceType="healthcheck", ResourceId=health_check_id
        )["ResourceTagSet"]
    tags = {str(t["Key"]): str(t.get("Value", "")) for t in tag_set.get("Tags") or []}
    record = None
    if EVACUATION_TAG in tags:
        record = Record.parse(tags[EVACUATION_TAG])
        if record is None:
            raise ActivityFailed(
                f"the evacuation record on {where} is damaged ({tags[EVACUATION_TAG]!r}); set its "
                f"Inverted by hand and delete its {EVACUATION_TAG!r} tag"
            )
    config = dict(check.get("HealthCheckConfig") or {})
    return _Check(health_check_id, config, int(check["HealthCheckVersion"]), tags, record)


def _update_inverted(route53: Any, check: _Check, inverted: bool) -> dict[str, Any]:
    with aws_errors("route53:UpdateHealthCheck", check.where):
        answer = route53.update_health_check(
            HealthCheckId=check.id, HealthCheckVersion=check.version, Inverted=inverted
        )
    return dict(answer["HealthCheck"])


def _reports_unhealthy(route53: Any, check: _Check) -> bool:
    """Return whether Route 53's checkers report the check unhealthy now (no observations: no)."""
    if check.config.get("Disabled") or check.config.get("Type") == "CALCULATED":
        return False  # disabled: healthy (not inverted, checked above); calculated: no checkers
    with aws_errors("route53:GetHealthCheckStatus", check.where):
        observations = route53.get_health_check_status(HealthCheckId=check.id).get(
            "HealthCheckObservations", []
        )
    if not observations:
        return False
    return not healthy_from_observations(observations)


@dataclass(frozen=True)
class _Checked:
    """A health check that passed every check of the drill, and the record it keeps."""

    check: _Check
    fresh: Record  # the record a new drill writes
    record: Optional[Record]  # this run's drill already in place (None: none)

    def report(self) -> dict[str, Any]:
        kept = self.record or self.fresh
        return {
            "health_check_id": self.check.id,
            "inverted_before": kept.was,
            "inverted": True,
            "disabled": bool(self.check.config.get("Disabled")),
            "since": kept.at,
        }


def _checked(route53: Any, check_id: str) -> _Checked:
    """Read the health check and run every refusal of the drill (reads only)."""
    check = _read(route53, check_id)
    fresh = Record.mine(was=False)
    record = check.record
    if record is not None and record.by != fresh.by:
        raise ActivityFailed(
            f"{check.where} is already evacuated by {record.by} since {record.at}: "
            "restore it first (restore_region); nothing was changed"
        )
    if record is None and check.inverted:
        raise ActivityFailed(
            f"{check.where} is already inverted (Inverted=true): Route 53 already treats a "
            "healthy endpoint as unhealthy, so inverting it again would send traffic back; "
            "nothing was changed"
        )
    if record is None and _reports_unhealthy(route53, check):
        raise ActivityFailed(
            f"{check.where} reports unhealthy now: inverted, it would report the failing region "
            "healthy and send customers to it; nothing was changed"
        )
    if record is None and len(check.tags) + 1 > MAX_TAGS:
        raise ActivityFailed(
            f"{check.where} has {len(check.tags)} tags and the evacuation record needs one more: "
            f"over Route 53's {MAX_TAGS} tags per health check; remove one of its tags first "
            "(nothing was changed)"
        )
    return _Checked(check, fresh, record)


def preview(
    health_check_id: Any, configuration: Optional[Configuration], secrets: Optional[Secrets]
) -> dict[str, Any]:
    """Run every check of ``evacuate`` and return what it would report; change nothing."""
    route53 = client("route53", names.ROUTE53_METRICS_REGION, configuration, secrets)
    return _checked(route53, _validate(health_check_id)).report()


def evacuate(
    health_check_id: Any, configuration: Optional[Configuration], secrets: Optional[Secrets]
) -> dict[str, Any]:
    """Invert a healthy, non-inverted health check after recording it; refuse a concurrent edit."""
    check_id = _validate(health_check_id)
    route53 = client("route53", names.ROUTE53_METRICS_REGION, configuration, secrets)
    checked = _checked(route53, check_id)
    check, fresh, record = checked.check, checked.fresh, checked.record
    report = checked.report()
    if record is not None and check.inverted:
        return {**report, "health_check_version": check.version}  # in place already
    record_tags = {EVACUATION_TAG: fresh.value} if record is None else {}
    if record_tags:
        # The record first: a check is never inverted by this package without one.
        _change_tags(route53, check, add=record_tags)
    try:
        updated = _update_inverted(route53, check, True)
    except ActivityFailed as error:
        if record_tags:
            _change_tags(route53, check, remove=list(record_tags))
        if code_of(error) == MISMATCH:
            raise ActivityFailed(
                f"{check.where} was changed by someone else after it was read (its "
                f"HealthCheckVersion is no longer {check.version}): Route 53 refused the update; "
                "nothing was changed, run it again"
            ) from error
        raise
    logger.info(
        f"{check.where}: inverted (Route 53 now reports it unhealthy"
        + (", disabled as it was" if report["disabled"] else "")
        + ")"
    )
    return {**report, "health_check_version": int(updated.get("HealthCheckVersion", 0))}


def restore(
    health_check_id: Any, configuration: Optional[Configuration], secrets: Optional[Secrets]
) -> dict[str, Any]:
    """Put the recorded Inverted back while the drill's value is still there; remove the record."""
    check_id = _validate(health_check_id)
    route53 = client("route53", names.ROUTE53_METRICS_REGION, configuration, secrets)
    base: dict[str, Any] = {"health_check_id": check_id, "restored": False}
    for attempt in range(_RESTORE_ATTEMPTS):
        check = _read(route53, check_id)
        record = check.record
        if record is None:
            logger.info(f"{check.where}: no evacuation recorded, nothing to restore")
            return base
        ours = check.inverted  # the drill's value is true
        if not ours:
            logger.info(
                f"{check.where}: Inverted={check.inverted} was set by someone else during the "
                "drill: kept"
            )
            break
        try:
            _update_inverted(route53, check, record.was)
            break
        except ActivityFailed as error:
            # Someone edited the check between our read and our write: read again.
            if code_of(error) != MISMATCH or attempt == _RESTORE_ATTEMPTS - 1:
                raise
    assert record is not None  # the loop returned without one
    _change_tags(route53, check, remove=[EVACUATION_TAG])
    inverted = record.was if ours else check.inverted
    logger.info(f"{check.where}: evacuation restored (Inverted={inverted})")
    return {
        **base,
        "restored": True,
        "inverted": inverted,
        "kept_concurrent_change": not ours,
        "injected_by": record.by,
        "injected_at": record.at,
    }


def _change_tags(
    route53: Any,
    check: _Check,
    add: Optional[dict[str, str]] = None,
    remove: Optional[list[str]] = None,
) -> None:
    params: dict[str, Any] = {"ResourceType": "healthcheck", "ResourceId": check.id}
    if add:
        params["AddTags"] = [{"Key": k, "Value": v} for k, v in add.items()]
    if remove:
        params["RemoveTagKeys"] = list(remove)
    if len(params) > 2:
        with aws_errors("route53:ChangeTagsForResource", check.where):
            route53.change_tags_for_resource(**params)


def find_evacuated(configuration: Optional[Configuration], secrets: Optional[Secrets]) -> list[str]:
    """Return the ids of the health checks carrying an evacuation record (list, then tags)."""
    route53 = client("route53", names.ROUTE53_METRICS_REGION, configuration, secrets)
    ids: list[str] = []
    marker = ""
    while True:
        with aws_errors("route53:ListHealthChecks", "the account's health checks"):
            page = route53.list_health_checks(**({"Marker": marker} if marker else {}))
        ids.extend(str(c["Id"]) for c in page.get("HealthChecks", []))
        marker = page.get("NextMarker") or ""
        if not page.get("IsTruncated") or not marker:
            break
    found: list[str] = []
    for start in range(0, len(ids), 10):  # ListTagsForResources takes at most 10 ids
        batch = ids[start : start + 10]
        with aws_errors("route53:ListTagsForResources", "the account's health checks"):
            answer = route53.list_tags_for_resources(ResourceType="healthcheck", ResourceIds=batch)
        for tag_set in answer.get("ResourceTagSets", []):
            if any(t["Key"] == EVACUATION_TAG for t in tag_set.get("Tags") or []):
                found.append(str(tag_set["ResourceId"]))
    return sorted(found)


def restore_all(
    configuration: Optional[Configuration], secrets: Optional[Secrets]
) -> tuple[list[dict[str, Any]], list[str]]:
    """Restore every evacuated health check (the emergency stop); return reports and failures.

    One check that cannot be restored does not stop the others; a search that
    fails is one failure line.
    """
    try:
        ids = find_evacuated(configuration, secrets)
    except ActivityFailed as error:
        return [], [f"Route 53 health checks: not searched: {error}"]
    reports: list[dict[str, Any]] = []
    failures: list[str] = []
    for check_id in ids:
        try:
            reports.append(restore(check_id, configuration, secrets))
        except ActivityFailed as error:
            failures.append(f"health check {check_id}: {error}")
    return reports, failures
