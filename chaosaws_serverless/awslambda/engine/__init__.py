"""The Lambda fault engine: what injecting and removing a fault means, with boto3 only.

Everything in this package is the script of the SSM Automation document:
``chaosaws_serverless.ssm.document`` concatenates these modules (with
``chaosaws_serverless.patterns`` before them and the step's handler after),
their package imports removed, and SSM's ``aws:executeScript`` runs it on
Python 3.11 with boto3 and no chaoslib. So a module here imports only the
standard library, botocore and its siblings; and the activities
(``awslambda.faults``, ``tag_targets``, ``emergency_stop``), the doctor and the
SSM step run the same code.

Modules, each on the ones before it:

================  ===================================================================
``contracts``     how a chaos extension is switched on: its variables, read as it reads them
``record``        the fault record kept in the function's tags (format version 1)
``merge``         pure planning of an injection and of its three-way-merge rollback
``errors``        ``FaultError`` (a refusal) and ``CallFailed`` (an AWS call failed)
``arguments``     validated values: ``FunctionRef``, ``Fault``, ``Stamp``
``preflight``     the refusals of an injection as sentences, before any change (the doctor's)
``calls``         Lambda calls: conflicts retried, revision checks, waiting for updates
``function``      a function's state as read: configuration, tags, record
``rollback``      ``remove``: the record's changes merged out, the alias put back
``injection``     ``inject``: check, apply, publish (with an alias)
================  ===================================================================

Errors are ``FaultError`` / ``CallFailed``; the chaoslib side maps them to
``ActivityFailed`` at one boundary, ``awslambda.faults.engine_errors``.
Logging goes through the ``log(level, message)`` callable the caller passes.
"""

from chaosaws_serverless.awslambda.engine.arguments import (
    LATEST,
    Fault,
    FunctionRef,
    Stamp,
    attached_chaos_layer,
    check_layer_arn,
    error_fault,
    function_ref,
    function_region,
    latency_fault,
    now,
    validate_alias,
    validate_region_argument,
)
from chaosaws_serverless.awslambda.engine.calls import (
    CLIENT_RETRIES,
    NOT_FOUND,
    call,
    get_function,
    update_configuration,
    wait_until_updated,
)
from chaosaws_serverless.awslambda.engine.contracts import (
    CHAOS_LAMBDA_EXTENSION,
    DEFAULT_CONTRACT,
    EXEC_WRAPPER,
    MAX_LATENCY_MS,
    FaultContract,
    latency_seconds,
    published_layer_arn,
    response_switches_read,
)
from chaosaws_serverless.awslambda.engine.errors import CallFailed, FaultError
from chaosaws_serverless.awslambda.engine.function import (
    FunctionState,
    contract_of,
    environment_of,
    layer_architectures,
    layers_of,
    read_function,
    read_tags,
)
from chaosaws_serverless.awslambda.engine.injection import inject
from chaosaws_serverless.awslambda.engine.preflight import injection_refusals
from chaosaws_serverless.awslambda.engine.record import (
    FIRST_RECORD_KEY,
    RECORD_TAG_PREFIX,
    FaultRecord,
)
from chaosaws_serverless.awslambda.engine.rollback import remove

__all__ = [
    "CHAOS_LAMBDA_EXTENSION",
    "CLIENT_RETRIES",
    "DEFAULT_CONTRACT",
    "EXEC_WRAPPER",
    "FIRST_RECORD_KEY",
    "LATEST",
    "MAX_LATENCY_MS",
    "NOT_FOUND",
    "RECORD_TAG_PREFIX",
    "CallFailed",
    "Fault",
    "FaultContract",
    "FaultError",
    "FaultRecord",
    "FunctionRef",
    "FunctionState",
    "Stamp",
    "attached_chaos_layer",
    "call",
    "check_layer_arn",
    "contract_of",
    "environment_of",
    "error_fault",
    "function_ref",
    "function_region",
    "get_function",
    "inject",
    "injection_refusals",
    "latency_fault",
    "latency_seconds",
    "layer_architectures",
    "layers_of",
    "now",
    "published_layer_arn",
    "read_function",
    "read_tags",
    "remove",
    "response_switches_read",
    "update_configuration",
    "validate_alias",
    "validate_region_argument",
    "wait_until_updated",
]
