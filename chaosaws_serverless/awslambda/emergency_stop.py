"""The emergency stop: restore every function carrying a fault record, fast, in every region.

Regions are visited in parallel (each region is its own Lambda endpoint and
quota); in each, the functions carrying a record are found with the tagging
API (``tag_search``: one call per 100 functions found, whatever the size of
the account), then restored in parallel by ``faults.remove``, in a pool of
``RESTORE_WORKERS`` threads per region. The bound keeps a stop inside Lambda's
quotas: a restore is one GetFunction (100 requests/s per region) plus an
UpdateFunctionConfiguration and an UntagResource, which share the
control-plane quota of 15 requests/s per region; a few concurrent restores
reach that rate at AWS's latencies, more would only collect throttles. Throttles
(429) are retried by botocore's adaptive mode (client-side rate limiting and
backoff, ``chaosaws_serverless.aws``) and updates in progress (409) by the
engine (``engine.calls``), so a stop that meets them is slower, never incomplete.

One function that cannot be restored does not stop the others: its error is
reported (and raised at the end, after every other function was restored).
"""

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Optional

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets
from logzero import logger

from chaosaws_serverless.aws import configured_regions
from chaosaws_serverless.awslambda import faults, tag_search

RESTORE_WORKERS = 4


@dataclass
class RegionStop:
    """What the stop did in one region."""

    region: str
    path: str
    examined: int
    found: int
    restored: int = 0
    reports: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    fallback_reason: Optional[str] = None

    def summary(self) -> dict[str, Any]:
        """Return the per-region figures the CLI and the action report."""
        return {
            "region": self.region,
            "path": self.path,
            "examined": self.examined,
            "found": self.found,
            "restored": self.restored,
            "failed": len(self.errors),
            **({"fallback_reason": self.fallback_reason} if self.fallback_reason else {}),
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


def restore(
    region: str,
    names: list[str],
    configuration: Optional[Configuration],
    secrets: Optional[Secrets],
) -> tuple[list[dict[str, Any]], list[str]]:
    """Run ``remove_faults`` on ``names`` of ``region``, a few at a time; return reports, errors."""
    reports: list[dict[str, Any]] = []
    errors: list[str] = []

    def one(name: str) -> Optional[dict[str, Any]]:
        try:
            return faults.remove(name, region, None, configuration, secrets)
        except ActivityFailed as error:
            logger.error(f"function {name!r} in {region}: not restored: {error}")
            errors.append(f"{name}: {error}")
            return None

    with ThreadPoolExecutor(max_workers=_workers(configuration)) as pool:
        for report in pool.map(one, names):
            if report is not None:
                reports.append(report)
    return reports, errors


def stop_region(
    region: str, configuration: Optional[Configuration], secrets: Optional[Secrets]
) -> RegionStop:
    """Find and restore every function carrying a fault record in ``region``."""
    found = tag_search.find_recorded(region, configuration, secrets)
    if found.fallback_reason:
        logger.warning(
            f"{region}: the tagging API is denied ({found.fallback_reason}); fell back to "
            "ListFunctions + ListTags on every function: grant tag:GetResources for a fast stop"
        )
    names = sorted(f.name for f in found.functions)
    logger.info(
        f"{region}: {len(names)} function(s) with a fault record among {found.examined} "
        f"examined ({found.path})"
    )
    result = RegionStop(
        region, found.path, found.examined, len(names), fallback_reason=found.fallback_reason
    )
    result.reports, result.errors = restore(region, names, configuration, secrets)
    result.restored = sum(1 for r in result.reports if r.get("removed"))
    return result


def stop(
    regions: Optional[list[str]],
    configuration: Optional[Configuration],
    secrets: Optional[Secrets],
) -> list[RegionStop]:
    """Run ``stop_region`` on every region at once; raise after all ran if any function failed."""
    chosen = regions or configured_regions(configuration)
    with ThreadPoolExecutor(max_workers=len(chosen)) as pool:
        futures = [pool.submit(stop_region, r, configuration, secrets) for r in chosen]
        results: list[RegionStop] = []
        failures: list[str] = []
        for region, future in zip(chosen, futures, strict=True):
            try:
                results.append(future.result())
            except ActivityFailed as error:
                failures.append(f"{region}: {error}")
    errors = failures + [f"{r.region} {e}" for r in results for e in r.errors]
    if errors:
        done = ", ".join(f"{r.region} {r.restored}/{r.found}" for r in results)
        raise ActivityFailed(
            f"the emergency stop could not restore everything ({done or 'no region done'}); "
            f"failed: {'; '.join(errors)}. Fix what the errors name and run it again: it is "
            "idempotent"
        )
    return results
