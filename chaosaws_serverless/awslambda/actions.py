"""Actions on Lambda functions: latency or errors through a chaos extension layer, throttles.

Each injection records what it replaces in the function's own tags (formats in
``awslambda.engine.record`` and ``awslambda.throttle``) before changing it, so
its rollback restores the exact prior state from any process, even after a
crash, as a three-way merge that keeps what someone else changed meanwhile.
One call touches one function: Chaos Toolkit composes several, and they are
safe to run as concurrent background activities.
"""

from typing import Any, Dict, Optional

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets

from chaosaws_serverless.aws import resolve_region
from chaosaws_serverless.awslambda import (
    emergency_stop,
    faults,
    tag_targets,
    throttle,
    throttle_tags,
)

__all__ = [
    "inject_error",
    "inject_error_by_tags",
    "inject_latency",
    "inject_latency_by_tags",
    "inject_throttle",
    "inject_throttle_by_tags",
    "remove_all_faults",
    "remove_faults",
    "remove_faults_by_tags",
    "remove_throttle",
    "remove_throttle_by_tags",
]


def inject_latency(
    function_name: str,
    latency_ms: int,
    probability: float = 1.0,
    region: Optional[str] = None,
    alias: Optional[str] = None,
    layer_arn: Optional[str] = None,
    deadline_seconds: Optional[int] = None,
    *,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> Dict[str, Any]:
    """Make a share of a Lambda function's invocations wait ``latency_ms`` before running.

    Appends the chaos extension layer (``layer_arn``, else the configuration's
    ``chaos_layer_arns`` entry for the region, else the extension's published
    layer for the function's region and architecture; string, optional) to
    the function's layers and sets ``AWS_LAMBDA_EXEC_WRAPPER`` and the
    extension's latency variables; the extension sleeps before the handler
    runs, within the function's timeout. ``latency_ms`` (integer, 1..900000) is rounded UP to
    whole seconds, the only unit the extension sleeps in (it reads anything
    else as 900 s, so only integers are ever written). ``probability``
    (number, 0..1) is the share of invocations delayed. ``alias`` (string,
    optional): publish a version with the fault and point the alias at it; the
    unqualified function is left as it was. ``region`` (string, optional): the
    function's region, else ``aws_region``.

    Before its first change it arms a dead man's switch
    (``chaosaws_serverless.switch``): a one-time EventBridge Scheduler schedule
    that starts the package's SSM document in restore mode for exactly this
    fault, so the fault ends even when the process that injected it dies: the
    restore starts at the latest ``deadline_seconds`` (integer, 120..604800,
    optional; default the configuration's ``fault_deadline_seconds``, else
    14400) from now, at the earliest a minute before (Scheduler's precision). It needs the
    configuration's ``fault_switch_role_arn`` and ``automation_role_arn`` and
    the document registered in the region; without them the injection is
    refused unless the configuration says ``fault_switch: "off"``.

    Rollback partner: ``remove_faults`` (it deletes the switch). A second
    injection on the same target replaces the fault in place (never stacks);
    one on another target is refused. Refused before any change: a layer from another region or
    architecture, a sixth layer, another ``AWS_LAMBDA_EXEC_WRAPPER``, an
    environment over 4 KB, an OS-only (``provided*``) runtime, a container
    image, a qualified ``function_name`` (use ``alias``). Returns
    ``function_name``, ``region``, ``alias``, ``fault``, ``latency_ms``,
    ``probability``, ``layer_arn``, ``variables_set`` (names), ``since``,
    with a switch ``switch`` (the schedule's name) and ``deadline`` (UTC);
    with an alias also
    ``faulty_version`` and ``original_version``.

    ```json
    {"type": "action", "name": "slow-down-us-hello",
     "provider": {"type": "python", "module": "chaosaws_serverless.awslambda.actions",
                  "func": "inject_latency",
                  "arguments": {"function_name": "api-hello", "latency_ms": 60000,
                                "region": "us-east-1"}}}
    ```
    """
    fault = faults.latency_fault(latency_ms, probability)
    return faults.inject(
        function_name,
        fault,
        region,
        alias,
        layer_arn,
        configuration,
        secrets,
        deadline_seconds=deadline_seconds,
    )


def inject_error(
    function_name: str,
    status_code: int = 500,
    body: Optional[str] = None,
    probability: float = 1.0,
    region: Optional[str] = None,
    alias: Optional[str] = None,
    layer_arn: Optional[str] = None,
    deadline_seconds: Optional[int] = None,
    *,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> Dict[str, Any]:
    """Make a share of a Lambda function's invocations answer ``status_code`` after running.

    Same mechanics, arguments and refusals as ``inject_latency``, with the
    extension's response-change variables (both spellings: v0.1.6's
    ``..._ENABLE_CHANGE_REPONSE_BODY``, read by the published layers, and
    main's ``..._ENABLE_CHANGE_RESPONSE_BODY``). The handler still runs (its
    side effects happen); the extension then replaces its answer by
    ``{"statusCode": status_code, "body": body}`` (``status_code``: integer,
    100..599; ``body``: string, optional, default a short JSON message) for a
    share ``probability`` (number, 0..1) of invocations. Only API Gateway
    proxy integrations (and callers reading ``statusCode``) see the status; a
    direct Invoke sees a normal payload holding it. Rollback partner:
    ``remove_faults``. Returns the same keys as ``inject_latency`` with
    ``status_code`` instead of ``latency_ms``.

    ```json
    {"type": "action", "name": "fail-some-us-hello",
     "provider": {"type": "python", "module": "chaosaws_serverless.awslambda.actions",
                  "func": "inject_error",
                  "arguments": {"function_name": "api-hello", "status_code": 500,
                                "probability": 0.02, "region": "us-east-1"}}}
    ```
    """
    fault = faults.error_fault(status_code, body, probability)
    return faults.inject(
        function_name,
        fault,
        region,
        alias,
        layer_arn,
        configuration,
        secrets,
        deadline_seconds=deadline_seconds,
    )


def remove_faults(
    function_name: str,
    region: Optional[str] = None,
    alias: Optional[str] = None,
    *,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> Dict[str, Any]:
    """Remove the fault this package injected into a Lambda function, restoring its prior state.

    Reads the record on the function's tags and merges the injection out: the
    variables it set are restored (or deleted when they were new) unless
    someone changed them since, the layer it appended is removed, other layers
    and variables are untouched; with an alias, the alias points back to its
    recorded version and the faulty version is deleted. The record is removed
    last. Idempotent: without a record it logs so and changes nothing. Works
    from any process (the rollback partner of ``inject_latency`` and
    ``inject_error``). ``alias`` (string, optional) is informational: the
    recorded fault is removed whatever its target.

    Returns ``function_name``, ``region``, ``removed`` (bool), and when
    removed ``fault``, ``target``, ``injected_by``, ``injected_at``,
    ``removed_layers``, ``restored_variables``, ``removed_variables``,
    ``kept_variables`` (names only).

    ```json
    {"type": "action", "name": "restore-us-hello",
     "provider": {"type": "python", "module": "chaosaws_serverless.awslambda.actions",
                  "func": "remove_faults",
                  "arguments": {"function_name": "api-hello", "region": "us-east-1"}}}
    ```
    """
    return faults.remove(function_name, region, alias, configuration, secrets)


def remove_all_faults(
    region: Optional[str] = None,
    *,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> Dict[str, Any]:
    """Remove every fault this package injected, in one region or in every region it may be in.

    The emergency stop: in ``region`` (string, optional), else in every region
    the configuration names (``aws_regions``, ``aws_region``, the keys of
    ``chaos_layer_arns``), else in every region enabled for the account
    (``ec2:DescribeRegions``), all at once, finds the functions carrying a
    fault record with one Resource Groups Tagging API call per 100 functions
    found (``tag:GetResources``; when that API is denied, ListFunctions +
    ListTags on every function) and runs ``remove_faults`` on each, a few at a
    time per region (``lambda_restore_concurrency``, default 4: inside
    Lambda's control-plane quota; throttles are retried). Returns ``visited``
    (the regions) and ``regions_from``; ``regions``: per region ``path``
    (``tagging-api`` or ``list-functions``), ``examined``, ``found``,
    ``restored``, ``failed``, ``vanished``; ``functions``: the
    ``remove_faults`` results; ``problems``: per function that was not
    restored, ``outcome`` (``vanished``, ``denied``, ``throttled``,
    ``failed``) and ``detail``. A function that cannot be restored fails the
    action after every other one was restored. Same as ``chaosaws-serverless
    rollback``.

    ```json
    {"type": "action", "name": "remove-every-lambda-fault",
     "provider": {"type": "python", "module": "chaosaws_serverless.awslambda.actions",
                  "func": "remove_all_faults", "arguments": {}}}
    ```
    """
    given = region is not None and region != ""  # 0, [] ...: refused by resolve_region
    regions = [resolve_region(region, configuration)] if given else None
    outcome = emergency_stop.run(regions, configuration, secrets)
    failed = outcome.failures()
    if failed:
        done = ", ".join(f"{r.region} {r.restored}/{r.found}" for r in outcome.results)
        raise ActivityFailed(
            f"the emergency stop could not restore everything ({done}); not restored: "
            f"{'; '.join(failed)}. Fix what the errors name and run it again: it is idempotent"
        )
    return outcome.as_dict()


# --- blast radius by tags (``tag_targets``) ------------------------------------------------


def inject_latency_by_tags(
    tags: Dict[str, str],
    latency_ms: int,
    selection: str = "ALL",
    probability: float = 1.0,
    region: Optional[str] = None,
    layer_arn: Optional[str] = None,
    selection_id: Optional[str] = None,
    deadline_seconds: Optional[int] = None,
    *,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> Dict[str, Any]:
    """Make a share of the invocations of the functions chosen by their tags wait ``latency_ms``.

    ``tags`` (object, key -> exact value): the functions of ``region``
    carrying all of them are the candidates; ``selection`` (string) takes
    ``ALL``, ``COUNT(n)`` or ``PERCENT(p)`` of them at random, as AWS FIS's
    selectionMode (PERCENT rounds down, at least one). Each chosen function
    gets exactly what ``inject_latency`` does, its record carrying
    ``selection_id`` (string, optional; default derived from the region and
    the tags; give each concurrent experiment on the same tags its own).

    All or nothing: every chosen function passes every check of
    ``inject_latency`` before any is changed (each refused function is named);
    more functions than the configuration's ``lambda_max_functions_per_action``
    (default 20) is refused; a selection id another run holds is refused.
    Each function gets its own dead man's switch, as ``inject_latency``
    (``deadline_seconds``, integer, optional).
    Rollback partner: ``remove_faults_by_tags`` with the same ``tags``,
    ``region`` and ``selection_id``. Returns ``selection_id``, ``matched``,
    ``functions`` (names chosen), the fault's parameters and ``found_by``.

    ```json
    {"type": "action", "name": "slow-down-a-fifth-of-checkout",
     "provider": {"type": "python", "module": "chaosaws_serverless.awslambda.actions",
                  "func": "inject_latency_by_tags",
                  "arguments": {"tags": {"service": "checkout"}, "latency_ms": 3000,
                                "selection": "PERCENT(20)", "region": "us-east-1"}}}
    ```
    """
    fault = faults.latency_fault(latency_ms, probability)
    return tag_targets.inject_by_tags(
        tags,
        fault,
        selection,
        region,
        layer_arn,
        selection_id,
        configuration,
        secrets,
        deadline_seconds=deadline_seconds,
    )


def inject_error_by_tags(
    tags: Dict[str, str],
    status_code: int = 500,
    body: Optional[str] = None,
    selection: str = "ALL",
    probability: float = 1.0,
    region: Optional[str] = None,
    layer_arn: Optional[str] = None,
    selection_id: Optional[str] = None,
    deadline_seconds: Optional[int] = None,
    *,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> Dict[str, Any]:
    """Make a share of the invocations of the functions chosen by their tags answer ``status_code``.

    Same targeting, selection, ceiling and all-or-nothing rule as
    ``inject_latency_by_tags``, with the fault of ``inject_error``. Rollback
    partner: ``remove_faults_by_tags``.

    ```json
    {"type": "action", "name": "fail-two-checkout-functions",
     "provider": {"type": "python", "module": "chaosaws_serverless.awslambda.actions",
                  "func": "inject_error_by_tags",
                  "arguments": {"tags": {"service": "checkout"}, "status_code": 503,
                                "selection": "COUNT(2)"}}}
    ```
    """
    fault = faults.error_fault(status_code, body, probability)
    return tag_targets.inject_by_tags(
        tags,
        fault,
        selection,
        region,
        layer_arn,
        selection_id,
        configuration,
        secrets,
        deadline_seconds=deadline_seconds,
    )


def remove_faults_by_tags(
    tags: Dict[str, str],
    region: Optional[str] = None,
    selection_id: Optional[str] = None,
    *,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> Dict[str, Any]:
    """Remove the faults a tag-targeted injection made, restoring exactly those functions.

    Finds, from any process, the functions whose fault record carries the
    selection id (``selection_id``, else the one derived from ``region`` and
    ``tags``, as the injection did) and runs ``remove_faults`` on each; the
    records of other experiments are left alone. Idempotent. Returns
    ``selection_id``, ``restored`` (names) and ``functions`` (the
    ``remove_faults`` results).

    ```json
    {"type": "action", "name": "restore-checkout",
     "provider": {"type": "python", "module": "chaosaws_serverless.awslambda.actions",
                  "func": "remove_faults_by_tags",
                  "arguments": {"tags": {"service": "checkout"}, "region": "us-east-1"}}}
    ```
    """
    return tag_targets.remove_by_tags(tags, region, selection_id, configuration, secrets)


# --- throttles: reserved concurrency 0 (``awslambda.throttle``) ---------------------------


def inject_throttle(
    function_name: str,
    region: Optional[str] = None,
    *,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> Dict[str, Any]:
    """Throttle a Lambda function: set its reserved concurrency to 0 (the console's "Throttle").

    Every version and alias stops running: synchronous callers get 429
    ``TooManyRequestsException`` (behind API Gateway: 500), asynchronous
    invocations and event sources retry. Any runtime or package type (no
    layer). The reservation before (none = unreserved) is recorded in the
    function's tags first; the account's 100 unreserved executions and
    provisioned concurrency: ``awslambda.throttle``. Refused before any change:
    a qualified name, another run's throttle, no room for the record's tag.
    ``region`` (string, optional). Rollback partner: ``remove_throttle``.
    Returns ``function_name``, ``region``, ``fault``,
    ``reserved_concurrency_before``, ``since``.

    ```json
    {"type": "action", "name": "throttle-us-hello",
     "provider": {"type": "python", "module": "chaosaws_serverless.awslambda.actions",
                  "func": "inject_throttle",
                  "arguments": {"function_name": "api-hello", "region": "us-east-1"}}}
    ```
    """
    return throttle.inject(function_name, region, configuration, secrets)


def remove_throttle(
    function_name: str,
    region: Optional[str] = None,
    *,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> Dict[str, Any]:
    """Remove the throttle this package set on a Lambda function, restoring its reservation.

    If the reserved concurrency is still the throttle's 0, puts the recorded
    one back (``PutFunctionConcurrency``, ``DeleteFunctionConcurrency`` when
    unreserved); another value is someone else's change, kept. Record removed
    last; idempotent, from any process. Returns ``function_name``, ``region``,
    ``removed`` and ``restored_to``, ``kept_concurrent_change``.

    ```json
    {"type": "action", "name": "unthrottle-us-hello",
     "provider": {"type": "python", "module": "chaosaws_serverless.awslambda.actions",
                  "func": "remove_throttle",
                  "arguments": {"function_name": "api-hello", "region": "us-east-1"}}}
    ```
    """
    return throttle.remove(function_name, region, configuration, secrets)


def inject_throttle_by_tags(
    tags: Dict[str, str],
    selection: str = "ALL",
    region: Optional[str] = None,
    selection_id: Optional[str] = None,
    *,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> Dict[str, Any]:
    """Throttle the Lambda functions chosen by their tags (reserved concurrency 0), all or none.

    Same ``selection`` (``ALL``, ``COUNT(n)``, ``PERCENT(p)``), ceiling and
    all-or-nothing rule as ``inject_latency_by_tags``; records carry
    ``selection_id`` (string, optional). Rollback partner:
    ``remove_throttle_by_tags``. Returns ``selection_id``, ``matched``,
    ``functions``, ``found_by``.

    ```json
    {"type": "action", "name": "throttle-every-us-function",
     "provider": {"type": "python", "module": "chaosaws_serverless.awslambda.actions",
                  "func": "inject_throttle_by_tags",
                  "arguments": {"tags": {"app": "example"}, "region": "us-east-1"}}}
    ```
    """
    return throttle_tags.inject_by_tags(
        tags, selection, region, selection_id, configuration, secrets
    )


def remove_throttle_by_tags(
    tags: Dict[str, str],
    region: Optional[str] = None,
    selection_id: Optional[str] = None,
    *,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> Dict[str, Any]:
    """Remove the throttles a tag-targeted throttle set, restoring exactly those functions.

    As ``remove_faults_by_tags``, for the selection's throttle records.
    Returns ``selection_id``, ``restored`` (names), ``functions``.

    ```json
    {"type": "action", "name": "unthrottle-every-us-function",
     "provider": {"type": "python", "module": "chaosaws_serverless.awslambda.actions",
                  "func": "remove_throttle_by_tags",
                  "arguments": {"tags": {"app": "example"}, "region": "us-east-1"}}}
    ```
    """
    return throttle_tags.remove_by_tags(tags, region, selection_id, configuration, secrets)
