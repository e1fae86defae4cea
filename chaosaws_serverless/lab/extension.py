"""The chaos Lambda extension transcribed from its source: the lab's data plane, the tests' judge.

Transcribed from aws-cli-tools/chaos-lambda-extension, ``src/routes.rs`` at
tag v0.1.6 (commit 459db4a, 2023-07-30): the build behind every layer listed
in its ``LAYERS.md`` (account 871265522301). Only the untagged main branch
(commit 2b12cd9, "Typo in env name") renamed the response switch. This module
imports nothing from ``chaosaws_serverless.awslambda`` on purpose: it is the
independent reading of what the extension does, so a variable name or value
format the package writes that the extension does not read fails a test
instead of agreeing with itself.

What routes.rs does, per invocation (environment read on every call):

- ``GET /2018-06-01/runtime/invocation/next``: fetch the event from the real
  Runtime API, then, when ``ENABLE_LATENCY`` parses as true and a uniform draw
  in [0, 1) is below ``LATENCY_PROBABILITY`` (f64, default and parse-failure
  0.9), sleep ``LATENCY_VALUE`` whole seconds (u64, default and parse-failure
  900) BEFORE the runtime receives the event: the handler starts late;
- ``POST .../invocation/{id}/response``: the handler has run (its side effects
  happened); when ``ENABLE_CHANGE_REPONSE_BODY`` (sic, v0.1.6) parses as true
  and a draw is below ``CHANGE_RESPONSE_PROBABILITY`` (default 0.9), the
  payload is replaced by the RAW text of ``DEFAULT_RESPONSE`` (not parsed),
  else by ``{"body":"hello, Chaos!!!","statusCode":500}`` (serde_json's
  compact ``to_string`` of a BTreeMap: sorted keys);
- ``POST .../invocation/{id}/error`` and ``/init/error`` pass through: a
  handler that raises is not turned into the configured response;
- ``str_to_bool``: ``to_lowercase()`` equal to ``"true"``/``"false"``, anything
  else logs an error and means false.

The runtime only talks to the extension's proxy when ``AWS_LAMBDA_EXEC_WRAPPER``
is ``/opt/bootstrap`` (``misc/bootstrap`` sets ``AWS_LAMBDA_RUNTIME_API`` to
127.0.0.1:9100); without the wrapper the layer runs but sees nothing.
"""

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Optional

WRAPPER_VARIABLE = "AWS_LAMBDA_EXEC_WRAPPER"
WRAPPER = "/opt/bootstrap"

ENABLE_LATENCY = "CHAOS_EXTENSION__LAMBDA__ENABLE_LATENCY"
LATENCY_PROBABILITY = "CHAOS_EXTENSION__LAMBDA__LATENCY_PROBABILITY"
LATENCY_VALUE = "CHAOS_EXTENSION__LAMBDA__LATENCY_VALUE"
RESPONSE_PROBABILITY = "CHAOS_EXTENSION__RESPONSE__CHANGE_RESPONSE_PROBABILITY"
DEFAULT_RESPONSE = "CHAOS_EXTENSION__RESPONSE__DEFAULT_RESPONSE"

# The response switch each build reads: v0.1.6 (every published layer) has the typo.
ENABLE_CHANGE_RESPONSE_BODY = {
    "v0.1.6": "CHAOS_EXTENSION__RESPONSE__ENABLE_CHANGE_REPONSE_BODY",
    "main": "CHAOS_EXTENSION__RESPONSE__ENABLE_CHANGE_RESPONSE_BODY",
}
PUBLISHED_BUILD = "v0.1.6"

DEFAULT_PROBABILITY = 0.9  # .unwrap_or("0.9") ... .unwrap_or(0.9)
DEFAULT_LATENCY_SECONDS = 900  # .unwrap_or("900") ... .unwrap_or(15 * 60)
DEFAULT_RESPONSE_BODY = '{"body":"hello, Chaos!!!","statusCode":500}'

# Rust's ``str::parse::<u64>``: optional '+', ASCII digits, nothing else.
_RUST_U64 = re.compile(r"^\+?[0-9]+$")
# Rust's ``str::parse::<f64>``: sign, digits with optional '.', exponent, or inf/infinity/nan.
_RUST_F64 = re.compile(
    r"^[+-]?(?:inf|infinity|nan|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:e[+-]?[0-9]+)?)$", re.IGNORECASE
)


def rust_bool(text: Optional[str]) -> bool:
    """``str_to_bool(env.unwrap_or("false"), false)``."""
    return (text if text is not None else "false").lower() == "true"


def rust_u64(text: Optional[str], default: int) -> int:
    """``env.unwrap_or(default).parse::<u64>().unwrap_or(default)``."""
    value = str(default) if text is None else text
    if not _RUST_U64.match(value) or int(value) >= 2**64:
        return default
    return int(value)


def rust_f64(text: Optional[str], default: float) -> float:
    """``env.unwrap_or(default).parse::<f64>().unwrap_or(default)``."""
    value = str(default) if text is None else text
    if not _RUST_F64.match(value):
        return default
    return float(value)


@dataclass(frozen=True)
class Extension:
    """What one build of the extension does with one function environment."""

    environment: Mapping[str, str]
    build: str = PUBLISHED_BUILD

    @property
    def proxied(self) -> bool:
        """The runtime talks to the extension only through its wrapper script."""
        return self.environment.get(WRAPPER_VARIABLE) == WRAPPER

    @property
    def latency_enabled(self) -> bool:
        return self.proxied and rust_bool(self.environment.get(ENABLE_LATENCY))

    @property
    def latency_probability(self) -> float:
        return rust_f64(self.environment.get(LATENCY_PROBABILITY), DEFAULT_PROBABILITY)

    @property
    def latency_seconds(self) -> int:
        return rust_u64(self.environment.get(LATENCY_VALUE), DEFAULT_LATENCY_SECONDS)

    @property
    def response_enabled(self) -> bool:
        switch = ENABLE_CHANGE_RESPONSE_BODY[self.build]
        return self.proxied and rust_bool(self.environment.get(switch))

    @property
    def response_probability(self) -> float:
        return rust_f64(self.environment.get(RESPONSE_PROBABILITY), DEFAULT_PROBABILITY)

    @property
    def response_body(self) -> str:
        """The raw payload that replaces the handler's response."""
        return self.environment.get(DEFAULT_RESPONSE, DEFAULT_RESPONSE_BODY)

    def latency_before_handler(self, draw: Callable[[], float]) -> int:
        """Return the seconds slept before the runtime receives the event (0: none)."""
        if self.latency_enabled and draw() < self.latency_probability:
            return self.latency_seconds
        return 0

    def response_after_handler(self, payload: str, draw: Callable[[], float]) -> str:
        """Return the payload Lambda returns once the handler posted ``payload``."""
        if self.response_enabled and draw() < self.response_probability:
            return self.response_body
        return payload


def handler_payload(result: object) -> str:
    """The payload a Python runtime posts for a handler's return value (``json.dumps``)."""
    return json.dumps(result)
