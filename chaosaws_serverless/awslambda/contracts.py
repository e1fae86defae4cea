"""Fault contracts: how a chaos Lambda extension is switched on through environment variables.

A contract is data plus pure functions. It computes the environment variables
that turn a fault on (the actions apply them and record what they replaced),
and it reads an environment back the way the extension itself would (the
probes and the lab's data plane use that). A second extension, such as the
AWS FIS Lambda extension (``/opt/aws-fis/bootstrap``,
``AWS_FIS_CONFIGURATION_LOCATION``), is one more ``FaultContract`` here; the
actions do not change.
"""

import json
import math
from dataclasses import dataclass, field
from typing import Any, Optional

EXEC_WRAPPER = "AWS_LAMBDA_EXEC_WRAPPER"

# The extension sleeps whole seconds and turns anything it cannot parse as an
# integer into its 900 s default: we only ever write integers.
MAX_LATENCY_MS = 900_000
DEFAULT_ERROR_MESSAGE = "injected by chaosaws-serverless"


@dataclass(frozen=True)
class ExtensionFault:
    """What the extension will do on each invocation, read from an environment."""

    wrapped: bool
    latency_enabled: bool = False
    latency_seconds: int = 0
    latency_probability: float = 0.0
    response_enabled: bool = False
    response: dict[str, Any] = field(default_factory=dict)
    response_probability: float = 0.0

    @property
    def active(self) -> bool:
        return self.wrapped and (self.latency_enabled or self.response_enabled)


@dataclass(frozen=True)
class FaultContract:
    """The environment contract of one chaos Lambda extension."""

    name: str
    wrapper: str
    enable_latency: str
    latency_value: str
    latency_probability: str
    enable_response: str
    response: str
    response_probability: str
    default_latency_seconds: int = 900
    default_probability: float = 0.9

    @property
    def variables(self) -> tuple[str, ...]:
        """Every environment variable this contract may set."""
        return (
            EXEC_WRAPPER,
            self.enable_latency,
            self.latency_value,
            self.latency_probability,
            self.enable_response,
            self.response,
            self.response_probability,
        )

    def latency_environment(self, latency_ms: int, probability: float) -> dict[str, str]:
        """Return the variables that turn on a latency fault of ``latency_ms`` (rounded up to s)."""
        return {
            EXEC_WRAPPER: self.wrapper,
            self.enable_latency: "true",
            self.latency_value: str(latency_seconds(latency_ms)),
            self.latency_probability: _probability_text(probability),
        }

    def error_environment(
        self, status_code: int, body: Optional[str], probability: float
    ) -> dict[str, str]:
        """Return the variables that make the function answer ``status_code`` with ``body``."""
        response = {
            "statusCode": status_code,
            "body": body if body is not None else json.dumps({"message": DEFAULT_ERROR_MESSAGE}),
        }
        return {
            EXEC_WRAPPER: self.wrapper,
            self.enable_response: "true",
            self.response: json.dumps(response, separators=(",", ":")),
            self.response_probability: _probability_text(probability),
        }

    def read(self, environment: dict[str, str]) -> ExtensionFault:
        """Return what the extension does with ``environment``, parsing exactly as it does."""
        if environment.get(EXEC_WRAPPER) != self.wrapper:
            return ExtensionFault(wrapped=False)
        try:
            seconds = int(environment.get(self.latency_value, ""))
        except ValueError:
            seconds = self.default_latency_seconds
        try:
            response = json.loads(environment.get(self.response, ""))
            if not isinstance(response, dict):
                raise ValueError(response)
        except ValueError:
            response = {"statusCode": 500, "body": {"message": "hello, Chaos!!!"}}
        return ExtensionFault(
            wrapped=True,
            latency_enabled=environment.get(self.enable_latency, "").lower() == "true",
            latency_seconds=seconds,
            latency_probability=self._probability(environment, self.latency_probability),
            response_enabled=environment.get(self.enable_response, "").lower() == "true",
            response=response,
            response_probability=self._probability(environment, self.response_probability),
        )

    def _probability(self, environment: dict[str, str], name: str) -> float:
        try:
            return min(max(float(environment.get(name, "")), 0.0), 1.0)
        except ValueError:
            return self.default_probability


def latency_seconds(latency_ms: int) -> int:
    """Return the whole seconds the extension sleeps for ``latency_ms`` (rounded up, ≥ 1)."""
    return max(1, math.ceil(latency_ms / 1000))


def _probability_text(probability: float) -> str:
    return format(float(probability), "g")


# The chaos-lambda-extension of the reference scenario (aws-cli-tools/chaos-lambda-extension).
CHAOS_LAMBDA_EXTENSION = FaultContract(
    name="chaos-lambda-extension",
    wrapper="/opt/bootstrap",
    enable_latency="CHAOS_EXTENSION__LAMBDA__ENABLE_LATENCY",
    latency_value="CHAOS_EXTENSION__LAMBDA__LATENCY_VALUE",
    latency_probability="CHAOS_EXTENSION__LAMBDA__LATENCY_PROBABILITY",
    enable_response="CHAOS_EXTENSION__RESPONSE__ENABLE_CHANGE_RESPONSE_BODY",
    response="CHAOS_EXTENSION__RESPONSE__DEFAULT_RESPONSE",
    response_probability="CHAOS_EXTENSION__RESPONSE__CHANGE_RESPONSE_PROBABILITY",
)

CONTRACTS = {CHAOS_LAMBDA_EXTENSION.name: CHAOS_LAMBDA_EXTENSION}
DEFAULT_CONTRACT = CHAOS_LAMBDA_EXTENSION
