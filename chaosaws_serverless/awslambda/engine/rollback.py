"""Removing a recorded fault: merged out of $LATEST, the alias put back, the record last.

Order (what makes a crash at any point recoverable): merge the record's
changes out of $LATEST (what someone else changed meanwhile is kept); with an
alias, point it back at its recorded version if it still serves the faulty
one and delete the faulty version; remove the record tags last, so a crash
mid-rollback leaves a record to run the rollback again. Without a record it
is a logged no-op.
"""

from collections.abc import Callable
from typing import Any, Optional

from chaosaws_serverless.awslambda.engine.arguments import FunctionRef
from chaosaws_serverless.awslambda.engine.calls import NOT_FOUND, call, update_configuration
from chaosaws_serverless.awslambda.engine.errors import CallFailed
from chaosaws_serverless.awslambda.engine.function import (
    contract_of,
    environment_of,
    layers_of,
    read_function,
    unqualified_arn,
)
from chaosaws_serverless.awslambda.engine.merge import revert
from chaosaws_serverless.awslambda.engine.record import FaultRecord, record_keys

Log = Callable[[str, str], None]


def print_log(level: str, message: str) -> None:
    print(f"{level}: {message}")


def merge_out_of_latest(
    lam: Any, ref: FunctionRef, record: FaultRecord, initial: Any
) -> dict[str, list[str]]:
    """Three-way merge the record's changes out of $LATEST; return what it took."""
    report: dict[str, list[str]] = {}

    def compute(fresh: Any) -> Optional[dict[str, Any]]:
        config = fresh["Configuration"]
        reverted = revert(environment_of(config), layers_of(config), record)
        report.update(
            removed_layers=reverted.removed_layers,
            restored_variables=reverted.restored_variables,
            removed_variables=reverted.removed_variables,
            kept_variables=reverted.kept_variables,
        )
        if not reverted.changed:
            return None
        return {"Layers": reverted.layers, "Environment": {"Variables": reverted.environment}}

    update_configuration(lam, ref, compute, initial=initial)
    return report


def remove(lam: Any, ref: FunctionRef, *, log: Log = print_log) -> dict[str, Any]:
    """Roll back the fault recorded on a function; a logged no-op when there is none."""
    state = read_function(lam, ref)
    latest, record, resource = state.configuration, state.record, ref.resource
    base: dict[str, Any] = {
        "function_name": latest["FunctionName"],
        "region": ref.region,
        "alias": ref.alias,
        "removed": False,
    }
    if record is None:
        if contract_of(None).read(environment_of(latest)).active:
            log(
                "warning",
                f"{resource} has chaos extension variables switched on but no fault record of "
                "chaosaws-serverless: not injected by this package, left as it is",
            )
        log("info", f"{resource}: no fault recorded, nothing to remove")
        return base
    if ref.target != record.target:
        log(
            "warning",
            f"{resource}: the recorded fault is on {record.target}, not on {ref.target}; "
            "removing it anyway (a rollback never leaves a fault behind)",
        )
    report = merge_out_of_latest(lam, ref, record, state.function)
    alias_report = restore_alias(lam, ref, record, log) if record.alias else {}
    call(
        lam,
        "untag_resource",
        "lambda:UntagResource",
        resource,
        Resource=unqualified_arn(latest),
        TagKeys=record_keys(state.tags),
    )
    if report.get("kept_variables"):
        log(
            "info",
            f"{resource}: kept {', '.join(report['kept_variables'])}: changed by someone else "
            "during the fault",
        )
    log("info", f"{resource}: {record.fault.get('kind')} fault on {record.target} removed")
    return {
        **base,
        "removed": True,
        "target": record.target,
        "fault": record.fault.get("kind"),
        "injected_by": record.by,
        "injected_at": record.at,
        "switch": record.switch,
        **report,
        **alias_report,
    }


def restore_alias(
    lam: Any, ref: FunctionRef, record: FaultRecord, log: Log = print_log
) -> dict[str, Any]:
    """Point the recorded alias back at its version if it still serves the faulty one."""
    assert record.alias is not None
    alias = str(record.alias["name"])
    original = str(record.alias["version"])
    faulty = record.alias.get("faulty_version")
    where = f"alias {alias!r} of {ref.resource}"
    report: dict[str, Any] = {"alias_restored_to": None, "deleted_version": None}
    try:
        state = call(lam, "get_alias", "lambda:GetAlias", where, FunctionName=ref.name, Name=alias)
    except CallFailed as error:
        if error.code != NOT_FOUND:
            raise
        log("warning", f"{where} no longer exists; nothing to point back")
        state = None
    if state is not None and faulty and str(state["FunctionVersion"]) == faulty:
        params: dict[str, Any] = {
            "FunctionName": ref.name,
            "Name": alias,
            "FunctionVersion": original,
        }
        if state.get("RevisionId"):
            params["RevisionId"] = state["RevisionId"]
        call(lam, "update_alias", "lambda:UpdateAlias", where, **params)
        report["alias_restored_to"] = original
    elif state is not None and str(state["FunctionVersion"]) == original:
        log("info", f"{where} already points at its recorded version {original}")
    elif state is not None:
        log(
            "info",
            f"{where} points at version {state['FunctionVersion']}, not the faulty "
            f"{faulty}: someone moved it, left as it is",
        )
    if faulty:
        try:
            call(
                lam,
                "delete_function",
                "lambda:DeleteFunction",
                f"version {faulty} of {ref.resource}",
                FunctionName=ref.name,
                Qualifier=faulty,
            )
            report["deleted_version"] = faulty
        except CallFailed as error:
            if error.code != NOT_FOUND:
                raise
    return report
