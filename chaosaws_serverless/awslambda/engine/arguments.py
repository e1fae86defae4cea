"""What an injection is asked to do, validated before any AWS call (pure).

:func:`function_ref` validates the function (name or ARN), its region and the
alias once and returns a :class:`FunctionRef`, the only form in which the rest
of the engine takes a function. :func:`latency_fault` and :func:`error_fault`
validate a fault's arguments and return a :class:`Fault`: the contract's
variables that switch it on and the parameters its record keeps. A
:class:`Stamp` says who injects, when, and for which tag selection. Every
refusal is a :class:`FaultError` naming the value and the fix.
"""

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Optional

from chaosaws_serverless.awslambda.engine.contracts import (
    DEFAULT_CONTRACT,
    MAX_LATENCY_MS,
    FaultContract,
)
from chaosaws_serverless.awslambda.engine.errors import FaultError
from chaosaws_serverless.patterns import ALIAS_NAME, FUNCTION_NAME, LAYER_ARN

LATEST = "$LATEST"


@dataclass(frozen=True)
class FunctionRef:
    """An unqualified Lambda function in a region, and the alias to fault (None: $LATEST)."""

    name: str
    region: str
    alias: Optional[str] = None

    @property
    def resource(self) -> str:
        """The function as the engine's messages name it."""
        return f"function {self.name!r} in {self.region}"

    @property
    def alias_resource(self) -> str:
        return f"alias {self.alias!r} of {self.resource}"

    @property
    def target(self) -> str:
        """What the fault goes on: the alias, else $LATEST."""
        return self.alias or LATEST


@dataclass(frozen=True)
class Fault:
    """A validated fault: the variables that switch it on and the parameters its record keeps."""

    environment: dict[str, str]
    params: dict[str, Any]  # {"kind": "latency" | "error", ...}
    contract: FaultContract = field(default=DEFAULT_CONTRACT)

    @property
    def kind(self) -> str:
        return str(self.params["kind"])


@dataclass(frozen=True)
class Stamp:
    """Who injects and when (the record keeps both), its tag selection and its switch.

    ``switch``: the name of the dead man's switch (an EventBridge Scheduler
    schedule) armed for this fault, kept in the record so that the switch's
    restore removes exactly this fault and the rollback deletes the schedule.
    """

    by: str
    at: str
    selection: Optional[str] = None
    switch: Optional[str] = None


def now() -> str:
    """Return the record's timestamp: UTC, to the second."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool):
        raise FaultError(f"{name} must be a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise FaultError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise FaultError(f"{name} must be a finite number, got {value!r}")
    return number


def validate_latency_ms(value: Any, name: str = "latency_ms") -> int:
    """Return the latency as an int in 1..900000 (the extension's 900 s ceiling)."""
    number = _number(name, value)
    if not 1 <= number <= MAX_LATENCY_MS or number != int(number):
        raise FaultError(
            f"{name} must be a whole number of milliseconds in 1..{MAX_LATENCY_MS}, got "
            f"{value!r}; the extension sleeps whole seconds, so it is rounded up to seconds"
        )
    return int(number)


def validate_probability(value: Any, name: str = "probability") -> float:
    """Return the probability as a float in 0..1."""
    number = _number(name, value)
    if not 0.0 <= number <= 1.0:
        raise FaultError(
            f"{name} must be in 0..1 (a share of invocations, 1.0 = all), got {value!r}"
        )
    return number


def validate_status_code(value: Any) -> int:
    """Return ``status_code`` as an int in 100..599."""
    number = _number("status_code", value)
    if not 100 <= number <= 599 or number != int(number):
        raise FaultError(f"status_code must be an HTTP status in 100..599, got {value!r}")
    return int(number)


def latency_fault(
    latency_ms: Any,
    probability: Any,
    contract: FaultContract = DEFAULT_CONTRACT,
    *,
    names: tuple[str, str] = ("latency_ms", "probability"),
) -> Fault:
    """Return the latency fault (``names``: how the caller calls the two arguments)."""
    latency = validate_latency_ms(latency_ms, names[0])
    chance = validate_probability(probability, names[1])
    return Fault(
        environment=contract.latency_environment(latency, chance),
        params={"kind": "latency", "latency_ms": latency, "probability": chance},
        contract=contract,
    )


def error_fault(
    status_code: Any, body: Any, probability: Any, contract: FaultContract = DEFAULT_CONTRACT
) -> Fault:
    """Return the error fault: answer ``status_code`` with ``body`` (None: a short message)."""
    code = validate_status_code(status_code)
    chance = validate_probability(probability)
    if body is not None and not isinstance(body, str):
        raise FaultError(f"body must be a string (the response body) or null, got {body!r}")
    return Fault(
        environment=contract.error_environment(code, body, chance),
        params={"kind": "error", "status_code": code, "probability": chance},
        contract=contract,
    )


def function_ref(function_name: Any, region: str, alias: Any = None) -> FunctionRef:
    """Return the function when Lambda accepts it as an unqualified function in ``region``."""
    match = FUNCTION_NAME.match(function_name) if isinstance(function_name, str) else None
    if match and not match["region"] and function_name[:4] == "arn:":
        raise FaultError(f"{function_name!r}: malformed Lambda function ARN (nothing was changed)")
    if match is None:
        raise FaultError(
            f"function_name must be a Lambda function name (1..64 letters, digits, '-', '_') or "
            f"its ARN, got {function_name!r}; Lambda would reject it (nothing was changed)"
        )
    if match["qualifier"] is not None:
        raise FaultError(
            f"function_name {function_name!r} carries the qualifier {match['qualifier']!r}; pass "
            f"the unqualified function and alias={match['qualifier']!r} (an alias is faulted by "
            "publishing a version; a version itself cannot change) (nothing was changed)"
        )
    if match["region"] and match["region"] != region:
        raise FaultError(
            f"function_name {function_name!r} is in {match['region']} but the activity's region "
            f"is {region}; pass region={match['region']!r} (nothing was changed)"
        )
    return FunctionRef(function_name, region, validate_alias(alias))


def function_region(value: Any) -> Optional[str]:
    """Return the region a function ARN names (None for a plain name or something else)."""
    match = FUNCTION_NAME.match(value) if isinstance(value, str) else None
    return match["region"] if match else None


def validate_region_argument(value: Any) -> None:
    """Refuse a region argument given but empty (None means: from the configuration)."""
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise FaultError(
            f"region must be an AWS region name such as 'us-east-1', got {value!r}; omit it to "
            "use the configuration's 'aws_region' (nothing was changed)"
        )


def validate_alias(value: Any) -> Optional[str]:
    """Return the alias name (None for none), refusing what Lambda would refuse."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not ALIAS_NAME.match(value):
        raise FaultError(
            f"alias must be a Lambda alias name (letters, digits, '-', '_', not only digits), "
            f"got {value!r}; to target a version, create an alias for it"
        )
    return value


def check_layer_arn(layer_arn: str, region: str, source: str = "layer_arn") -> str:
    """Return ``layer_arn`` when it is a layer version ARN of ``region``."""
    match = LAYER_ARN.match(str(layer_arn))
    if not match:
        raise FaultError(
            f"{source} {layer_arn!r} is not a Lambda layer version ARN; expected "
            "arn:aws:lambda:<region>:<12-digit account>:layer:<name>:<version>"
        )
    if match["region"] != region:
        raise FaultError(
            f"{source} {layer_arn!r} is in {match['region']} but the function is in {region}; "
            f"Lambda only attaches layers of the function's region: publish the layer in {region}"
        )
    return str(layer_arn)


def attached_chaos_layer(layers: list[str], layer_arn: str) -> str:
    """Return the version of the chaos layer already attached, else ``layer_arn``.

    Lambda refuses two versions of one layer: one attached is the extension in use.
    """
    name = layer_arn.rsplit(":", 1)[0]
    attached = [arn for arn in layers if arn.rsplit(":", 1)[0] == name]
    return attached[0] if attached else layer_arn
