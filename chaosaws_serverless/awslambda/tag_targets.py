"""Lambda faults on the functions chosen by their tags: selection, ceiling, all-or-nothing.

A tag target names functions the way AWS FIS does (``resourceTags`` +
``selectionMode``): every function of the region carrying ALL the given tags
(exact values) is a candidate, and the selection takes ``ALL``, ``COUNT(n)``
or ``PERCENT(p)`` of them at random (PERCENT rounds down, at least one).

Rules, in the order they run (everything before step 5 changes nothing):

1. arguments are validated (tags, selection, selection id, the fault, the layer);
2. candidates are found (``tag_search``: tagging API, else listing); none is a
   refusal;
3. the number selected is compared with the ceiling of the configuration
   (``lambda_max_functions_per_action``, default ``tag_selection.DEFAULT_CEILING``): more is
   a refusal naming both numbers, so a typo in a tag cannot fault an account;
4. the selection id (``selection_id``, default derived from region + tags) must
   not be in use by another run: a function carrying a record of this id
   injected by another run is a refusal (so a rollback by id only ever
   restores this run's functions); a re-run re-injects the functions its id
   already holds, so they count against the selection and the ceiling (more
   held than either allows is a refusal); then every selected function goes through
   every check of a single injection (``faults.inject(dry_run=True)``), and
   ANY refusal refuses the whole action, each refused function named;
5. the fault is injected into each selected function, its record carrying the
   selection id; if AWS fails one now, the ones already changed are rolled back
   before the error is raised (all-or-nothing).

The rollback, ``remove_by_tags``, needs no memory of the run: it restores
exactly the functions whose record carries the selection id, re-reading each
candidate's tags fresh rather than trusting the tagging index, and leaves
every other record (another experiment's) alone.
"""

import random
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Optional, TypeVar

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets
from logzero import logger

from chaosaws_serverless.aws import resolve_region
from chaosaws_serverless.awslambda import engine, faults, tag_search
from chaosaws_serverless.awslambda.engine.record import (
    RECORD_TAG_PREFIX,
    FaultRecord,
    RecordError,
    decode,
)
from chaosaws_serverless.awslambda.tag_selection import (
    CEILING_KEY,
    ceiling,
    selection_count,
    selection_id,
    validate_tags,
)

# Concurrent checks/injections per action: inside Lambda's control-plane quota.
WORKERS = 4
T = TypeVar("T")


def _record_of(function: tag_search.TaggedFunction) -> Optional[FaultRecord]:
    try:
        return decode(function.tags)
    except RecordError as error:
        logger.warning(f"function {function.name!r}: damaged fault record ignored here: {error}")
        return None


def _pool_map(work: Callable[[str], T], names: list[str]) -> list[tuple[str, Any]]:
    """Run ``work`` on every name, a few at a time; return (name, result or ActivityFailed)."""

    def one(name: str) -> tuple[str, Any]:
        try:
            return name, work(name)
        except ActivityFailed as error:
            return name, error

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return list(pool.map(one, names))


@dataclass(frozen=True)
class TagTarget:
    """A tag target's arguments, validated before any AWS call."""

    tags: dict[str, str]
    region: str
    selection_id: str
    configuration: Optional[Configuration]
    secrets: Optional[Secrets]

    @property
    def where(self) -> str:
        return f"functions tagged {_describe(self.tags)} in {self.region}"

    def find(self) -> tag_search.Found:
        """Return the region's functions carrying every tag (tagging API, else listing)."""
        filters = {key: [value] for key, value in self.tags.items()}
        return tag_search.find_functions(self.region, filters, self.configuration, self.secrets)

    def recorded(self) -> list[tag_search.TaggedFunction]:
        """Return the region's functions carrying a fault record, as the tagging index has them."""
        return tag_search.find_recorded(self.region, self.configuration, self.secrets).functions


def tag_target(
    tags: Any,
    region: Optional[str],
    given_selection_id: Any,
    configuration: Optional[Configuration],
    secrets: Optional[Secrets],
) -> TagTarget:
    """Validate the tags, the region and the selection id (default: derived from both)."""
    checked = validate_tags(tags)
    region_name = resolve_region(region, configuration)
    sel_id = selection_id(given_selection_id, region_name, checked)
    return TagTarget(checked, region_name, sel_id, configuration, secrets)


def inject_by_tags(
    tags: Any,
    fault: engine.Fault,
    selection: Any,
    region: Optional[str],
    layer_arn: Optional[str],
    given_selection_id: Any,
    configuration: Optional[Configuration],
    secrets: Optional[Secrets],
) -> dict[str, Any]:
    """Inject ``fault`` into the functions ``tags`` + ``selection`` choose, all or none.

    The phases are the rules of the module's docstring, in order: validate,
    find the candidates (ceiling), claim the selection id, pick, check every
    pick, apply to every pick or to none.
    """
    target = tag_target(tags, region, given_selection_id, configuration, secrets)
    limit = ceiling(configuration)
    selection_count(selection, 1)  # the syntax, before any AWS call
    arn = faults.resolve_layer_arn(layer_arn, target.region, configuration)
    found = target.find()
    candidates = sorted(f.name for f in found.functions)
    count = _within_ceiling(target, found, selection, limit)
    ours = _claim(target)
    _held_within(target, ours, selection, count, limit)
    rest = [n for n in candidates if n not in ours]
    picked = sorted(set(ours) | set(random.SystemRandom().sample(rest, max(0, count - len(ours)))))

    def inject(name: str, dry_run: bool = False) -> Any:
        return faults.inject(
            name,
            fault,
            target.region,
            None,
            arn,
            configuration,
            secrets,
            selection=target.selection_id,
            dry_run=dry_run,
        )

    _check_all(target, picked, lambda name: inject(name, dry_run=True))
    _apply_all(target, picked, inject)
    logger.info(
        f"{target.where}: {fault.kind} fault on {len(picked)} of {len(candidates)} ({selection})"
    )
    return {
        "selection_id": target.selection_id,
        "region": target.region,
        "tags": target.tags,
        "selection": str(selection),
        "matched": len(candidates),
        "functions": picked,
        "fault": fault.kind,
        **{k: v for k, v in fault.params.items() if k != "kind"},
        "layer_arn": arn,
        "found_by": found.path,
    }


def _within_ceiling(target: TagTarget, found: tag_search.Found, selection: Any, limit: int) -> int:
    """Return how many candidates the selection takes; none, or more than ``limit``, refuse."""
    if not found.functions:
        raise ActivityFailed(
            f"no function carries tags {_describe(target.tags)} in {target.region} "
            f"({found.examined} examined, {found.path}): check the tags and the region "
            "(nothing was changed)"
        )
    count = selection_count(selection, len(found.functions))
    if count > limit:
        raise ActivityFailed(
            f"selection {selection} of the {len(found.functions)} {target.where} is {count} "
            f"functions, more than the ceiling of {limit} per action (configuration "
            f"{CEILING_KEY!r}): narrow the tags or the selection, or raise the ceiling (nothing "
            "was changed)"
        )
    return count


def _held_within(
    target: TagTarget, ours: list[str], selection: Any, count: int, limit: int
) -> None:
    """Refuse a re-run whose selection already holds more functions than it asks for now.

    A re-run re-injects every function its selection id already holds, so
    those count against the selection and the ceiling like any other pick.
    """
    if len(ours) <= min(count, limit):
        return
    held = ", ".join(sorted(ours))
    bound = (
        f"the ceiling of {limit} per action (configuration {CEILING_KEY!r})"
        if len(ours) > limit
        else f"the {count} that selection {selection} takes"
    )
    raise ActivityFailed(
        f"selection id {target.selection_id!r} already holds {len(ours)} {target.where} "
        f"({held}), more than {bound}: roll that selection back first (remove_faults_by_tags "
        "with its selection_id) or ask for at least as many (nothing was changed)"
    )


def _claim(target: TagTarget) -> list[str]:
    """Return the functions this run already faulted under the selection id; refuse another run's.

    A re-run replaces its own faults in place; another run's under the same id
    is refused, so a rollback by id only ever restores one run's functions.
    """
    me = faults.injector()
    ours: list[str] = []
    theirs: list[str] = []
    for function in target.recorded():
        record = _record_of(function)
        if record is None or record.selection != target.selection_id:
            continue
        if record.by == me:
            ours.append(function.name)
        else:
            theirs.append(f"{function.name} (by {record.by} at {record.at})")
    if theirs:
        raise ActivityFailed(
            f"selection id {target.selection_id!r} is in use by another run on "
            f"{', '.join(sorted(theirs))}: pass a distinct selection_id, or roll that selection "
            "back first (remove_faults_by_tags with its selection_id); nothing was changed"
        )
    return ours


def _check_all(target: TagTarget, picked: list[str], check: Callable[[str], Any]) -> None:
    """Run every check of an injection on every pick; any refusal refuses them all."""
    refused = [(n, r) for n, r in _pool_map(check, picked) if isinstance(r, ActivityFailed)]
    if refused:
        raise ActivityFailed(
            f"{len(refused)} of the {len(picked)} selected {target.where} cannot take the fault, "
            "so none was changed (a tag target is all-or-nothing): "
            + "; ".join(f"{name}: {error}" for name, error in refused)
        )


def _apply_all(target: TagTarget, picked: list[str], inject: Callable[[str], Any]) -> None:
    """Inject into every pick; if AWS fails one, restore those already changed, then raise."""
    results = _pool_map(inject, picked)
    failed = [(n, r) for n, r in results if isinstance(r, ActivityFailed)]
    if not failed:
        return
    done = [n for n, r in results if not isinstance(r, ActivityFailed)]
    logger.error(f"{target.where}: {len(failed)} injection(s) failed; undoing the {len(done)} done")
    undo = _pool_map(
        lambda n: faults.remove(n, target.region, None, target.configuration, target.secrets),
        done,
    )
    stuck = [n for n, r in undo if isinstance(r, ActivityFailed)]
    raise ActivityFailed(
        f"AWS failed the fault on {len(failed)} of the {len(picked)} selected {target.where}; "
        f"the {len(done) - len(stuck)} already changed were restored"
        + (f" except {', '.join(stuck)} (run remove_faults_by_tags)" if stuck else "")
        + ": "
        + "; ".join(f"{name}: {error}" for name, error in failed)
    )


def remove_by_tags(
    tags: Any,
    region: Optional[str],
    given_selection_id: Any,
    configuration: Optional[Configuration],
    secrets: Optional[Secrets],
) -> dict[str, Any]:
    """Restore exactly the functions whose record carries the selection's id."""
    target = tag_target(tags, region, given_selection_id, configuration, secrets)
    tagged = target.find()
    candidates: dict[str, tag_search.TaggedFunction] = {}
    for function in [*tagged.functions, *target.recorded()]:
        candidates[function.name] = function
    # A candidate whose indexed tags show another selection's record is not
    # ours (faults never stack); every other one is read fresh.
    to_read = []
    for name, function in sorted(candidates.items()):
        has_record = any(k.startswith(RECORD_TAG_PREFIX) for k in function.tags)
        record = _record_of(function) if has_record else None
        if record is not None and record.selection != target.selection_id:
            continue
        to_read.append(name)

    def restore(name: str) -> Optional[dict[str, Any]]:
        # The record as the single-function actions read it (fresh, from AWS).
        fresh = faults.read_function(name, target.region, None, configuration, secrets)
        if fresh.state.record is None or fresh.state.record.selection != target.selection_id:
            return None
        return faults.remove(name, target.region, None, configuration, secrets)

    results = _pool_map(restore, to_read)
    failed = [(n, r) for n, r in results if isinstance(r, ActivityFailed)]
    restored = [r for _, r in results if isinstance(r, dict) and r.get("removed")]
    where = f"selection {target.selection_id!r} in {target.region}"
    if failed:
        raise ActivityFailed(
            f"{where}: {len(restored)} function(s) restored, {len(failed)} failed, run it again "
            "once fixed (it is idempotent): "
            + "; ".join(f"{name}: {error}" for name, error in failed)
        )
    logger.info(f"{where}: {len(restored)} function(s) restored")
    return {
        "selection_id": target.selection_id,
        "region": target.region,
        "tags": target.tags,
        "examined": len(to_read),
        "restored": sorted(r["function_name"] for r in restored),
        "functions": restored,
        "found_by": tagged.path,
    }


def _describe(tags: Mapping[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(tags.items()))
