"""The reference API's Lambda functions: the code the lab deploys and its gateways run.

They are ordinary Lambda handlers for API Gateway's proxy integration, so the
same file runs on AWS Lambda unchanged. The region comes from the invoked
function's ARN, which is what a handler can always rely on (the lab's
gateways run every region's functions in one process, where ``AWS_REGION``
cannot differ per request).
"""

import json
from typing import Any


def health(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Answer ``/api/health``: ``Region {region} is healthy``."""
    return _answer(f"Region {_region(context)} is healthy")


def hello(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Answer ``/api/hello``: ``Hello from region {region}``."""
    return _answer(f"Hello from region {_region(context)}")


def _region(context: Any) -> str:
    # arn:aws:lambda:<region>:<account>:function:<name>
    return str(context.invoked_function_arn).split(":")[3]


def _answer(message: str) -> dict[str, Any]:
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({"message": message}),
    }
