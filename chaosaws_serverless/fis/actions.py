"""Actions on AWS FIS: create a template, run an experiment to its end, stop it.

Rollback partners: ``stop_experiment`` for ``start_experiment`` (with no
argument it stops every experiment this package started in the region, so a
rollback needs no id from the method), ``delete_experiment_template`` for
``create_experiment_template``. Templates come from
``chaosaws_serverless.fis.templates`` or ``chaosaws-serverless fis-template``.

A template is found by its id or by its ``Name`` tag, so an experiment can
create a template and start it by name in the next activity.
"""

import time
import uuid
from typing import Any, Dict, List, Optional

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets
from logzero import logger

from chaosaws_serverless.aws import client, resolve_region
from chaosaws_serverless.errors import aws_errors, error_code
from chaosaws_serverless.fis import experiments
from chaosaws_serverless.fis.experiments import FINAL_STATES
from chaosaws_serverless.fis.templates import MANAGED_BY_TAG
from chaosaws_serverless.fis.validation import validate_template

__all__ = [
    "create_experiment_template",
    "delete_experiment_template",
    "start_experiment",
    "stop_experiment",
]

_FAILED_STATES = ("stopped", "failed", "cancelled")
# Nothing left to ask of an experiment in these states.
_NO_STOP_NEEDED = (*FINAL_STATES, "stopping")
_UPDATABLE = ("description", "stopConditions", "targets", "actions", "roleArn")


def create_experiment_template(
    template: Dict[str, Any],
    region: Optional[str] = None,
    *,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> Dict[str, Any]:
    """Create (or update in place) an FIS experiment template.

    ``template`` (object) is a ``CreateExperimentTemplate`` request without
    ``clientToken``, as ``chaosaws-serverless fis-template`` prints it; a string
    is read as the path of such a JSON file. It is validated against botocore's
    model of FIS before any call. When its ``Name`` tag matches an existing
    template, that template is updated instead, so running an experiment twice
    does not pile up templates. Rollback: ``delete_experiment_template``.

    Returns ``{"template_id", "name", "region", "created"}``.

    ```json
    {"type": "action", "name": "fis-template",
     "provider": {"type": "python", "module": "chaosaws_serverless.fis.actions",
                  "func": "create_experiment_template",
                  "arguments": {"template": "fis/region-failure.json",
                                "region": "us-east-1"}}}
    ```
    """
    if isinstance(template, str):
        template = experiments.read_template(template)
    if not isinstance(template, dict):
        raise ActivityFailed(
            f"template must be an FIS template object or the path of its JSON file, got "
            f"{type(template).__name__}"
        )
    template = {k: v for k, v in template.items() if k != "clientToken"}
    validate_template(template)
    region_name = resolve_region(region, configuration)
    fis = client("fis", region_name, configuration, secrets)
    name = str(template.get("tags", {}).get("Name", ""))
    existing = experiments.templates_named(fis, name, region_name) if name else []
    if len(existing) > 1:
        raise ActivityFailed(
            f"several FIS templates in {region_name} carry the Name tag {name!r} "
            f"({', '.join(existing)}); delete the extra ones or rename this template"
        )
    if existing:
        template_id = existing[0]
        update = {k: template[k] for k in _UPDATABLE if k in template}
        with aws_errors("fis:UpdateExperimentTemplate", f"FIS template {template_id!r}"):
            answer = fis.update_experiment_template(id=template_id, **update)
        logger.info(f"FIS template {name!r} ({template_id}) updated in {region_name}")
        created = False
    else:
        with aws_errors("fis:CreateExperimentTemplate", f"FIS template in {region_name}"):
            answer = fis.create_experiment_template(clientToken=str(uuid.uuid4()), **template)
        template_id = answer["experimentTemplate"]["id"]
        logger.info(f"FIS template {name or template_id!r} created in {region_name}")
        created = True
    return {
        "template_id": answer["experimentTemplate"]["id"],
        "name": name,
        "region": region_name,
        "created": created,
    }


def delete_experiment_template(
    template_id: str,
    region: Optional[str] = None,
    *,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> bool:
    """Delete an FIS experiment template (rollback of ``create_experiment_template``).

    ``template_id`` is the template's id or its ``Name`` tag. Returns ``True``
    when a template was deleted, ``False`` when none was there (so the rollback
    can always run).

    ```json
    {"type": "action", "name": "delete-fis-template",
     "provider": {"type": "python", "module": "chaosaws_serverless.fis.actions",
                  "func": "delete_experiment_template",
                  "arguments": {"template_id": "region-failure", "region": "us-east-1"}}}
    ```
    """
    region_name = resolve_region(region, configuration)
    fis = client("fis", region_name, configuration, secrets)
    try:
        resolved = experiments.resolve_template(fis, template_id, region_name)
    except ActivityFailed:
        logger.info(f"no FIS template {template_id!r} in {region_name}: nothing to delete")
        return False
    with aws_errors("fis:DeleteExperimentTemplate", f"FIS template {resolved!r}"):
        fis.delete_experiment_template(id=resolved)
    logger.info(f"FIS template {template_id!r} ({resolved}) deleted in {region_name}")
    return True


def start_experiment(
    template_id: str,
    wait: bool = True,
    timeout_seconds: int = 3600,
    poll_interval_seconds: float = 10.0,
    region: Optional[str] = None,
    *,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> Dict[str, Any]:
    """Start an FIS experiment from a template and, by default, wait for its end.

    ``template_id`` is the template's id or its ``Name`` tag. With ``wait``
    (default true) the activity polls GetExperiment every
    ``poll_interval_seconds`` until a final state and fails when the experiment
    ends ``stopped`` (a stop condition fired or someone stopped it), ``failed``
    or ``cancelled``, naming FIS's reason. After ``timeout_seconds`` it stops the
    experiment and fails. Rollback: ``stop_experiment``.

    Returns ``{"experiment_id", "template_id", "state", "reason", "region"}``.

    ```json
    {"type": "action", "name": "run-fis-experiment",
     "provider": {"type": "python", "module": "chaosaws_serverless.fis.actions",
                  "func": "start_experiment",
                  "arguments": {"template_id": "region-failure", "timeout_seconds": 1200,
                                "region": "us-east-1"}}}
    ```
    """
    timeout = experiments.seconds("timeout_seconds", timeout_seconds)
    poll = experiments.seconds("poll_interval_seconds", poll_interval_seconds, zero_ok=True)
    if isinstance(wait, str):  # a ${...} substitution from the configuration
        wait = wait.strip().lower() not in ("false", "0", "no", "")
    region_name = resolve_region(region, configuration)
    fis = client("fis", region_name, configuration, secrets)
    resolved = experiments.resolve_template(fis, template_id, region_name)
    with aws_errors("fis:StartExperiment", f"FIS template {resolved!r} in {region_name}"):
        experiment = fis.start_experiment(
            clientToken=str(uuid.uuid4()),
            experimentTemplateId=resolved,
            tags=dict(MANAGED_BY_TAG),
        )["experiment"]
    experiment_id = experiment["id"]
    logger.info(f"FIS experiment {experiment_id} started from template {resolved}")
    if not wait:
        return experiments.result(experiment, region_name)

    deadline = time.monotonic() + timeout
    while True:
        experiment = experiments.get_experiment(fis, experiment_id, region_name)
        state = experiment["state"]["status"]
        if state in FINAL_STATES:
            break
        if time.monotonic() >= deadline:
            with aws_errors("fis:StopExperiment", f"FIS experiment {experiment_id!r}"):
                fis.stop_experiment(id=experiment_id)
            raise ActivityFailed(
                f"FIS experiment {experiment_id} was still {state!r} after {timeout_seconds} s; "
                "it was stopped. Fix: raise timeout_seconds above the template's total duration."
            )
        time.sleep(poll)
    result = experiments.result(experiment, region_name)
    if state in _FAILED_STATES:
        raise ActivityFailed(
            f"FIS experiment {experiment_id} (template {resolved}) ended {state!r}: "
            f"{result['reason'] or 'no reason given'}"
        )
    logger.info(f"FIS experiment {experiment_id} completed")
    return result


def stop_experiment(
    experiment_id: Optional[str] = None,
    template_id: Optional[str] = None,
    restore_functions: bool = True,
    region: Optional[str] = None,
    *,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> Dict[str, Any]:
    """Stop running FIS experiments and restore their functions (rollback of ``start_experiment``).

    ``experiment_id`` (string, optional) stops that experiment; ``template_id``
    (string, optional; id or ``Name`` tag) stops every unfinished experiment of
    that template; with neither, every unfinished experiment this package
    started in ``region``. Experiments already finished are left alone, so the
    rollback can always run.

    An ``ssm-automation`` template's automation restores its function itself
    when FIS cancels it; with ``restore_functions`` (default true) the activity
    also waits until FIS reports the experiment stopped, then runs
    ``chaosaws_serverless.awslambda.actions.remove_faults`` (it reads the same
    record as the document; a fault already removed is a no-op) on each function
    whose restoring automation did not complete: in the experiments it stopped, the one named by
    ``experiment_id``, and otherwise the newest unfinished-or-stopped experiment
    of the template (or of this package), which covers an experiment a stop
    condition ended before the rollback ran.

    Returns ``{"stopped": [experiment ids], "restored": [function names], "region"}``.

    ```json
    {"type": "action", "name": "stop-fis-experiments",
     "provider": {"type": "python", "module": "chaosaws_serverless.fis.actions",
                  "func": "stop_experiment", "arguments": {"region": "us-east-1"}}}
    ```
    """
    region_name = resolve_region(region, configuration)
    fis = client("fis", region_name, configuration, secrets)
    if experiment_id:
        experiment = experiments.get_experiment(fis, experiment_id, region_name)
        candidates = [experiment] if experiment["state"]["status"] not in _NO_STOP_NEEDED else []
        listed = [experiment]
    else:
        resolved = (
            experiments.resolve_template(fis, template_id, region_name) if template_id else None
        )
        listed = [
            e
            for e in experiments.list_experiments(fis, resolved, region_name)
            if resolved or experiments.is_ours(e.get("tags", {}))
        ]
        candidates = [e for e in listed if e["state"]["status"] not in _NO_STOP_NEEDED]
    stopped = []
    for experiment in candidates:
        with aws_errors("fis:StopExperiment", f"FIS experiment {experiment['id']!r}"):
            try:
                fis.stop_experiment(id=experiment["id"])
            except Exception as error:
                # Finished between the read and the stop: nothing left to do.
                if error_code(error) in {"ResourceNotFoundException", "ConflictException"}:
                    continue
                raise
        stopped.append(experiment["id"])
        logger.info(f"FIS experiment {experiment['id']} stopping in {region_name}")
    if not stopped:
        logger.info(f"no unfinished FIS experiment to stop in {region_name}")
    restored: List[str] = []
    if restore_functions:
        to_restore = list(stopped)
        if experiment_id:
            to_restore.append(experiment_id)
        elif listed:
            newest = max(listed, key=lambda e: experiments.timestamp(e.get("creationTime")))
            if newest["state"]["status"] != "completed":
                to_restore.append(newest["id"])
        for restore_id in dict.fromkeys(to_restore):
            final = experiments.wait_until_final(fis, restore_id, region_name)
            for function_name in experiments.unrestored_functions(final):
                if experiments.remove_faults(function_name, region_name, configuration, secrets):
                    restored.append(function_name)
    return {"stopped": stopped, "restored": restored, "region": region_name}
