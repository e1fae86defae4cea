"""One Lambda fault of an FIS template, and the checks it passes before a template is built."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Optional

from chaoslib.exceptions import ActivityFailed

from chaosaws_serverless.awslambda.engine import MAX_LATENCY_MS
from chaosaws_serverless.fis.validation import SELECTION_MODE, TAGS_MAX
from chaosaws_serverless.patterns import FUNCTION_ARN, PLAIN_FUNCTION_NAME

__all__ = ["LambdaFault", "check_fault", "function_name"]


@dataclass(frozen=True)
class LambdaFault:
    """One Lambda fault of an experiment: what ``inject_latency``/``inject_error`` would do."""

    function_name: str
    kind: str = "latency"  # "latency" | "error"
    latency_ms: int = 0
    status_code: int = 500
    probability: float = 1.0
    alias: Optional[str] = None
    # A tag target instead of one function (``*_by_tags``): FIS's own
    # ``resourceTags`` + ``selectionMode`` (fis-extension mode only).
    tags: Optional[Mapping[str, str]] = None
    selection: str = "ALL"

    @property
    def label(self) -> str:
        """The function's name, or the tag target in words."""
        if self.tags:
            tags = ", ".join(f"{k}={v}" for k, v in sorted(self.tags.items()))
            return f"functions tagged {tags} ({self.selection})"
        return function_name(self.function_name)


def _check_tag_target(fault: LambdaFault) -> None:
    tags = fault.tags
    if (
        not isinstance(tags, Mapping)
        or not tags
        or not all(
            isinstance(k, str) and 1 <= len(k) <= 128 and isinstance(v, str) and len(v) <= 256
            for k, v in tags.items()
        )
    ):
        raise ActivityFailed(f"tags must map tag keys to string values, got {tags!r}")
    if len(tags) > TAGS_MAX:
        raise ActivityFailed(f"an FIS target takes at most {TAGS_MAX} tags, got {len(tags)}")
    if not SELECTION_MODE.match(fault.selection or ""):
        raise ActivityFailed(
            f"selection must be ALL, COUNT(n) or PERCENT(p) (FIS selectionMode), got "
            f"{fault.selection!r}"
        )


def check_fault(fault: LambdaFault, region: str, mode: str) -> None:
    match = FUNCTION_ARN.match(fault.function_name)
    if fault.tags is not None:
        _check_tag_target(fault)
    elif match:
        if match["region"] != region:
            raise ActivityFailed(
                f"function {fault.function_name!r} is in {match['region']}, the template in "
                f"{region}: an FIS template acts in its own region; build one per region"
            )
    elif not PLAIN_FUNCTION_NAME.match(fault.function_name or ""):
        raise ActivityFailed(
            f"function_name must be a Lambda function name or ARN, got {fault.function_name!r}"
        )
    if fault.kind not in ("latency", "error"):
        raise ActivityFailed(f"fault kind must be 'latency' or 'error', got {fault.kind!r}")
    if fault.kind == "latency" and not (
        isinstance(fault.latency_ms, int) and 1 <= fault.latency_ms <= MAX_LATENCY_MS
    ):
        raise ActivityFailed(f"latency_ms must be 1..{MAX_LATENCY_MS}, got {fault.latency_ms!r}")
    if fault.kind == "error" and not (
        isinstance(fault.status_code, int) and 100 <= fault.status_code <= 599
    ):
        raise ActivityFailed(f"status_code must be 100..599, got {fault.status_code!r}")
    if not isinstance(fault.probability, int | float) or not 0 < fault.probability <= 1:
        raise ActivityFailed(
            f"probability must be in (0, 1] for an FIS fault, got {fault.probability!r}"
        )


def function_name(name_or_arn: str) -> str:
    match = FUNCTION_ARN.match(name_or_arn)
    return match["name"] if match else name_or_arn
