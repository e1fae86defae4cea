"""A function's state as the engine reads and records it: configuration, tags, fault record.

The record lives in the function's tags (``record``), read with ListTags and
never from GetFunction: since 2024 GetFunction leaves ``Tags`` out when the
caller may not call ``lambda:ListTags``, so a missing key there means "not
allowed to see", not "no record".
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Optional

from chaosaws_serverless.awslambda.engine.arguments import FunctionRef
from chaosaws_serverless.awslambda.engine.calls import call, get_function
from chaosaws_serverless.awslambda.engine.contracts import (
    CONTRACTS,
    DEFAULT_CONTRACT,
    FaultContract,
)
from chaosaws_serverless.awslambda.engine.errors import FaultError
from chaosaws_serverless.awslambda.engine.record import (
    FaultRecord,
    RecordError,
    decode,
    record_keys,
)


@dataclass
class FunctionState:
    """A function as read once: GetFunction's answer, its tags and its fault record (None: none)."""

    function: dict[str, Any]
    tags: dict[str, str]
    record: Optional[FaultRecord]

    @property
    def configuration(self) -> dict[str, Any]:
        configuration: dict[str, Any] = self.function["Configuration"]
        return configuration


def environment_of(configuration: Mapping[str, Any]) -> dict[str, str]:
    return dict((configuration.get("Environment") or {}).get("Variables") or {})


def layers_of(configuration: Mapping[str, Any]) -> list[str]:
    return [layer["Arn"] for layer in configuration.get("Layers") or []]


def unqualified_arn(configuration: Mapping[str, Any]) -> str:
    arn = str(configuration["FunctionArn"])
    return arn[: -len(":$LATEST")] if arn.endswith(":$LATEST") else arn


def read_tags(lam: Any, configuration: Mapping[str, Any], resource: str) -> dict[str, str]:
    """Return the function's tags from ListTags, never from GetFunction."""
    answer = call(
        lam, "list_tags", "lambda:ListTags", resource, Resource=unqualified_arn(configuration)
    )
    return dict(answer.get("Tags") or {})


def read_record(tags: Mapping[str, str], resource: str) -> Optional[FaultRecord]:
    """Return the fault record the tags hold (None: none), refusing a damaged one."""
    try:
        return decode(tags)
    except RecordError as error:
        raise FaultError(
            f"the fault record on {resource} is damaged ({error}); inspect its "
            "'chaosaws-serverless:fault:*' tags, restore the function by hand and delete them"
        ) from error


def read_function(lam: Any, ref: FunctionRef) -> FunctionState:
    """Return the function (GetFunction), its tags (ListTags) and its record."""
    function = get_function(lam, ref)
    tags = read_tags(lam, function["Configuration"], ref.resource)
    return FunctionState(function, tags, read_record(tags, ref.resource))


def contract_of(record: Optional[FaultRecord]) -> FaultContract:
    """Return the contract a record was injected with (the default without a record)."""
    if record is not None and record.contract in CONTRACTS:
        return CONTRACTS[record.contract]
    return DEFAULT_CONTRACT


def write_record(lam: Any, arn: str, resource: str, record_tags: Mapping[str, str]) -> None:
    """Write the record's tags, then remove chunks of a longer record left from before."""
    call(lam, "tag_resource", "lambda:TagResource", resource, Resource=arn, Tags=dict(record_tags))
    # Stale chunks are found on a fresh read: another process may have written a
    # longer record since our read (tags have no conditional write), and a
    # leftover chunk would make the record undecodable, so no rollback could run.
    current = call(lam, "list_tags", "lambda:ListTags", resource, Resource=arn)
    stale = [key for key in record_keys(current.get("Tags") or {}) if key not in record_tags]
    if stale:
        call(lam, "untag_resource", "lambda:UntagResource", resource, Resource=arn, TagKeys=stale)


def layer_architectures(lam: Any, layer_arn: str) -> list[str]:
    """Return a layer version's CompatibleArchitectures (GetLayerVersion)."""
    name_arn, version = layer_arn.rsplit(":", 1)
    layer = call(
        lam,
        "get_layer_version",
        "lambda:GetLayerVersion",
        f"layer {layer_arn!r}",
        LayerName=name_arn,
        VersionNumber=int(version),
    )
    return list(layer.get("CompatibleArchitectures") or [])
