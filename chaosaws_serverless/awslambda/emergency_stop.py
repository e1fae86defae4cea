"""The emergency stop: restore every function carrying a fault record, fast, in every region.

Regions are visited in parallel (each region is its own Lambda endpoint and
quota); in each, the functions carrying a record of each kind of fault
(:data:`KINDS`: the extension's faults, throttles) are found with the tagging
API (``tag_search.find_carrying_any``: one call per 100 functions found and
kind, whatever the size of the account; the listing fallback reads each
function's tags once for every kind), then restored in
parallel, in a pool of ``RESTORE_WORKERS`` threads per region. The bound keeps
a stop inside Lambda's quotas: a restore is one GetFunction (100 requests/s
per region) plus an UpdateFunctionConfiguration and an UntagResource, which
share the control-plane quota of 15 requests/s per region; a few concurrent
restores reach that rate at AWS's latencies, more would only collect
throttles. Throttles (429) are retried by botocore's adaptive mode
(client-side rate limiting and backoff, ``chaosaws_serverless.aws``) and
updates in progress (409) by the engine (``engine.calls``).

The stop never gives up on the rest: whatever happens to one function (it
vanished since it was listed, a call on it is denied, AWS throttles past the
retries) is a :class:`Problem` naming the function, its region and what
happened, and every other function is still restored; a region that cannot
be searched at all is reported as that region's error while the other regions
run. A function that vanished has nothing left to restore and is reported, not
counted as a failure. Once every function of a region is restored, the region's
dead man's switches left in the package's schedule group
(``chaosaws_serverless.switch``: a rollback that died between removing a fault
and deleting its schedule) are deleted too; a region with a function not
restored keeps them all.
"""

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Optional

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets
from logzero import logger

from chaosaws_serverless import switch
from chaosaws_serverless.aws import client
from chaosaws_serverless.awslambda import engine, faults, tag_search, throttle
from chaosaws_serverless.awslambda.engine.record import FIRST_RECORD_KEY
from chaosaws_serverless.awslambda.regions import Visit, regions_to_visit
from chaosaws_serverless.errors import (
    AwsActivityFailed,
    code_of,
    is_access_denied,
    is_throttled,
)

__all__ = [
    "KINDS",
    "RESTORE_WORKERS",
    "Kind",
    "Outcome",
    "Problem",
    "RegionStop",
    "run",
    "stop",
    "stop_function",
]

RESTORE_WORKERS = 4
Restore = Callable[[str, str, Optional[Configuration], Optional[Secrets]], dict[str, Any]]


def _remove_extension_fault(
    name: str, region: str, configuration: Optional[Configuration], secrets: Optional[Secrets]
) -> dict[str, Any]:
    return faults.remove(name, region, None, configuration, secrets)


@dataclass(frozen=True)
class Kind:
    """A kind of fault the stop restores: the tag key its record always carries, its restore."""

    name: str
    record_key: str
    restore: Restore


# Every kind of fault the emergency stop finds and restores, in one place.
KINDS: tuple[Kind, ...] = (
    Kind("extension", FIRST_RECORD_KEY, _remove_extension_fault),
    Kind("throttle", throttle.FIRST_THROTTLE_KEY, throttle.remove),
)

VANISHED, DENIED, THROTTLED, FAILED = "vanished", "denied", "throttled", "failed"


@dataclass(frozen=True)
class Problem:
    """A function the stop could not restore (or found gone), and what happened."""

    region: str
    function_name: str
    outcome: str  # VANISHED | DENIED | THROTTLED | FAILED
    detail: str

    @property
    def failed(self) -> bool:
        """Return whether the function may still carry a fault (anything but vanished)."""
        return self.outcome != VANISHED

    def as_dict(self) -> dict[str, Any]:
        """Return the problem as the CLI and the action report it."""
        return {
            "region": self.region,
            "function_name": self.function_name,
            "outcome": self.outcome,
            "detail": self.detail,
        }


@dataclass
class RegionStop:
    """What the stop did in one region."""

    region: str
    path: str = "-"
    examined: int = 0
    found: int = 0
    restored: int = 0
    reports: list[dict[str, Any]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    fallback_reason: Optional[str] = None
    error: Optional[str] = None
    switches_deleted: int = 0

    @property
    def failed(self) -> int:
        """Return how many functions may still carry a fault (the region's error counts one)."""
        return sum(1 for p in self.problems if p.failed) + (1 if self.error else 0)

    def summary(self) -> dict[str, Any]:
        """Return the per-region figures the CLI and the action report."""
        return {
            "region": self.region,
            "path": self.path,
            "examined": self.examined,
            "found": self.found,
            "restored": self.restored,
            "failed": self.failed,
            "vanished": sum(1 for p in self.problems if not p.failed),
            "switches_deleted": self.switches_deleted,
            **({"fallback_reason": self.fallback_reason} if self.fallback_reason else {}),
            **({"error": self.error} if self.error else {}),
        }


def _workers(configuration: Optional[Configuration]) -> int:
    value = (configuration or {}).get("lambda_restore_concurrency", RESTORE_WORKERS)
    try:
        workers = int(value)
    except (TypeError, ValueError):
        workers = 0
    if not 1 <= workers <= 32:
        raise ActivityFailed(
            f"configuration 'lambda_restore_concurrency' must be an integer in 1..32 (restores "
            f"in flight per region), got {value!r}"
        )
    return workers


def _exists(
    name: str, region: str, configuration: Optional[Configuration], secrets: Optional[Secrets]
) -> bool:
    """Return whether the function is still there (False only on AWS's ResourceNotFound)."""
    try:
        client("lambda", region, configuration, secrets).get_function(FunctionName=name)
    except Exception as error:  # any other answer: it may be there
        return code_of(error) != engine.NOT_FOUND
    return True


def _problem(
    region: str,
    name: str,
    error: Exception,
    configuration: Optional[Configuration],
    secrets: Optional[Secrets],
) -> Problem:
    if code_of(error) == engine.NOT_FOUND and not _exists(name, region, configuration, secrets):
        outcome = VANISHED
    elif is_access_denied(error):
        outcome = DENIED
    elif is_throttled(error):
        outcome = THROTTLED
    else:
        outcome = FAILED
    log = logger.warning if outcome == VANISHED else logger.error
    log(f"function {name!r} in {region}: {outcome}: {error}")
    return Problem(region, name, outcome, str(error))


def _restore(
    region: str,
    work: list[tuple[Kind, str]],
    configuration: Optional[Configuration],
    secrets: Optional[Secrets],
    result: RegionStop,
) -> None:
    """Run each kind's restore on its functions, a few at a time, into ``result``."""

    def one(item: tuple[Kind, str]) -> dict[str, Any] | Problem:
        kind, name = item
        try:
            return kind.restore(name, region, configuration, secrets)
        except ActivityFailed as error:
            return _problem(region, name, error, configuration, secrets)

    with ThreadPoolExecutor(max_workers=_workers(configuration)) as pool:
        for outcome in pool.map(one, work):
            if isinstance(outcome, Problem):
                result.problems.append(outcome)
            else:
                result.reports.append(outcome)
    # Functions, as ``found`` counts them: one carrying two kinds of fault is one function.
    result.restored = len({r["function_name"] for r in result.reports if r.get("removed")})


def stop_region(
    region: str, configuration: Optional[Configuration], secrets: Optional[Secrets]
) -> RegionStop:
    """Find and restore every function carrying a fault record of any kind in ``region``."""
    result = RegionStop(region)
    found = tag_search.find_carrying_any(
        region, [kind.record_key for kind in KINDS], configuration, secrets, partial=True
    )
    if found.fallback_reason:
        logger.warning(
            f"{region}: the tagging API is denied ({found.fallback_reason}); fell back to "
            "ListFunctions + ListTags on every function: grant tag:GetResources for a fast stop"
        )
    result.path, result.fallback_reason = found.path, found.fallback_reason
    result.examined = found.examined
    work = [
        (kind, f.name)
        for f in sorted(found.functions, key=lambda f: f.name)
        for kind in KINDS
        if kind.record_key in f.tags
    ]
    for unread in found.unread:
        result.problems.append(_problem(region, unread.name, unread.error, configuration, secrets))
    result.found = len({name for _, name in work})
    logger.info(
        f"{region}: {result.found} function(s) with a fault record among {result.examined} "
        f"examined ({result.path})"
    )
    _restore(region, work, configuration, secrets, result)
    if not result.failed:
        try:
            result.switches_deleted = len(
                switch.delete_orphans(region, configuration or {}, secrets)
            )
        except AwsActivityFailed as error:  # each fires as a no-op and deletes itself
            logger.warning(f"{region}: dead man's switches left in place: {error}")
    return result


def _each_region(regions: list[str], run: Callable[[str], RegionStop]) -> list[RegionStop]:
    """Run ``run`` on every region at once; a region that fails is its own error, not the stop's."""
    with ThreadPoolExecutor(max_workers=max(1, len(regions))) as pool:
        futures = [pool.submit(run, r) for r in regions]
        results: list[RegionStop] = []
        for region, future in zip(regions, futures, strict=True):
            try:
                results.append(future.result())
            except ActivityFailed as error:
                logger.error(f"{region}: the emergency stop could not run: {error}")
                results.append(RegionStop(region, error=str(error)))
    return results


def stop(
    regions: list[str], configuration: Optional[Configuration], secrets: Optional[Secrets]
) -> list[RegionStop]:
    """Run ``stop_region`` on every region at once; return every region's result, never raise."""
    _workers(configuration)  # a wrong value is refused before any region is visited
    return _each_region(regions, lambda r: stop_region(r, configuration, secrets))


def stop_function(
    function_name: str,
    regions: list[str],
    configuration: Optional[Configuration],
    secrets: Optional[Secrets],
) -> list[RegionStop]:
    """Restore one function of any kind of fault in each of ``regions`` where it exists.

    A region where the function does not exist is reported with ``found`` 0,
    not as a failure; the caller decides what it means that it exists nowhere.
    """
    _workers(configuration)

    def run(region: str) -> RegionStop:
        result = RegionStop(region, path="function")
        if not _exists(function_name, region, configuration, secrets):
            return result
        result.examined = result.found = 1
        _restore(region, [(k, function_name) for k in KINDS], configuration, secrets, result)
        return result

    return _each_region(regions, run)


@dataclass
class Outcome:
    """A whole stop: the regions visited (and why), each region's result."""

    visit: Visit
    results: list[RegionStop]
    function_name: Optional[str] = None

    def failures(self) -> list[str]:
        """Return one line per function (or region) that may still carry a fault."""
        lines = [f"{r.region}: {r.error}" for r in self.results if r.error]
        lines += [
            f"{p.function_name} in {p.region}: {p.outcome}: {p.detail}"
            for r in self.results
            for p in r.problems
            if p.failed
        ]
        if self.function_name and not any(r.found or r.error for r in self.results):
            lines.append(
                f"function {self.function_name!r} exists in none of {', '.join(self.visit.regions)}"
                ": check the name, or pass the --region it lives in"
            )
        return lines

    def as_dict(self) -> dict[str, Any]:
        """Return what the action returns and ``rollback --json`` prints."""
        return {
            "visited": list(self.visit.regions),
            "regions_from": self.visit.source,
            **({"warning": self.visit.warning} if self.visit.warning else {}),
            "regions": [r.summary() for r in self.results],
            "functions": [report for r in self.results for report in r.reports],
            "problems": [p.as_dict() for r in self.results for p in r.problems],
        }


def run(
    regions: Optional[list[str]],
    configuration: Optional[Configuration],
    secrets: Optional[Secrets],
    *,
    experiment: Optional[Mapping[str, Any]] = None,
    function_name: Optional[str] = None,
) -> Outcome:
    """Pick the regions (``regions``, else named, else enabled) and run the stop in each.

    ``function_name``: only that function; an ARN is looked for in its own
    region only (and refused when ``regions`` leaves that region out).
    """
    arn_region = engine.function_region(function_name) if function_name else None
    if arn_region and regions and arn_region not in regions:
        raise ActivityFailed(
            f"function {function_name!r} lives in {arn_region}, which the regions given "
            f"({', '.join(regions)}) leave out: add --region {arn_region} or pass its name"
        )
    visit = regions_to_visit(
        [arn_region] if arn_region else regions, configuration, secrets, experiment
    )
    if visit.warning:
        logger.warning(visit.warning)
    logger.info(f"the emergency stop visits {', '.join(visit.regions)} ({visit.source})")
    if function_name:
        results = stop_function(function_name, visit.regions, configuration, secrets)
    else:
        results = stop(visit.regions, configuration, secrets)
    return Outcome(visit, results, function_name)
