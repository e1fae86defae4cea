"""What FIS accepts: botocore's model of CreateExperimentTemplate, and the limits it leaves out.

The quotas are FIS's service quotas page (not in botocore's model); the
stop conditions are CloudWatch alarm ARNs; the role is an IAM role ARN.
"""

import re
from collections.abc import Mapping, Sequence
from typing import Any

import botocore.session
from botocore.exceptions import ParamValidationError
from botocore.validate import validate_parameters
from chaoslib.exceptions import ActivityFailed

from chaosaws_serverless.patterns import ROLE_ARN

__all__ = [
    "DESCRIPTION_MAX",
    "DOCUMENT_NAME",
    "SELECTION_MODE",
    "TAGS_MAX",
    "role_parts",
    "stop_conditions",
    "validate_template",
]

# FIS quotas not in botocore's model (service quotas page): checked here.
NAME_MAX = 64
DESCRIPTION_MAX = 512
TAGS_MAX = 50
RESOURCE_ARNS_MAX = 5

ALARM_ARN = re.compile(r"^arn:aws[a-z-]*:cloudwatch:[a-z0-9-]+:\d{12}:alarm:.+$")
SELECTION_MODE = re.compile(r"^(ALL|COUNT\([1-9]\d*\)|PERCENT\(([1-9]\d?|100)\))$")
DOCUMENT_NAME = re.compile(r"^[a-zA-Z0-9_.-]{3,128}$")


def validate_template(template: Mapping[str, Any]) -> None:
    """Raise ``ActivityFailed`` unless ``template`` is a valid FIS ``CreateExperimentTemplate``.

    botocore's parameter validation against the real service model (shapes,
    required members, types), then the limits botocore leaves to the service:
    name and description lengths, 5 ARNs per target, 50 tags, action targets
    and ``startAfter`` that refer to existing names.
    """
    request = {"clientToken": "validation", **template}
    model = botocore.session.get_session().get_service_model("fis")
    try:
        validate_parameters(request, model.operation_model("CreateExperimentTemplate").input_shape)
    except ParamValidationError as error:
        raise ActivityFailed(
            f"the FIS template is not a valid CreateExperimentTemplate: {error}"
        ) from error
    problems = []
    actions = template.get("actions", {})
    targets = template.get("targets", {})
    for name in [*actions, *targets]:
        if len(name) > NAME_MAX or not name or any(c.isspace() for c in name):
            problems.append(f"name {name!r} must be 1..{NAME_MAX} characters without spaces")
    for name, target in targets.items():
        if len(target.get("resourceArns", [])) > RESOURCE_ARNS_MAX:
            problems.append(f"target {name!r} lists more than {RESOURCE_ARNS_MAX} ARNs")
    for name, action in actions.items():
        for after in action.get("startAfter", []):
            if after not in actions:
                problems.append(f"action {name!r} starts after unknown action {after!r}")
        for target in action.get("targets", {}).values():
            if target not in targets:
                problems.append(f"action {name!r} uses unknown target {target!r}")
        if len(action.get("description", "")) > DESCRIPTION_MAX:
            problems.append(f"action {name!r} description exceeds {DESCRIPTION_MAX} characters")
    if len(template.get("description", "")) > DESCRIPTION_MAX:
        problems.append(f"description exceeds {DESCRIPTION_MAX} characters")
    if len(template.get("tags", {})) > TAGS_MAX:
        problems.append(f"more than {TAGS_MAX} tags")
    if problems:
        raise ActivityFailed("the FIS template is not valid: " + "; ".join(problems))


def stop_conditions(alarm_arns: Sequence[str]) -> list[dict[str, str]]:
    if isinstance(alarm_arns, str):
        alarm_arns = [alarm_arns]
    for arn in alarm_arns:
        if not ALARM_ARN.match(str(arn)):
            raise ActivityFailed(
                "stop conditions must be CloudWatch alarm ARNs "
                f"(arn:aws:cloudwatch:<region>:<account>:alarm:<name>), got {arn!r}"
            )
    if not alarm_arns:
        return [{"source": "none"}]
    return [{"source": "aws:cloudwatch:alarm", "value": str(arn)} for arn in alarm_arns]


def role_parts(role_arn: str) -> tuple[str, str]:
    match = ROLE_ARN.match(role_arn or "")
    if not match:
        raise ActivityFailed(
            "role_arn must be the FIS experiment role (arn:aws:iam::<12-digit account>:role/"
            f"<name>), got {role_arn!r}"
        )
    return match.group(1), match.group(2)
