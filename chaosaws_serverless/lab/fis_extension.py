"""The AWS FIS Lambda extension's documented effect: the lab's gateways apply the faults FIS writes.

FIS's ``aws:lambda:*`` actions do not change a function: FIS writes the fault where the
function's ``AWS_FIS_CONFIGURATION_LOCATION`` points (an S3 prefix) and the AWS FIS Lambda
extension, attached to the function and wrapping its runtime
(``AWS_LAMBDA_EXEC_WRAPPER=/opt/aws-fis/bootstrap``), reads it and acts on invocations.
:mod:`.fis` writes those objects; this module is what the lab's gateways do with
them, as the FIS User Guide documents the effect (the object format and the extension's
code are not public: this is the effect, not a transcription of the extension):

[LA] use-lambda-actions.html: the extension is a layer plus the wrapper; it reads the fault
     configuration FIS writes to S3
[AR] fis-actions-reference.html:
     - aws:lambda:invocation-add-delay: the invocation starts ``startupDelayMilliseconds``
       late, for ``invocationPercentage`` % of invocations
     - aws:lambda:invocation-error: the invocation is marked failed; with
       ``preventExecution`` the handler does not run
     - aws:lambda:invocation-http-integration-response: the invocation answers an HTTP
       response of ``statusCode`` with ``contentTypeHeader``; with ``preventExecution`` the
       handler does not run

Imports nothing from the package's FIS or Lambda code (``tests/unit/test_engine_models.py``).
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CONFIGURATION_VARIABLE",
    "LAYER_NAME_PREFIX",
    "WRAPPER",
    "FisFault",
    "invocation_fault",
    "layer_attached",
    "location_of",
    "proxy_response",
    "read_faults",
]

WRAPPER = "/opt/aws-fis/bootstrap"
# The public layers' names: aws-fis-extension-x86_64, aws-fis-extension-arm64 (any case).
LAYER_NAME_PREFIX = "aws-fis-extension"
CONFIGURATION_VARIABLE = "AWS_FIS_CONFIGURATION_LOCATION"
_LOCATION = re.compile(r"^arn:aws[a-z-]*:s3:::(?P<bucket>[^/]+)/(?P<prefix>.*)$")


@dataclass(frozen=True)
class FisFault:
    """What the faults FIS wrote mean for one invocation (draws made by the caller)."""

    delay_ms: int = 0
    fail: bool = False
    response: tuple[int, str] | None = None  # (statusCode, content type)
    prevent_execution: bool = False

    @property
    def active(self) -> bool:
        return bool(self.delay_ms or self.fail or self.response)


def location_of(configuration: Mapping[str, Any]) -> tuple[str, str] | None:
    """(bucket, prefix) when the function runs the FIS extension (wrapper and location set)."""
    variables = (configuration.get("Environment") or {}).get("Variables") or {}
    if variables.get("AWS_LAMBDA_EXEC_WRAPPER") != WRAPPER:
        return None
    match = _LOCATION.match(str(variables.get(CONFIGURATION_VARIABLE) or ""))
    return (match["bucket"], match["prefix"]) if match else None


def layer_attached(configuration: Mapping[str, Any]) -> bool:
    """[LA] the extension is a layer: some version of the FIS extension's layer is attached."""
    for layer in configuration.get("Layers") or []:
        parts = str(layer.get("Arn", "")).split(":")
        if len(parts) >= 7 and parts[6].lower().startswith(LAYER_NAME_PREFIX):
            return True
    return False


def proxy_response(response: tuple[int, str]) -> dict[str, Any]:
    """The proxy integration's answer for an invocation-http-integration-response fault."""
    status, content_type = response
    return {"statusCode": status, "headers": {"Content-Type": content_type}, "body": ""}


def read_faults(s3: Any, bucket: str, prefix: str, function_name: str) -> list[dict[str, Any]]:
    """The fault objects FIS wrote for this function (see lab.fis.fault_object_key)."""
    found = []
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"{prefix}{function_name}/")
    for entry in listed.get("Contents", []):
        body = s3.get_object(Bucket=bucket, Key=entry["Key"])["Body"].read()
        try:
            found.append(dict(json.loads(body)))
        except ValueError:
            continue
    return found


def invocation_fault(
    faults: Sequence[Mapping[str, Any]], draw: Callable[[], float] = random.random
) -> FisFault:
    """[AR] one invocation's fault: each action applies to its invocationPercentage."""
    delay, fail, response, prevent = 0, False, None, False
    for fault in faults:
        parameters = fault.get("parameters") or {}
        percentage = float(parameters.get("invocationPercentage", 100))
        if draw() * 100 >= percentage:
            continue
        action = fault.get("actionId")
        if action == "aws:lambda:invocation-add-delay":
            delay = max(delay, int(parameters.get("startupDelayMilliseconds", 1000)))
        elif action == "aws:lambda:invocation-error":
            fail = True
            prevent = prevent or str(parameters.get("preventExecution", "false")).lower() == "true"
        elif action == "aws:lambda:invocation-http-integration-response":
            response = (
                int(parameters.get("statusCode", 500)),
                str(parameters.get("contentTypeHeader", "application/json")),
            )
            prevent = prevent or str(parameters.get("preventExecution", "false")).lower() == "true"
    return FisFault(delay_ms=delay, fail=fail, response=response, prevent_execution=prevent)
