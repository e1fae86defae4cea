"""Injecting a fault into a Lambda function (or its alias), in phases that make a crash recoverable.

1. **check** (:func:`check`): read the function, its tags and record, the chaos
   layer and the alias, and run every refusal: nothing has changed yet. The
   answer is a :class:`Checked`, all that planning needs.
2. **apply** (:func:`apply`): plan the faulty configuration and its record
   (``merge``, ``record``), write the record tags, then update the
   configuration with its RevisionId; on a conflict the function is read
   again, a concurrent injection absorbed, and the plan recomputed. The record
   always reaches AWS before the change it describes.
3. **publish** (:func:`point_alias_at_faulty_version`, with an alias only):
   publish the faulty version, note it in the record, merge the fault out of
   $LATEST, point the alias at the faulty version.

A failure after the record was written rolls back (``rollback.remove``), then
re-raises.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Optional, Union

from chaosaws_serverless.awslambda.engine.arguments import (
    LATEST,
    Fault,
    FunctionRef,
    Stamp,
    attached_chaos_layer,
    check_layer_arn,
)
from chaosaws_serverless.awslambda.engine.calls import call, get_function, update_configuration
from chaosaws_serverless.awslambda.engine.errors import FaultError
from chaosaws_serverless.awslambda.engine.function import (
    FunctionState,
    environment_of,
    layer_architectures,
    layers_of,
    read_function,
    read_tags,
    unqualified_arn,
    write_record,
)
from chaosaws_serverless.awslambda.engine.merge import (
    Injection,
    PlanError,
    absorb_concurrent,
    plan_injection,
)
from chaosaws_serverless.awslambda.engine.preflight import (
    architecture_refusal,
    conflict_refusal,
    runtime_refusal,
)
from chaosaws_serverless.awslambda.engine.record import (
    MAX_DIGESTS,
    EnvEntry,
    FaultRecord,
    RecordError,
    check_tag_budget,
    encode,
    record_keys,
)
from chaosaws_serverless.awslambda.engine.rollback import (
    Log,
    merge_out_of_latest,
    print_log,
    remove,
)

# Fields that make two versions behave the same (the alias flow publishes from $LATEST).
SAME_BEHAVIOUR = ("CodeSha256", "Handler", "Runtime", "MemorySize", "Timeout", "Architectures")
LayerChoice = Union[str, Callable[[str], str]]


@dataclass(frozen=True)
class Checked:
    """An injection past every refusal on the function as first read: all that planning needs."""

    ref: FunctionRef
    fault: Fault
    stamp: Stamp
    layer_arn: str  # the chaos layer version to attach (one already attached wins)
    state: FunctionState  # the function as first read
    alias_state: Optional[dict[str, Any]] = None  # GetAlias's answer, with an alias

    def plan(self, config: Mapping[str, Any], reread: bool) -> tuple[Injection, FaultRecord]:
        """Plan the injection on ``config`` and the record describing it (refusals raise).

        ``reread``: ``config`` was read again after a conflict, so a concurrent
        injection is absorbed: the record keeps the original values of the
        first read and the digests of what the other injection wrote.
        """
        environment, layers = environment_of(config), layers_of(config)
        first = self.state.configuration
        contract = self.fault.contract
        absorbed = None
        if reread:
            absorbed = absorb_concurrent(
                environment_of(first),
                layers_of(first),
                environment,
                layers,
                contract.variables,
                self.layer_arn,
            )
            environment, layers = absorbed.environment, absorbed.layers
        previous = self.state.record
        plan = plan_injection(
            environment, layers, self.fault.environment, self.layer_arn, contract, previous
        )
        if absorbed is not None:
            for variable, digests in absorbed.digests.items():
                entry = plan.env_entries.setdefault(
                    variable, EnvEntry(was=environment.get(variable), set=[])
                )
                entry.set = list(dict.fromkeys(entry.set + digests))[:MAX_DIGESTS]
            plan.appended_layers = list(dict.fromkeys(plan.appended_layers + absorbed.layers_added))
        alias = self.ref.alias
        alias_version = str(self.alias_state["FunctionVersion"]) if self.alias_state else None
        record = FaultRecord(
            contract=contract.name,
            by=self.stamp.by,
            at=self.stamp.at,
            fault=dict(self.fault.params),
            alias=(
                {"name": alias, "version": alias_version, "faulty_version": None}
                if alias and alias_version is not None
                else None
            ),
            layers=plan.appended_layers,
            env=plan.env_entries,
            selection=self.stamp.selection,
            switch=self.stamp.switch,
        )
        return plan, record


def inject(
    lam: Any,
    ref: FunctionRef,
    fault: Fault,
    layer_arn: LayerChoice,
    stamp: Stamp,
    *,
    dry_run: bool = False,
    architectures: Callable[[Any, str], list[str]] = layer_architectures,
    log: Log = print_log,
    before_change: Optional[Callable[[], None]] = None,
) -> dict[str, Any]:
    """Inject ``fault`` into the function (or ``ref.alias``); return what was done.

    ``layer_arn`` is the chaos layer, or a function of the function's
    architecture that returns it (a version of it already attached is used
    instead). ``dry_run``: read and run every check, change nothing.
    ``architectures``: how a layer's CompatibleArchitectures are read.
    ``before_change``: called once every check passed, before the first
    change (the activities arm the dead man's switch there; what it raises
    refuses the injection with nothing changed).
    """
    checked = check(lam, ref, fault, layer_arn, stamp, architectures, log)
    if before_change is not None and not dry_run:
        before_change()
    lambda_name = str(checked.state.configuration["FunctionName"])  # a name, even for an ARN
    written: dict[str, str] = {}
    try:
        record, updated = apply(lam, checked, written, dry_run)
        if dry_run:
            return {"function_name": lambda_name, "region": ref.region, "checked": True}
        published = {}
        if ref.alias:
            published = point_alias_at_faulty_version(lam, checked, record, updated)
    except Exception:
        if written:
            log("error", f"{ref.resource}: injection failed; rolling back what it changed")
            try:
                remove(lam, ref, log=log)
            except Exception as cleanup:  # the original error matters more
                log("error", f"{ref.resource}: rollback after the failed injection: {cleanup}")
        raise
    log("info", f"{ref.resource}: {fault.kind} fault injected on {ref.target} ({fault.params})")
    return {
        "function_name": lambda_name,
        "region": ref.region,
        "alias": ref.alias,
        "fault": fault.kind,
        **{k: v for k, v in fault.params.items() if k != "kind"},
        "layer_arn": checked.layer_arn,
        "variables_set": sorted(fault.environment),
        "replaced_previous_fault": checked.state.record is not None,
        "since": stamp.at,
        **published,
    }


def check(
    lam: Any,
    ref: FunctionRef,
    fault: Fault,
    layer_arn: LayerChoice,
    stamp: Stamp,
    architectures: Callable[[Any, str], list[str]],
    log: Log,
) -> Checked:
    """Read the function and run every refusal of the injection; nothing changes here."""
    state = read_function(lam, ref)
    latest, previous = state.configuration, state.record
    refusal = runtime_refusal(latest, ref.resource)
    if refusal:
        raise FaultError(refusal)
    architecture = (latest.get("Architectures") or ["x86_64"])[0]
    wanted = layer_arn(architecture) if callable(layer_arn) else layer_arn
    arn = attached_chaos_layer(layers_of(latest), check_layer_arn(wanted, ref.region))
    if arn != wanted:
        log("info", f"{ref.resource}: the chaos layer is already attached as {arn}; using it")
    # In place only for the run that injected it: another experiment's fault is
    # theirs to roll back, and replacing it would hide that a run is in progress.
    refusal = conflict_refusal(previous, ref.target, stamp.by, ref.resource)
    if refusal:
        raise FaultError(refusal)
    refusal = architecture_refusal(arn, architectures(lam, arn), latest)
    if refusal:
        raise FaultError(refusal)
    alias_state: Optional[dict[str, Any]] = None
    if ref.alias:
        alias_state = call(
            lam,
            "get_alias",
            "lambda:GetAlias",
            ref.alias_resource,
            FunctionName=ref.name,
            Name=ref.alias,
        )
        check_alias_matches_latest(lam, ref, str(alias_state["FunctionVersion"]), latest)
    if previous is not None:
        log(
            "info",
            f"{ref.resource}: replacing the {previous.fault.get('kind')} fault injected by "
            f"{previous.by} at {previous.at} in place (faults never stack)",
        )
    return Checked(ref, fault, stamp, arn, state, alias_state)


def check_alias_matches_latest(
    lam: Any, ref: FunctionRef, version: str, latest: Mapping[str, Any]
) -> None:
    """Refuse when publishing from $LATEST would change what the alias serves besides the fault."""
    if version == LATEST:
        return
    pinned = get_function(lam, ref, qualifier=version)["Configuration"]
    different = [f for f in SAME_BEHAVIOUR if pinned.get(f) != latest.get(f)]
    if layers_of(pinned) != layers_of(latest):
        different.append("Layers")
    if environment_of(pinned) != environment_of(latest):
        different.append("Environment")  # names only: values may be secrets
    if different:
        raise FaultError(
            f"alias {ref.alias!r} of {ref.resource} points at version {version}, which differs "
            f"from $LATEST in {', '.join(different)}; the faulty version is published from "
            "$LATEST, so it would change more than the fault. Publish $LATEST to the alias "
            "first, or inject without alias (nothing was changed)"
        )


def apply(
    lam: Any, checked: Checked, written: dict[str, str], dry_run: bool = False
) -> tuple[FaultRecord, Optional[dict[str, Any]]]:
    """Write the record, then the faulty configuration; return the record and the update.

    ``written`` receives the record's tags once they are in AWS (the caller
    rolls back on a later failure when it is not empty). ``dry_run``: plan and
    check the tag budget, write nothing.
    """
    ref = checked.ref
    planned: list[FaultRecord] = []

    def compute(fresh: Any) -> Optional[dict[str, Any]]:
        config = fresh["Configuration"]
        reread = fresh is not checked.state.function
        current_tags = read_tags(lam, config, ref.resource) if reread else checked.state.tags
        try:
            plan, record = checked.plan(config, reread)
            record_tags = encode(record)
            check_tag_budget(current_tags, record_tags)
        except (PlanError, RecordError) as error:
            raise FaultError(f"cannot inject into {ref.resource}: {error}") from error
        planned[:] = [record]
        if dry_run:
            return None
        if {key: current_tags[key] for key in record_keys(current_tags)} != record_tags:
            # Written again when a concurrent injection overwrote it.
            write_record(lam, unqualified_arn(config), ref.resource, record_tags)
            written.clear()
            written.update(record_tags)
        if plan.environment == environment_of(config) and plan.layers == layers_of(config):
            return None
        return {"Layers": plan.layers, "Environment": {"Variables": plan.environment}}

    _, updated = update_configuration(lam, ref, compute, initial=checked.state.function)
    return planned[0], updated


def point_alias_at_faulty_version(
    lam: Any, checked: Checked, record: FaultRecord, updated: Optional[Mapping[str, Any]]
) -> dict[str, Any]:
    """Publish the faulty version, note it, merge the fault out of $LATEST, point the alias."""
    ref, alias_state = checked.ref, checked.alias_state
    assert alias_state is not None and record.alias is not None
    kind = record.fault.get("kind")
    params: dict[str, Any] = {
        "FunctionName": ref.name,
        "Description": f"chaosaws-serverless {kind} fault for alias {ref.alias}",
    }
    revision = (updated or {}).get("RevisionId")
    if revision:
        params["RevisionId"] = revision
    published = call(lam, "publish_version", "lambda:PublishVersion", ref.resource, **params)
    faulty = str(published["Version"])
    record.alias["faulty_version"] = faulty
    fresh = get_function(lam, ref)
    write_record(lam, unqualified_arn(checked.state.configuration), ref.resource, encode(record))
    merge_out_of_latest(lam, ref, record, fresh)
    update: dict[str, Any] = {
        "FunctionName": ref.name,
        "Name": ref.alias,
        "FunctionVersion": faulty,
    }
    if alias_state.get("RevisionId"):
        update["RevisionId"] = alias_state["RevisionId"]
    call(lam, "update_alias", "lambda:UpdateAlias", ref.alias_resource, **update)
    return {"faulty_version": faulty, "original_version": str(alias_state["FunctionVersion"])}
