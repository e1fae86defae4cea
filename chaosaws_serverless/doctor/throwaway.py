"""The doctor's throwaway function: its code, how it is made and read back, and its leftovers.

Named ``chaosaws-doctor-<random>`` and tagged ``chaosaws-serverless:doctor``
with its creation time, so a live run killed with SIGKILL leaves a function the
next run recognises and deletes (``remove_leftovers``), and never one of
another doctor still running.
"""

import io
import json
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Optional

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets

from chaosaws_serverless.aws import client
from chaosaws_serverless.doctor.plan import Plan
from chaosaws_serverless.errors import aws_errors, code_of

__all__ = [
    "DOCTOR_PREFIX",
    "DOCTOR_TAG",
    "MEMORY_MB",
    "TAG_TIME",
    "abandoned",
    "delete",
    "family",
    "invoke",
    "picture",
    "remove_leftovers",
    "status_text",
    "throwaway_code",
]

DOCTOR_PREFIX = "chaosaws-doctor-"
DOCTOR_TAG = "chaosaws-serverless:doctor"
TAG_TIME = "%Y-%m-%dT%H:%M:%SZ"
# A live run takes a few minutes per region: a doctor function older than this
# belongs to a run that died; a younger one may be another doctor's, in progress.
LEFTOVER_AFTER_SECONDS = 30 * 60
DEFAULT_RUNTIME = "python3.12"
MEMORY_MB = 128  # Lambda's smallest


def throwaway_code(runtime: str) -> tuple[bytes, str]:
    """Return the zip and handler of a function that answers 200 in ``runtime``'s family."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        if runtime.startswith("nodejs"):
            archive.writestr(
                "index.js",
                "exports.handler = async () => ({statusCode: 200, body: 'doctor'});\n",
            )
            handler = "index.handler"
        else:
            archive.writestr(
                "app.py",
                "def handler(event, context):\n    return {'statusCode': 200, 'body': 'doctor'}\n",
            )
            handler = "app.handler"
    return buffer.getvalue(), handler


def remove_leftovers(region: str, configuration: Configuration, secrets: Secrets) -> list[str]:
    """Delete the throwaway functions an earlier live run left in ``region`` (found by tag)."""
    lam = client("lambda", region, configuration, secrets)
    removed = []
    with aws_errors("lambda:ListFunctions", f"functions in {region}"):
        pages = lam.get_paginator("list_functions").paginate()
        names = [
            (f["FunctionName"], f["FunctionArn"])
            for page in pages
            for f in page.get("Functions") or []
            if f["FunctionName"].startswith(DOCTOR_PREFIX)
        ]
    for name, arn in names:
        with aws_errors("lambda:ListTags", f"function {name!r} in {region}"):
            tags = lam.list_tags(Resource=arn).get("Tags") or {}
        if DOCTOR_TAG not in tags:
            continue  # the prefix alone is not proof that it is ours
        if not abandoned(tags[DOCTOR_TAG]):
            continue  # another doctor may be running right now (a run takes minutes)
        delete(lam, name, region)
        removed.append(name)
    return removed


def abandoned(created_at: str, now: Optional[datetime] = None) -> bool:
    """Return True when a doctor function created at ``created_at`` outlived any live run."""
    try:
        created = datetime.strptime(created_at, TAG_TIME).replace(tzinfo=UTC)
    except ValueError:
        return True  # tagged by us but unreadable: nothing else would remove it
    return ((now or datetime.now(UTC)) - created).total_seconds() > LEFTOVER_AFTER_SECONDS


def delete(lam: Any, name: str, region: str) -> None:
    try:
        with aws_errors("lambda:DeleteFunction", f"function {name!r} in {region}"):
            lam.delete_function(FunctionName=name)
    except ActivityFailed as error:
        if code_of(error) != "ResourceNotFoundException":
            raise


def family(
    plan: Plan, region: str, configuration: Configuration, secrets: Secrets
) -> dict[str, Any]:
    """Return runtime, architecture and role for the region's throwaway function."""
    chosen: dict[str, Any] = {"runtime": DEFAULT_RUNTIME, "architecture": "x86_64", "role": None}
    for target in plan.targets:
        if target.region != region:
            continue
        lam = client("lambda", region, configuration, secrets)
        try:
            with aws_errors("lambda:GetFunction", f"function {target.function_name!r}"):
                config = lam.get_function(FunctionName=target.function_name)["Configuration"]
        except ActivityFailed:
            continue  # the read-only check reports it
        runtime = str(config.get("Runtime") or "")
        if runtime.startswith(("python", "nodejs")):
            chosen["runtime"] = runtime
        chosen["architecture"] = (config.get("Architectures") or ["x86_64"])[0]
        chosen["role"] = config.get("Role")
        break
    return chosen


def picture(lam: Any, name: str) -> dict[str, Any]:
    answer = lam.get_function(FunctionName=name)
    config = answer["Configuration"]
    return {
        "layers": [layer["Arn"] for layer in config.get("Layers") or []],
        "environment": dict((config.get("Environment") or {}).get("Variables") or {}),
        "tags": dict(answer.get("Tags") or {}),
    }


def invoke(lam: Any, name: str, clock: Callable[[], float]) -> dict[str, Any]:
    """Invoke the throwaway function once: seconds, status, and why when there is no status.

    ``LogType="Tail"`` returns the last 4 KB of the invocation's log (Lambda API
    reference, Invoke: ``LogResult``, base64): its last lines, with the error the
    function raised (``FunctionError``, the payload's ``errorMessage``), say why an
    invocation answered no ``statusCode``.
    """
    started = clock()
    with aws_errors("lambda:InvokeFunction", f"function {name!r}"):
        answer = lam.invoke(FunctionName=name, Payload=b"{}", LogType="Tail")
    seconds = clock() - started
    raw = answer["Payload"].read()
    try:
        payload = json.loads(raw or b"null")
    except ValueError:
        payload = None
    status = payload.get("statusCode") if isinstance(payload, dict) else None
    seen: dict[str, Any] = {
        "seconds": round(seconds, 3),
        "function_error": answer.get("FunctionError"),
        "status_seen": status,
    }
    if status is None:
        message = payload.get("errorMessage") if isinstance(payload, dict) else None
        seen["error"] = str(message or (raw[:200].decode("utf-8", "replace") or "empty payload"))
        seen["log_tail"] = _log_tail(answer.get("LogResult"))
    return seen


def status_text(seen: dict[str, Any]) -> str:
    """Return "status 200" or, without a status, what the invocation said instead."""
    if seen.get("status_seen") is not None:
        return f"status {seen['status_seen']}"
    parts = [f"no statusCode in the answer ({seen.get('function_error') or 'no FunctionError'}"]
    parts.append(f": {seen.get('error')})")
    if seen.get("log_tail"):
        parts.append(f"; log tail: {seen['log_tail']}")
    return "".join(parts)


def _log_tail(encoded: Any, lines: int = 5) -> str:
    if not encoded:
        return ""
    import base64

    try:
        text = base64.b64decode(str(encoded)).decode("utf-8", "replace")
    except ValueError:
        return ""
    return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:])[-400:]
