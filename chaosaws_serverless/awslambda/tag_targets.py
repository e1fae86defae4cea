"""Lambda faults on the functions chosen by their tags: selection, ceiling, all-or-nothing.

What is applied to each function is a :class:`Kind`: the chaos extension's
faults (``faults.inject`` / ``faults.remove``, their record) or a throttle
(``awslambda.throttle``, its own record); the rules below are the same for both.
The arguments are validated by ``tag_selection``.

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
    FIRST_RECORD_KEY,
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
class Claim:
    """A record's mark as the tagging index shows it: its selection id, who and when."""

    selection: Optional[str]
    by: str
    at: str


@dataclass(frozen=True)
class Kind:
    """What a tag target does to each function: its record and its single-function actions.

    ``record_key``: the record's first tag key (how the tagging API finds it);
    ``claim``: the record's mark read from indexed tags (None: none, or not readable);
    ``remove(name)``: the single-function rollback (the injection is
    ``apply_by_tags``' argument, so a rollback never holds one);
    ``fresh_selection(name)``: the selection id of the record read fresh from AWS.
    """

    record_key: str
    claim: Callable[[tag_search.TaggedFunction], Optional[Claim]]
    remove: Callable[[str], Any]
    fresh_selection: Callable[[str], Optional[str]]


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

    def recorded(self, key: str) -> list[tag_search.TaggedFunction]:
        """Return the functions carrying the record ``key``, as the tagging index has them."""
        found = tag_search.find_functions(
            self.region, {key: None}, self.configuration, self.secrets
        )
        return found.functions


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


def _fault_claim(function: tag_search.TaggedFunction) -> Optional[Claim]:
    record = _record_of(function)
    return Claim(record.selection, record.by, record.at) if record else None


def fault_claims() -> Kind:
    """Return the chaos extension's faults as a kind that only reads claims (the doctor's)."""

    def read_only(name: str) -> Any:
        raise ActivityFailed(f"{name}: the doctor's tag target changes nothing")

    return Kind(FIRST_RECORD_KEY, _fault_claim, read_only, read_only)


def _fault_kind(target: TagTarget) -> Kind:
    """Return the chaos extension's faults as a kind."""

    def remove(name: str) -> Any:
        return faults.remove(name, target.region, None, target.configuration, target.secrets)

    def fresh_selection(name: str) -> Optional[str]:
        # The record as the single-function actions read it (fresh, from AWS).
        fresh = faults.read_function(
            name, target.region, None, target.configuration, target.secrets
        )
        return fresh.state.record.selection if fresh.state.record else None

    return Kind(FIRST_RECORD_KEY, _fault_claim, remove, fresh_selection)


def inject_by_tags(
    tags: Any,
    fault: engine.Fault,
    selection: Any,
    region: Optional[str],
    layer_arn: Optional[str],
    given_selection_id: Any,
    configuration: Optional[Configuration],
    secrets: Optional[Secrets],
    *,
    deadline_seconds: Any = None,
) -> dict[str, Any]:
    """Inject ``fault`` into the functions ``tags`` + ``selection`` choose, all or none."""
    target = tag_target(tags, region, given_selection_id, configuration, secrets)
    selection_count(selection, 1)  # the syntax, before any AWS call
    arn = faults.resolve_layer_arn(layer_arn, target.region, configuration)

    def inject(name: str, dry_run: bool) -> Any:
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
            deadline_seconds=deadline_seconds,
        )

    applied = apply_by_tags(target, selection, _fault_kind(target), inject)
    logger.info(
        f"{target.where}: {fault.kind} fault on {len(applied['functions'])} of "
        f"{applied['matched']} ({selection})"
    )
    return {
        **applied,
        "fault": fault.kind,
        **{k: v for k, v in fault.params.items() if k != "kind"},
        "layer_arn": arn,
    }


def apply_by_tags(
    target: TagTarget, selection: Any, kind: Kind, inject: Callable[[str, bool], Any]
) -> dict[str, Any]:
    """Apply ``kind`` to the functions the target and ``selection`` choose, all or none.

    The phases are the rules of the module's docstring, in order: the ceiling,
    the candidates, the selection id claimed, the pick, every pick checked,
    every pick changed or none. Returns ``selection_id``, ``region``, ``tags``,
    ``selection``, ``matched`` (candidates), ``functions`` (picked), ``found_by``.
    """
    found, candidates, count, ours = select_by_tags(target, selection, kind)
    rest = [n for n in candidates if n not in ours]
    picked = sorted(set(ours) | set(random.SystemRandom().sample(rest, max(0, count - len(ours)))))
    _check_all(target, picked, lambda name: inject(name, True))
    _apply_all(target, picked, lambda name: inject(name, False), kind.remove)
    return {
        "selection_id": target.selection_id,
        "region": target.region,
        "tags": target.tags,
        "selection": str(selection),
        "matched": len(candidates),
        "functions": picked,
        "found_by": found.path,
    }


def select_by_tags(
    target: TagTarget, selection: Any, kind: Kind
) -> tuple[tag_search.Found, list[str], int, list[str]]:
    """Return the search, the candidates, how many the selection takes and those already held.

    Rules 2-4 (the candidates, the ceiling, the selection id): reads only; the doctor's too.
    """
    limit = ceiling(target.configuration)
    selection_count(selection, 1)
    found = target.find()
    candidates = sorted(f.name for f in found.functions)
    count = _within_ceiling(target, found, selection, limit)
    ours = _claim(target, kind)
    _held_within(target, ours, selection, count, limit)
    return found, candidates, count, ours


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
        f"({held}), more than {bound}: roll that selection back first (its *_by_tags rollback "
        "with its selection_id) or ask for at least as many (nothing was changed)"
    )


def _claim(target: TagTarget, kind: Kind) -> list[str]:
    """Return the functions this run already changed under the selection id; refuse another run's.

    A re-run replaces its own changes in place; another run's under the same id
    is refused, so a rollback by id only ever restores one run's functions.
    """
    me = faults.injector()
    ours: list[str] = []
    theirs: list[str] = []
    for function in target.recorded(kind.record_key):
        claim = kind.claim(function)
        if claim is None or claim.selection != target.selection_id:
            continue
        if claim.by == me:
            ours.append(function.name)
        else:
            theirs.append(f"{function.name} (by {claim.by} at {claim.at})")
    if theirs:
        raise ActivityFailed(
            f"selection id {target.selection_id!r} is in use by another run on "
            f"{', '.join(sorted(theirs))}: pass a distinct selection_id, or roll that selection "
            "back first (its *_by_tags rollback with its selection_id); nothing was changed"
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


def _apply_all(
    target: TagTarget,
    picked: list[str],
    inject: Callable[[str], Any],
    remove: Callable[[str], Any],
) -> None:
    """Inject into every pick; if AWS fails one, restore those already changed, then raise."""
    results = _pool_map(inject, picked)
    failed = [(n, r) for n, r in results if isinstance(r, ActivityFailed)]
    if not failed:
        return
    done = [n for n, r in results if not isinstance(r, ActivityFailed)]
    logger.error(f"{target.where}: {len(failed)} injection(s) failed; undoing the {len(done)} done")
    undo = _pool_map(remove, done)
    stuck = [n for n, r in undo if isinstance(r, ActivityFailed)]
    raise ActivityFailed(
        f"AWS failed the fault on {len(failed)} of the {len(picked)} selected {target.where}; "
        f"the {len(done) - len(stuck)} already changed were restored"
        + (f" except {', '.join(stuck)} (run the *_by_tags rollback)" if stuck else "")
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
    """Restore exactly the functions whose fault record carries the selection's id."""
    target = tag_target(tags, region, given_selection_id, configuration, secrets)
    return restore_by_tags(target, _fault_kind(target))


def restore_by_tags(target: TagTarget, kind: Kind) -> dict[str, Any]:
    """Restore exactly the functions whose ``kind`` record carries the target's selection id."""
    tagged = target.find()
    candidates: dict[str, tag_search.TaggedFunction] = {}
    for function in [*tagged.functions, *target.recorded(kind.record_key)]:
        candidates[function.name] = function
    # A candidate whose indexed tags show another selection's record is not
    # ours (records never stack); every other one is read fresh.
    to_read = []
    for name, function in sorted(candidates.items()):
        claim = kind.claim(function)
        if claim is not None and claim.selection != target.selection_id:
            continue
        to_read.append(name)

    def restore(name: str) -> Optional[dict[str, Any]]:
        if kind.fresh_selection(name) != target.selection_id:
            return None
        result: dict[str, Any] = kind.remove(name)
        return result

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
