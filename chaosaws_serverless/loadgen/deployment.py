"""Deployment of the load generator on AWS Lambda: bundle upload, asynchronous start, deletion.

The Chaos Toolkit activities in ``loadgen.actions`` validate their arguments and
call these functions; the bundle itself is built by ``loadgen.bundle``.
"""

import json
from typing import Any, Dict, List, Optional

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets

from chaosaws_serverless.aws import client, resolve_region
from chaosaws_serverless.errors import aws_errors, error_code
from chaosaws_serverless.loadgen.config import LoadConfig
from chaosaws_serverless.patterns import LAYER_ARN as _LAYER_ARN
from chaosaws_serverless.patterns import PLAIN_FUNCTION_NAME as _FUNCTION_NAME
from chaosaws_serverless.patterns import ROLE_ARN as _ROLE_ARN

DEFAULT_FUNCTION_NAME = "chaosaws-serverless-loadgen"
HANDLER = "chaosaws_serverless.loadgen.handler.lambda_handler"
MAX_ZIP_BYTES = 50 * 1024 * 1024  # Lambda's limit for a zip uploaded in the request
# Kept free at the end of an invocation for draining and the last publish.
DEADLINE_MARGIN_SECONDS = 5


def deploy(
    role_arn: str,
    function_name: str,
    memory_mb: int,
    function_timeout_seconds: int,
    dependencies_layer_arn: Optional[str],
    region: Optional[str],
    configuration: Configuration,
    secrets: Secrets,
) -> Dict[str, Any]:
    """Create or update the load generator's function (``deploy_load_generator``)."""
    from chaosaws_serverless.loadgen.bundle import build_zip, lambda_runtime, vendor_problems

    check_function_name(function_name)
    if not _ROLE_ARN.match(str(role_arn)):
        raise ActivityFailed(
            f"role_arn must be an IAM role ARN (arn:aws:iam::<account>:role/<name>), "
            f"got {role_arn!r}"
        )
    if not isinstance(memory_mb, int) or not 128 <= memory_mb <= 10240:
        raise ActivityFailed(f"memory_mb must be an integer 128..10240, got {memory_mb!r}")
    if not isinstance(function_timeout_seconds, int) or not 1 <= function_timeout_seconds <= 900:
        raise ActivityFailed(
            f"function_timeout_seconds must be an integer 1..900, got {function_timeout_seconds!r}"
        )
    if dependencies_layer_arn is not None and not _LAYER_ARN.match(str(dependencies_layer_arn)):
        raise ActivityFailed(
            "dependencies_layer_arn must be a layer version ARN "
            f"(arn:aws:lambda:<region>:<account>:layer:<name>:<version>), "
            f"got {dependencies_layer_arn!r}"
        )
    runtime = lambda_runtime()
    if dependencies_layer_arn is None:
        problems = vendor_problems(runtime)
        if problems:
            raise ActivityFailed(
                "cannot copy this environment's dependencies into the Lambda bundle: "
                + "; ".join(problems)
                + ". Fix: build a layer with pip install --target python/ --platform "
                "manylinux2014_x86_64 --only-binary=:all: aiohttp hdrhistogram, publish it and "
                "pass its ARN as dependencies_layer_arn"
            )
    zipped, vendored = build_zip(vendor=dependencies_layer_arn is None)
    if len(zipped) > MAX_ZIP_BYTES:
        raise ActivityFailed(
            f"the bundle is {len(zipped)} bytes, over Lambda's {MAX_ZIP_BYTES} for a direct "
            "upload; pass dependencies_layer_arn to leave the dependencies out"
        )
    region_name = resolve_region(region, configuration)
    lam = client("lambda", region_name, configuration, secrets)
    resource = f"function {function_name!r} in {region_name}"
    settings: Dict[str, Any] = {
        "Role": role_arn,
        "Handler": HANDLER,
        "Runtime": runtime,
        "Timeout": function_timeout_seconds,
        "MemorySize": memory_mb,
        "Layers": [dependencies_layer_arn] if dependencies_layer_arn else [],
        "Description": "chaosaws-serverless customer-behaviour load generator",
    }
    waiter_config = {"Delay": 2, "MaxAttempts": 150}
    created = not _function_exists(lam, function_name, resource)
    if created:
        with aws_errors("lambda:CreateFunction", resource):
            answer = lam.create_function(
                FunctionName=function_name,
                Code={"ZipFile": zipped},
                Architectures=["x86_64"],
                Tags={"chaosaws-serverless": "loadgen"},
                **settings,
            )
            lam.get_waiter("function_active_v2").wait(
                FunctionName=function_name, WaiterConfig=waiter_config
            )
    else:
        with aws_errors("lambda:UpdateFunctionCode", resource):
            lam.update_function_code(FunctionName=function_name, ZipFile=zipped)
            lam.get_waiter("function_updated_v2").wait(
                FunctionName=function_name, WaiterConfig=waiter_config
            )
        with aws_errors("lambda:UpdateFunctionConfiguration", resource):
            answer = lam.update_function_configuration(FunctionName=function_name, **settings)
            lam.get_waiter("function_updated_v2").wait(
                FunctionName=function_name, WaiterConfig=waiter_config
            )
    return {
        "function_name": function_name,
        "function_arn": answer["FunctionArn"],
        "region": region_name,
        "runtime": runtime,
        "code_sha256": answer.get("CodeSha256"),
        "code_size": answer.get("CodeSize", len(zipped)),
        "created": created,
        "dependencies": vendored if dependencies_layer_arn is None else [dependencies_layer_arn],
    }


def check_invocations(invocations: int) -> None:
    if (
        isinstance(invocations, bool)
        or not isinstance(invocations, int)
        or not (1 <= invocations <= 1000)
    ):
        raise ActivityFailed(f"invocations must be an integer 1..1000, got {invocations!r}")


def rate_per_invocation(rate_per_second: float, invocations: int) -> float:
    """Split the rate over the invocations; a non-number is left to ``LoadConfig`` to reject."""
    if isinstance(rate_per_second, int | float) and not isinstance(rate_per_second, bool):
        return rate_per_second / invocations
    return rate_per_second


def invoke(
    config: LoadConfig,
    publish: str,
    invocations: int,
    function_name: str,
    region_name: str,
    configuration: Configuration,
    secrets: Secrets,
) -> Dict[str, Any]:
    """Invoke the function asynchronously with a checked config (``start_load_generator``)."""
    lam = client("lambda", region_name, configuration, secrets)
    resource = f"function {function_name!r} in {region_name}"
    with aws_errors("lambda:GetFunctionConfiguration", resource):
        function_timeout = lam.get_function_configuration(FunctionName=function_name)["Timeout"]
    needed = config.duration_seconds + config.timeout_seconds + DEADLINE_MARGIN_SECONDS
    if needed > function_timeout:
        raise ActivityFailed(
            f"duration_seconds {config.duration_seconds} + timeout_seconds "
            f"{config.timeout_seconds} + {DEADLINE_MARGIN_SECONDS} s exceed the function's "
            f"timeout of {function_timeout} s; shorten the run or redeploy with a longer "
            "function_timeout_seconds (at most 900)"
        )
    event = {
        "url": config.url,
        "rate_per_second": config.rate_per_second,
        "duration_seconds": config.duration_seconds,
        "client_region": config.client_region,
        "publish": publish,
        "namespace": config.namespace,
        "timeout_seconds": config.timeout_seconds,
        "interval_seconds": config.interval_seconds,
    }
    payload = json.dumps(event).encode()
    status_codes: List[int] = []
    request_ids: List[str] = []
    with aws_errors("lambda:InvokeFunction", resource):
        for _ in range(invocations):
            answer = lam.invoke(FunctionName=function_name, InvocationType="Event", Payload=payload)
            status_codes.append(answer["StatusCode"])
            request_ids.append(answer.get("ResponseMetadata", {}).get("RequestId", ""))
    return {
        "function_name": function_name,
        "region": region_name,
        "invocations": invocations,
        "rate_per_invocation": config.rate_per_second,
        "duration_seconds": config.duration_seconds,
        "status_codes": status_codes,
        "request_ids": request_ids,
    }


def delete(
    function_name: str,
    region: Optional[str],
    configuration: Configuration,
    secrets: Secrets,
) -> Dict[str, Any]:
    """Delete the load generator's function if it exists (``delete_load_generator``)."""
    check_function_name(function_name)
    region_name = resolve_region(region, configuration)
    lam = client("lambda", region_name, configuration, secrets)
    resource = f"function {function_name!r} in {region_name}"
    if not _function_exists(lam, function_name, resource):
        return {"function_name": function_name, "region": region_name, "deleted": False}
    with aws_errors("lambda:DeleteFunction", resource):
        lam.delete_function(FunctionName=function_name)
    return {"function_name": function_name, "region": region_name, "deleted": True}


def check_function_name(function_name: str) -> None:
    if not isinstance(function_name, str) or not _FUNCTION_NAME.match(function_name):
        raise ActivityFailed(
            f"function_name must be 1..64 letters, digits, '-' or '_', got {function_name!r}"
        )


def _function_exists(lam: Any, function_name: str, resource: str) -> bool:
    from botocore.exceptions import ClientError

    try:
        lam.get_function_configuration(FunctionName=function_name)
    except ClientError as error:
        if error_code(error) == "ResourceNotFoundException":
            return False
        with aws_errors("lambda:GetFunctionConfiguration", resource):
            raise
    return True
