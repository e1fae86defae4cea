"""Throttle a Lambda function: reserved concurrency 0, the reservation before it recorded on AWS.

What AWS does (botocore's Lambda model, PutFunctionConcurrency; Lambda developer
guide, "Configuring reserved concurrency" and "Handling Lambda errors with an API
Gateway API"):

- reserved concurrency applies "to the function as a whole, including all
  published versions and the unpublished version": 0 throttles every version
  and alias, whatever the runtime or package type (OS-only ``provided.*``
  runtimes and container images included, which take no layer);
- a throttled synchronous Invoke answers 429 ``TooManyRequestsException``; API
  Gateway answers a rejected invocation 500 ``{"message": "Internal server
  error"}``; asynchronous invocations and event source mappings retry;
- an account keeps "at least 100 simultaneous executions unreserved":
  throttling frees the function's reservation, so it never meets that minimum,
  but restoring a reservation can, if someone reserved the freed capacity
  meanwhile (AWS answers InvalidParameterValueException; the record is kept and
  the rollback says what to free);
- provisioned concurrency counts toward the function's reserved concurrency
  ("Configuring provisioned concurrency"): its pre-initialized environments
  serve nothing while the reservation is 0. Whatever AWS refuses at the change
  (a reservation below the provisioned total, for one), the record written just
  before is removed again and the error names AWS's answer.

The record is one JSON object in the function's tags ``chaosaws-serverless:throttle:N``
(packed like the fault record, ``engine.record.pack``), written BEFORE the change::

    {"v": 1, "was": null | 25, "by": "alice@laptop pid 4242", "at": "2026-...Z",
     "selection": "tags-..."}      # selection only when throttled by tags

``was`` is ``GetFunctionConcurrency``'s answer before (null: unreserved). The
rollback is the fault engine's merge rule for one value: if the reservation is
still the 0 the injection set, it is put back (``PutFunctionConcurrency(was)``
or ``DeleteFunctionConcurrency``); any other value is someone else's change and
is kept. The record tags are removed last, so a crash leaves a record to run
the rollback again. The record is independent of the extension's fault record:
a function may carry a latency fault and a throttle at once.
"""

from dataclasses import dataclass
from typing import Any, Optional

from chaoslib.types import Configuration, Secrets
from logzero import logger

from chaosaws_serverless.aws import client
from chaosaws_serverless.awslambda import engine, faults
from chaosaws_serverless.awslambda.engine.calls import NOT_FOUND
from chaosaws_serverless.awslambda.engine.function import unqualified_arn
from chaosaws_serverless.awslambda.engine.record import (
    RecordError,
    check_tag_budget,
    pack,
    record_keys,
    unpack,
)

__all__ = [
    "FIRST_THROTTLE_KEY",
    "THROTTLE_TAG_PREFIX",
    "ThrottleRecord",
    "inject",
    "preview",
    "read_record",
    "remove",
    "reserved_concurrency",
    "state",
]

THROTTLE_TAG_PREFIX = "chaosaws-serverless:throttle:"
FIRST_THROTTLE_KEY = f"{THROTTLE_TAG_PREFIX}0"
FORMAT_VERSION = 1
THROTTLED = 0
_REFUSED = "InvalidParameterValueException"


@dataclass(frozen=True)
class ThrottleRecord:
    """What a throttle replaced: the reservation before (None: unreserved), who, when."""

    was: Optional[int]
    by: str
    at: str
    selection: Optional[str] = None

    def tags(self) -> dict[str, str]:
        data: dict[str, Any] = {"v": FORMAT_VERSION, "was": self.was, "by": self.by, "at": self.at}
        if self.selection:
            data["selection"] = self.selection
        return pack(data, THROTTLE_TAG_PREFIX)


def read_record(tags: dict[str, str], resource: str) -> Optional[ThrottleRecord]:
    """Return the throttle record the tags hold (None: none), refusing a damaged one."""
    try:
        data = unpack(tags, THROTTLE_TAG_PREFIX)
        if data is None:
            return None
        if data.get("v") != FORMAT_VERSION:
            raise RecordError(f"format version {data.get('v')!r}, expected {FORMAT_VERSION}")
        was = data.get("was")
        if was is not None and (isinstance(was, bool) or not isinstance(was, int) or was < 0):
            raise RecordError(f"'was' must be null or a reservation >= 0, got {was!r}")
    except RecordError as error:
        raise engine.FaultError(
            f"the throttle record on {resource} is damaged ({error}); set its reserved "
            f"concurrency by hand and delete its '{THROTTLE_TAG_PREFIX}*' tags"
        ) from error
    selection = data.get("selection")
    return ThrottleRecord(was, str(data.get("by", "")), str(data.get("at", "")), selection or None)


def reserved_concurrency(lam: Any, ref: engine.FunctionRef) -> Optional[int]:
    """Return the function's reserved concurrency (GetFunctionConcurrency); None: unreserved."""
    answer = engine.call(
        lam,
        "get_function_concurrency",
        "lambda:GetFunctionConcurrency",
        ref.resource,
        FunctionName=ref.name,
    )
    value = answer.get("ReservedConcurrentExecutions")
    return None if value is None else int(value)


@dataclass(frozen=True)
class _Read:
    arn: str
    tags: dict[str, str]
    record: Optional[ThrottleRecord]
    reserved: Optional[int]


def _read(lam: Any, ref: engine.FunctionRef) -> _Read:
    config = engine.get_function(lam, ref)["Configuration"]
    tags = engine.read_tags(lam, config, ref.resource)
    record = read_record(tags, ref.resource)
    return _Read(unqualified_arn(config), tags, record, reserved_concurrency(lam, ref))


def _put(lam: Any, ref: engine.FunctionRef, value: int) -> None:
    engine.call(
        lam,
        "put_function_concurrency",
        "lambda:PutFunctionConcurrency",
        ref.resource,
        FunctionName=ref.name,
        ReservedConcurrentExecutions=value,
    )


def _untag(lam: Any, ref: engine.FunctionRef, arn: str, keys: list[str]) -> None:
    if keys:
        engine.call(
            lam, "untag_resource", "lambda:UntagResource", ref.resource, Resource=arn, TagKeys=keys
        )


def _reservation(value: Optional[int]) -> str:
    return "unreserved" if value is None else f"reserved concurrency {value}"


@dataclass(frozen=True)
class _Checked:
    """A function that passed every check of a throttle: as read, and the record it keeps."""

    read: _Read
    fresh: ThrottleRecord  # the record a new throttle writes
    record: Optional[ThrottleRecord]  # this run's throttle already in place (None: none)

    @property
    def kept(self) -> ThrottleRecord:
        return self.record or self.fresh

    def report(self, ref: engine.FunctionRef) -> dict[str, Any]:
        return {
            "function_name": ref.name,
            "region": ref.region,
            "fault": "throttle",
            "reserved_concurrency_before": self.kept.was,
            "since": self.kept.at,
        }


def _check(lam: Any, ref: engine.FunctionRef, selection: Optional[str]) -> _Checked:
    """Read the function and run every refusal of a throttle (reads only)."""
    stamp = engine.Stamp(faults.injector(), engine.now(), selection)
    read = _read(lam, ref)
    record = read.record
    if record is not None and record.by != stamp.by:
        raise engine.FaultError(
            f"{ref.resource} is already throttled by {record.by} since {record.at}: roll that "
            "throttle back first (remove_throttle); nothing was changed"
        )
    if record is not None and record.selection != selection:
        raise engine.FaultError(
            f"{ref.resource} is throttled by this run under another selection "
            f"({record.selection or 'a single-function throttle'}): roll it back first "
            "(nothing was changed)"
        )
    fresh = ThrottleRecord(read.reserved, stamp.by, stamp.at, selection)
    if record is None:
        try:
            check_tag_budget(read.tags, fresh.tags(), THROTTLE_TAG_PREFIX)
        except RecordError as error:
            raise engine.FaultError(f"{ref.resource}: {error} (nothing was changed)") from error
    return _Checked(read, fresh, record)


def preview(
    function_name: Any,
    region: Optional[str],
    configuration: Optional[Configuration],
    secrets: Optional[Secrets],
    *,
    selection: Optional[str] = None,
) -> dict[str, Any]:
    """Run every check of ``inject`` and return what it would report; change nothing."""
    ref = faults.function_ref(function_name, region, None, configuration)
    lam = client("lambda", ref.region, configuration, secrets)
    with faults.engine_errors():
        return _check(lam, ref, selection).report(ref)


def inject(
    function_name: Any,
    region: Optional[str],
    configuration: Optional[Configuration],
    secrets: Optional[Secrets],
    *,
    selection: Optional[str] = None,
) -> dict[str, Any]:
    """Set the function's reserved concurrency to 0 after recording the one it had.

    A throttle this run recorded is applied again in place (its ``was`` kept);
    another run's is refused (``preview``: the same checks, no change).
    """
    ref = faults.function_ref(function_name, region, None, configuration)
    with faults.changing(ref, configuration, secrets) as lam:
        checked = _check(lam, ref, selection)
        read, record, fresh = checked.read, checked.record, checked.fresh
        if record is None:
            # The record first: a function is never throttled without one.
            engine.call(
                lam,
                "tag_resource",
                "lambda:TagResource",
                ref.resource,
                Resource=read.arn,
                Tags=fresh.tags(),
            )
        if read.reserved != THROTTLED or record is None:
            try:
                _put(lam, ref, THROTTLED)
            except engine.CallFailed:
                if record is None:
                    _untag(lam, ref, read.arn, list(fresh.tags()))
                raise
        was = _reservation(checked.kept.was)
        logger.info(f"{ref.resource}: throttled (reserved concurrency 0; was {was})")
        return checked.report(ref)


def remove(
    function_name: Any,
    region: Optional[str],
    configuration: Optional[Configuration],
    secrets: Optional[Secrets],
) -> dict[str, Any]:
    """Put the recorded reservation back if the throttle is still in place; remove the record.

    Idempotent: without a record it logs so and changes nothing.
    """
    ref = faults.function_ref(function_name, region, None, configuration)
    with faults.changing(ref, configuration, secrets) as lam:
        read = _read(lam, ref)
        base: dict[str, Any] = {"function_name": ref.name, "region": ref.region, "removed": False}
        record = read.record
        if record is None:
            logger.info(f"{ref.resource}: no throttle recorded, nothing to remove")
            return base
        restored = read.reserved == THROTTLED
        if restored:
            _restore(lam, ref, record.was)
        else:
            logger.info(
                f"{ref.resource}: {_reservation(read.reserved)} was set by someone else during "
                "the throttle: kept"
            )
        _untag(lam, ref, read.arn, record_keys(read.tags, THROTTLE_TAG_PREFIX))
        now = record.was if restored else read.reserved
        logger.info(f"{ref.resource}: throttle removed ({_reservation(now)})")
        return {
            **base,
            "removed": True,
            "fault": "throttle",
            "restored_to": now,
            "kept_concurrent_change": not restored,
            "injected_by": record.by,
            "injected_at": record.at,
        }


def _restore(lam: Any, ref: engine.FunctionRef, was: Optional[int]) -> None:
    if was is None:
        try:
            engine.call(
                lam,
                "delete_function_concurrency",
                "lambda:DeleteFunctionConcurrency",
                ref.resource,
                FunctionName=ref.name,
            )
        except engine.CallFailed as error:
            if error.code != NOT_FOUND:
                raise
        return
    try:
        _put(lam, ref, was)
    except engine.CallFailed as error:
        if error.code != _REFUSED:
            raise
        raise engine.FaultError(
            f"{ref.resource}: Lambda refused to reserve its recorded concurrency {was} again "
            f"({error.error}): an account keeps at least 100 executions unreserved, and others "
            "reserved the capacity the throttle freed. Lower another function's reservation, "
            "then run remove_throttle again (the function stays throttled and its record kept)"
        ) from error


def state(
    function_name: Any,
    region: Optional[str],
    configuration: Optional[Configuration],
    secrets: Optional[Secrets],
) -> dict[str, Any]:
    """Return whether the function is throttled now (reserved concurrency 0) and by whom."""
    ref = faults.function_ref(function_name, region, None, configuration)
    lam = client("lambda", ref.region, configuration, secrets)
    with faults.engine_errors():
        read = _read(lam, ref)
    record = read.record
    return {
        "function_name": ref.name,
        "region": ref.region,
        "throttled": read.reserved == THROTTLED,
        "reserved_concurrency": read.reserved,
        "since": record.at if record else None,
        "injected_by": record.by if record else None,
    }
