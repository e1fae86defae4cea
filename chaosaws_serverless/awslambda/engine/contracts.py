"""Fault contracts: how a chaos Lambda extension is switched on through environment variables.

A contract is data plus pure functions. It computes the environment variables
that turn a fault on (the actions apply them and record what they replaced),
and it reads an environment back the way the extension itself would (the
probes use that; the lab's data plane and the tests judge with their own
transcription of the upstream source, ``lab/extension.py``). A second extension, such as the
AWS FIS Lambda extension (``/opt/aws-fis/bootstrap``,
``AWS_FIS_CONFIGURATION_LOCATION``), is one more ``FaultContract`` here; the
actions do not change.
"""

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Optional

EXEC_WRAPPER = "AWS_LAMBDA_EXEC_WRAPPER"

# The extension sleeps whole seconds and turns anything it cannot parse as an
# integer into its 900 s default: we only ever write integers.
MAX_LATENCY_MS = 900_000
DEFAULT_ERROR_MESSAGE = "injected by chaosaws-serverless"
# What the extension answers when its response variable is unset (serde_json, sorted keys).
EXTENSION_DEFAULT_RESPONSE = '{"body":"hello, Chaos!!!","statusCode":500}'
# The extension parses with Rust's ``str::parse``: no spaces, no '_' separators.
_UNSIGNED = re.compile(r"^\+?[0-9]+$")
_FLOAT = re.compile(
    r"^[+-]?(?:inf|infinity|nan|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:e[+-]?[0-9]+)?)$", re.IGNORECASE
)


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
    response_body: str = ""  # the raw payload that replaces the handler's

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
    # Other spellings of the response switch that builds in use read: all are
    # written (and recorded, and rolled back) together.
    enable_response_aliases: tuple[str, ...] = ()

    @property
    def response_switches(self) -> tuple[str, ...]:
        """Every spelling of the response switch, the published build's first."""
        return (*self.enable_response_aliases, self.enable_response)

    @property
    def variables(self) -> tuple[str, ...]:
        """Every environment variable this contract may set."""
        return (
            EXEC_WRAPPER,
            self.enable_latency,
            self.latency_value,
            self.latency_probability,
            *self.response_switches,
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
            **{switch: "true" for switch in self.response_switches},
            self.response: json.dumps(response, separators=(",", ":")),
            self.response_probability: _probability_text(probability),
        }

    def read(
        self, environment: dict[str, str], switches: Optional[tuple[str, ...]] = None
    ) -> ExtensionFault:
        """Return what the extension does with ``environment``, parsing exactly as it does.

        ``switches``: the spellings of the response switch the build in use
        reads (default: every spelling, the conservative answer when the
        build is unknown: a fault any build would see counts as on).
        """
        if environment.get(EXEC_WRAPPER) != self.wrapper:
            return ExtensionFault(wrapped=False)
        text = environment.get(self.latency_value)
        seconds = int(text) if text is not None and _UNSIGNED.match(text) else None
        body = environment.get(self.response, EXTENSION_DEFAULT_RESPONSE)
        try:  # what API Gateway makes of the payload
            response = json.loads(body)
            if not isinstance(response, dict):
                raise ValueError(response)
        except ValueError:
            response = {}
        return ExtensionFault(
            wrapped=True,
            latency_enabled=environment.get(self.enable_latency, "").lower() == "true",
            latency_seconds=self.default_latency_seconds if seconds is None else seconds,
            latency_probability=self._probability(environment, self.latency_probability),
            response_enabled=any(
                environment.get(switch, "").lower() == "true"
                for switch in (switches or self.response_switches)
            ),
            response=response,
            response_probability=self._probability(environment, self.response_probability),
            response_body=body,
        )

    def _probability(self, environment: dict[str, str], name: str) -> float:
        text = environment.get(name)
        if text is None or not _FLOAT.match(text):
            return self.default_probability
        number = float(text)
        return 0.0 if math.isnan(number) else min(max(number, 0.0), 1.0)


def latency_seconds(latency_ms: int) -> int:
    """Return the whole seconds the extension sleeps for ``latency_ms`` (rounded up, ≥ 1)."""
    return max(1, math.ceil(latency_ms / 1000))


def _probability_text(probability: float) -> str:
    # repr: the shortest text that parses back to the same float (Rust parses it too)
    return repr(float(probability))


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
    # v0.1.6, the build of every published layer, reads the switch with this typo;
    # only the untagged main branch reads the spelling above.
    enable_response_aliases=("CHAOS_EXTENSION__RESPONSE__ENABLE_CHANGE_REPONSE_BODY",),
)
# The account that publishes the extension's layers (upstream LAYERS.md), built from v0.1.6.
PUBLISHED_LAYER_ACCOUNT = "871265522301"
PUBLISHED_RESPONSE_SWITCHES = ("CHAOS_EXTENSION__RESPONSE__ENABLE_CHANGE_REPONSE_BODY",)
PUBLISHED_LAYER_NAME = "chaos-lambda-extension-{arch}-unknown-linux-gnu-release"
# Lambda architecture -> the Rust target in the layer's name.
PUBLISHED_ARCHITECTURES = {"x86_64": "x86_64", "arm64": "aarch64"}
# Region -> latest published layer version (the same for both architectures),
# from upstream LAYERS.md at main (commit 439a03e, 2023-07-30).
PUBLISHED_LAYER_VERSIONS = {
    "ap-south-1": 9,
    "eu-north-1": 9,
    "eu-west-3": 9,
    "eu-west-2": 9,
    "eu-west-1": 9,
    "ap-northeast-3": 9,
    "ap-northeast-2": 9,
    "ap-northeast-1": 9,
    "ca-central-1": 9,
    "sa-east-1": 7,
    "ap-southeast-1": 9,
    "ap-southeast-2": 9,
    "eu-central-1": 9,
    "us-east-1": 12,
    "us-east-2": 11,
    "us-west-1": 11,
    "us-west-2": 11,
}


def published_layer_arn(region: str, architecture: str) -> Optional[str]:
    """Return the published chaos layer for ``region`` and ``architecture``, None if none."""
    version = PUBLISHED_LAYER_VERSIONS.get(region)
    arch = PUBLISHED_ARCHITECTURES.get(architecture)
    if version is None or arch is None:
        return None
    name = PUBLISHED_LAYER_NAME.format(arch=arch)
    return f"arn:aws:lambda:{region}:{PUBLISHED_LAYER_ACCOUNT}:layer:{name}:{version}"


def response_switches_read(layers: list[str], contract: "FaultContract") -> tuple[str, ...]:
    """Return the response switch spellings the attached chaos layer reads.

    A published layer (its account) is the v0.1.6 build; any other layer is a
    build we cannot see into, so every spelling counts.
    """
    if any(arn.split(":")[4:5] == [PUBLISHED_LAYER_ACCOUNT] for arn in layers):
        return PUBLISHED_RESPONSE_SWITCHES
    return contract.response_switches


CONTRACTS = {CHAOS_LAMBDA_EXTENSION.name: CHAOS_LAMBDA_EXTENSION}
DEFAULT_CONTRACT = CHAOS_LAMBDA_EXTENSION
