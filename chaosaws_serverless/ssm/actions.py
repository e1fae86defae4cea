"""Actions on SSM Automation: register the chaos-layer document, start and stop executions.

The document (``ssm/chaos-layer-automation.yaml``) attaches or detaches the
chaos-lambda-extension layer with the semantics of
``chaosaws_serverless.awslambda.actions.inject_latency``/``remove_faults`` and the
same record on the function's tags. FIS runs it through
``aws:ssm:start-automation-execution`` (see ``chaosaws_serverless.fis``);
these actions run it directly. Rollback partner of ``start_automation``:
``stop_automation`` (cancelling runs the document's own rollback step).
"""

from typing import Any, Dict, List, Optional

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets
from logzero import logger

from chaosaws_serverless.aws import client, resolve_region
from chaosaws_serverless.errors import aws_errors, error_code
from chaosaws_serverless.ssm.document import DEFAULT_DOCUMENT_NAME, document_path

__all__ = ["register_automation_document", "start_automation", "stop_automation"]

# Executions still able to change something: what stop_automation cancels.
RUNNING_STATES = ("Pending", "InProgress", "Waiting", "Scheduled", "RunbookInProgress")
_MANAGED_BY = {"Key": "managed-by", "Value": "chaosaws-serverless"}


def register_automation_document(
    name: str = DEFAULT_DOCUMENT_NAME,
    region: Optional[str] = None,
    *,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> Dict[str, Any]:
    """Create or update the chaos-layer SSM Automation document from the shipped YAML.

    Creates the document ``name`` (string, default
    ``chaosaws-serverless-chaos-layer``, the name the FIS templates use) in
    ``region``, or, when its content differs, adds a version and makes it the
    default. Unchanged content changes nothing. SSM documents are regional:
    register it in every region the experiment targets.

    Returns ``{"name", "region", "document_version", "changed"}``.

    ```json
    {"type": "action", "name": "register-chaos-layer-document",
     "provider": {"type": "python", "module": "chaosaws_serverless.ssm.actions",
                  "func": "register_automation_document",
                  "arguments": {"name": "chaosaws-serverless-chaos-layer",
                                "region": "us-east-1"}}}
    ```
    """
    _require_document_name(name)
    content = document_path().read_text(encoding="utf-8")
    region_name = resolve_region(region, configuration)
    ssm = client("ssm", region_name, configuration, secrets)
    resource = f"SSM document {name!r} in {region_name}"
    with aws_errors("ssm:GetDocument", resource):
        try:
            current = ssm.get_document(Name=name, DocumentVersion="$LATEST")
        except Exception as error:
            if error_code(error) != "InvalidDocument":
                raise
            current = None
    if current is None:
        with aws_errors("ssm:CreateDocument", resource):
            created = ssm.create_document(
                Content=content,
                Name=name,
                DocumentType="Automation",
                DocumentFormat="YAML",
                Tags=[_MANAGED_BY],
            )["DocumentDescription"]
        logger.info(f"SSM document {name!r} created in {region_name}")
        return _registered(name, region_name, created["DocumentVersion"], True)
    if _same_content(current, content):
        version = str(current["DocumentVersion"])
        with aws_errors("ssm:UpdateDocumentDefaultVersion", resource):
            described = ssm.describe_document(Name=name)["Document"]
            if described.get("DefaultVersion") != version:
                ssm.update_document_default_version(Name=name, DocumentVersion=version)
        logger.info(f"SSM document {name!r} in {region_name} is up to date (version {version})")
        return _registered(name, region_name, version, False)
    with aws_errors("ssm:UpdateDocument", resource):
        updated = ssm.update_document(
            Content=content, Name=name, DocumentVersion="$LATEST", DocumentFormat="YAML"
        )["DocumentDescription"]
    version = str(updated["DocumentVersion"])
    with aws_errors("ssm:UpdateDocumentDefaultVersion", resource):
        ssm.update_document_default_version(Name=name, DocumentVersion=version)
    logger.info(f"SSM document {name!r} updated in {region_name} (default version {version})")
    return _registered(name, region_name, version, True)


def start_automation(
    document_name: str,
    parameters: Dict[str, Any],
    region: Optional[str] = None,
    *,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> Dict[str, Any]:
    """Start an SSM Automation execution of a document.

    ``parameters`` (object) maps the document's parameter names to values:
    strings, numbers or lists of them (SSM takes lists of strings; empty values
    are left out so the document's defaults apply). For the chaos-layer
    document: ``FunctionName``, ``LayerArn``, ``AutomationAssumeRole``,
    ``ChaosMode`` (``ENABLED``/``DISABLED``), ``AliasName``, ``LatencyMs``,
    ``Probability``. The activity returns once SSM accepted the execution; watch
    it with ``chaosaws_serverless.ssm.probes.get_automation_status``. Rollback:
    ``stop_automation``.

    Returns ``{"execution_id", "document_name", "region"}``.

    ```json
    {"type": "action", "name": "attach-chaos-layer",
     "provider": {"type": "python", "module": "chaosaws_serverless.ssm.actions",
                  "func": "start_automation",
                  "arguments": {"document_name": "chaosaws-serverless-chaos-layer",
                                "parameters": {"FunctionName": "hello-us-east-1",
                                               "LayerArn": "${chaos_layer_arn}",
                                               "AutomationAssumeRole": "${automation_role}",
                                               "ChaosMode": "ENABLED", "LatencyMs": 60000},
                                "region": "us-east-1"}}}
    ```
    """
    if not isinstance(document_name, str) or not document_name:
        raise ActivityFailed(
            f"document_name must be an SSM document name or ARN, got {document_name!r}"
        )
    values = automation_parameters(parameters)
    region_name = resolve_region(region, configuration)
    ssm = client("ssm", region_name, configuration, secrets)
    with aws_errors("ssm:StartAutomationExecution", f"SSM document {document_name!r}"):
        execution_id = ssm.start_automation_execution(
            DocumentName=document_name,
            Parameters=values,
            Tags=[_MANAGED_BY],
        )["AutomationExecutionId"]
    logger.info(f"SSM automation {execution_id} of {document_name!r} started in {region_name}")
    return {"execution_id": execution_id, "document_name": document_name, "region": region_name}


def stop_automation(
    execution_id: Optional[str] = None,
    document_name: Optional[str] = None,
    region: Optional[str] = None,
    *,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> List[str]:
    """Cancel running SSM Automation executions (rollback of ``start_automation``).

    ``execution_id`` (string, optional) cancels that execution;
    ``document_name`` (string, optional) every running execution of that
    document; with neither, every running execution of the chaos-layer
    document. Cancelling the chaos-layer document runs its rollback step, which
    restores the function. Finished executions are left alone, so the rollback
    can always run.

    Returns the ids of the executions it cancelled.

    ```json
    {"type": "action", "name": "cancel-chaos-layer-automations",
     "provider": {"type": "python", "module": "chaosaws_serverless.ssm.actions",
                  "func": "stop_automation",
                  "arguments": {"document_name": "chaosaws-serverless-chaos-layer",
                                "region": "us-east-1"}}}
    ```
    """
    region_name = resolve_region(region, configuration)
    ssm = client("ssm", region_name, configuration, secrets)
    if execution_id:
        with aws_errors("ssm:GetAutomationExecution", f"SSM automation {execution_id!r}"):
            execution = ssm.get_automation_execution(AutomationExecutionId=execution_id)[
                "AutomationExecution"
            ]
        running = (
            [execution_id] if execution.get("AutomationExecutionStatus") in RUNNING_STATES else []
        )
    else:
        running = _running_executions(ssm, document_name or DEFAULT_DOCUMENT_NAME, region_name)
    for running_id in running:
        with aws_errors("ssm:StopAutomationExecution", f"SSM automation {running_id!r}"):
            ssm.stop_automation_execution(AutomationExecutionId=running_id, Type="Cancel")
        logger.info(f"SSM automation {running_id} cancelled in {region_name}")
    if not running:
        logger.info(f"no running SSM automation to cancel in {region_name}")
    return running


def automation_parameters(parameters: Dict[str, Any]) -> Dict[str, List[str]]:
    """Return ``parameters`` as SSM takes them: lists of strings, empty values left out."""
    if not isinstance(parameters, dict):
        raise ActivityFailed(
            "parameters must map the document's parameter names to values, e.g. "
            f'{{"FunctionName": "hello", "ChaosMode": "ENABLED"}}, got {parameters!r}'
        )
    values: Dict[str, List[str]] = {}
    for key, value in parameters.items():
        items = value if isinstance(value, list | tuple) else [value]
        for item in items:
            if isinstance(item, dict | list | tuple):
                raise ActivityFailed(
                    f"parameter {key!r} must be a string, a number or a list of them, got {item!r}"
                )
        texts = [_text(item) for item in items if item is not None and _text(item) != ""]
        if texts:
            values[str(key)] = texts
    return values


def _same_content(current: Dict[str, Any], content: str) -> bool:
    # Compared as data: an endpoint may hand the YAML back re-serialized.
    import yaml

    try:
        return bool(yaml.safe_load(current.get("Content") or "") == yaml.safe_load(content))
    except yaml.YAMLError:
        return False


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return format(value, "g")
    return str(value)


def _running_executions(ssm: Any, document_name: str, region: str) -> List[str]:
    ids: List[str] = []
    with aws_errors("ssm:DescribeAutomationExecutions", f"SSM automations in {region}"):
        pages = ssm.get_paginator("describe_automation_executions").paginate(
            Filters=[
                {"Key": "DocumentNamePrefix", "Values": [document_name]},
                {"Key": "ExecutionStatus", "Values": list(RUNNING_STATES)},
            ]
        )
        for page in pages:
            for execution in page.get("AutomationExecutionMetadataList", []):
                # The filter is a prefix: keep the document itself only.
                if execution.get("DocumentName") == document_name:
                    ids.append(execution["AutomationExecutionId"])
    return ids


def _require_document_name(name: str) -> None:
    import re

    if not isinstance(name, str) or not re.match(r"^[a-zA-Z0-9_.-]{3,128}$", name):
        raise ActivityFailed(f"name must be 3..128 letters, digits, '_', '-' or '.', got {name!r}")
    if name.lower().startswith(("aws", "amazon", "amzn")):
        raise ActivityFailed(
            f"name {name!r} starts with a prefix AWS reserves (aws, amazon, amzn); choose another"
        )


def _registered(name: str, region: str, version: str, changed: bool) -> Dict[str, Any]:
    return {"name": name, "region": region, "document_version": str(version), "changed": changed}
