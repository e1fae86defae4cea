"""FIS experiments and templates as the actions read them: lookups, waiting, results.

Templates are found by id or by their ``Name`` tag; an experiment's restoring
automations tell which functions a stopped experiment left faulted (the
``stop_experiment`` rollback restores those with ``remove_faults``).
"""

import json
import time
from typing import Any, Dict, List, Optional

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets

from chaosaws_serverless.errors import aws_errors
from chaosaws_serverless.fis.templates import MANAGED_BY_TAG

__all__ = [
    "FINAL_STATES",
    "STOP_WAIT_SECONDS",
    "get_experiment",
    "is_ours",
    "list_experiments",
    "read_template",
    "remove_faults",
    "resolve_template",
    "result",
    "seconds",
    "templates_named",
    "timestamp",
    "unrestored_functions",
    "wait_until_final",
]

FINAL_STATES = ("completed", "stopped", "failed", "cancelled")
STOP_WAIT_SECONDS = 120.0


def seconds(name: str, value: Any, zero_ok: bool = False) -> float:
    """Return ``value`` as seconds; numeric strings (from ``${...}``) are accepted."""
    try:
        seconds = float(value) if not isinstance(value, bool) else -1.0
    except (TypeError, ValueError):
        seconds = -1.0
    if seconds < 0 or (seconds == 0 and not zero_ok):
        bound = "0 or more" if zero_ok else "a positive number"
        raise ActivityFailed(f"{name} must be {bound} of seconds, got {value!r}")
    return seconds


def timestamp(value: Any) -> float:
    if hasattr(value, "timestamp"):
        return float(value.timestamp())
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def wait_until_final(fis: Any, experiment_id: str, region: str) -> Dict[str, Any]:
    # FIS cancels the in-flight automations while "stopping"; restoring before it is
    # done could race an ENABLED step that is still attaching the layer.
    deadline = time.monotonic() + STOP_WAIT_SECONDS
    while True:
        experiment = get_experiment(fis, experiment_id, region)
        if experiment["state"]["status"] in FINAL_STATES or time.monotonic() > deadline:
            return experiment
        time.sleep(2.0)


def unrestored_functions(experiment: Dict[str, Any]) -> List[str]:
    """Return the functions whose restoring automation did not complete in ``experiment``.

    The restoring one holds and restores (ENABLED with a Duration), or, in templates
    built before it did, is the separate DISABLED action.
    """
    functions = []
    for action in (experiment.get("actions") or {}).values():
        if action.get("actionId") != "aws:ssm:start-automation-execution":
            continue
        try:
            parameters = json.loads((action.get("parameters") or {}).get("documentParameters", ""))
        except ValueError:
            continue
        if not isinstance(parameters, dict):
            continue
        holds = parameters.get("ChaosMode") == "ENABLED" and parameters.get("Duration")
        if parameters.get("ChaosMode") != "DISABLED" and not holds:
            continue
        if (action.get("state") or {}).get("status") == "completed":
            continue
        if parameters.get("FunctionName"):
            functions.append(str(parameters["FunctionName"]))
    return functions


def remove_faults(
    function_name: str,
    region: str,
    configuration: Optional[Configuration],
    secrets: Optional[Secrets],
) -> bool:
    from chaosaws_serverless.awslambda.actions import remove_faults

    report = remove_faults(
        function_name, region, configuration=configuration or {}, secrets=secrets or {}
    )
    return bool(report.get("removed"))


def read_template(path: str) -> Dict[str, Any]:
    from chaosaws_serverless.inputs import InputError, read_mapping

    try:
        return read_mapping(path, "FIS template file")
    except InputError as error:
        raise ActivityFailed(
            f"{error}. Fix: write it with 'chaosaws-serverless fis-template EXPERIMENT.json > FILE'"
        ) from None


def is_ours(tags: Dict[str, str]) -> bool:
    return all(tags.get(k) == v for k, v in MANAGED_BY_TAG.items())


def templates_named(fis: Any, name: str, region: str) -> List[str]:
    with aws_errors("fis:ListExperimentTemplates", f"FIS templates in {region}"):
        pages = fis.get_paginator("list_experiment_templates").paginate()
        return [
            t["id"]
            for page in pages
            for t in page.get("experimentTemplates", [])
            if t.get("tags", {}).get("Name") == name
        ]


def resolve_template(fis: Any, template_id: Optional[str], region: str) -> str:
    if not isinstance(template_id, str) or not template_id:
        raise ActivityFailed(
            f"template_id must be an FIS template id or its Name tag, got {template_id!r}"
        )
    with aws_errors("fis:ListExperimentTemplates", f"FIS templates in {region}"):
        pages = fis.get_paginator("list_experiment_templates").paginate()
        templates = [t for page in pages for t in page.get("experimentTemplates", [])]
    by_id = [t["id"] for t in templates if t["id"] == template_id]
    by_name = [t["id"] for t in templates if t.get("tags", {}).get("Name") == template_id]
    if by_id:
        return by_id[0]
    if len(by_name) == 1:
        return by_name[0]
    if by_name:
        raise ActivityFailed(
            f"several FIS templates in {region} carry the Name tag {template_id!r} "
            f"({', '.join(by_name)}); pass the id instead"
        )
    raise ActivityFailed(
        f"no FIS template with id or Name tag {template_id!r} in {region}. Fix: create it "
        "with create_experiment_template, or check the region"
    )


def get_experiment(fis: Any, experiment_id: str, region: str) -> Dict[str, Any]:
    if not isinstance(experiment_id, str) or not experiment_id:
        raise ActivityFailed(f"experiment_id must be an FIS experiment id, got {experiment_id!r}")
    with aws_errors("fis:GetExperiment", f"FIS experiment {experiment_id!r} in {region}"):
        experiment: Dict[str, Any] = fis.get_experiment(id=experiment_id)["experiment"]
    return experiment


def list_experiments(fis: Any, template_id: Optional[str], region: str) -> List[Dict[str, Any]]:
    kwargs = {"experimentTemplateId": template_id} if template_id else {}
    experiments: List[Dict[str, Any]] = []
    with aws_errors("fis:ListExperiments", f"FIS experiments in {region}"):
        token = None
        while True:
            page = fis.list_experiments(**kwargs, **({"nextToken": token} if token else {}))
            experiments.extend(page.get("experiments", []))
            token = page.get("nextToken")
            if not token:
                return experiments


def result(experiment: Dict[str, Any], region: str) -> Dict[str, Any]:
    state = experiment.get("state", {})
    return {
        "experiment_id": experiment["id"],
        "template_id": experiment.get("experimentTemplateId", ""),
        "state": state.get("status", ""),
        "reason": state.get("reason", ""),
        "region": region,
    }
