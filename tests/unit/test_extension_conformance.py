"""What the package writes is what the published chaos extension reads: judged by its transcription.

The judge is ``chaosaws_serverless.lab.extension``, transcribed from
aws-cli-tools/chaos-lambda-extension ``src/routes.rs`` at tag v0.1.6 (the
build of every layer in its ``LAYERS.md``), which imports nothing from the
package's ``awslambda`` modules (checked below). The upstream excerpts the
constants come from are quoted in ``UPSTREAM_V016`` so a change of the
transcription that drifts from them fails here.
"""

import ast
import json
import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chaosaws_serverless.awslambda import faults
from chaosaws_serverless.awslambda.engine.contracts import (
    CHAOS_LAMBDA_EXTENSION as CONTRACT,
)
from chaosaws_serverless.awslambda.engine.contracts import (
    PUBLISHED_RESPONSE_SWITCHES,
    published_layer_arn,
    response_switches_read,
)
from chaosaws_serverless.lab import extension
from chaosaws_serverless.lab.extension import Extension, rust_f64, rust_u64

# Verbatim lines of src/routes.rs at v0.1.6 (git show v0.1.6:src/routes.rs).
UPSTREAM_V016 = """
const ENABLE_LATENCY_ENV_NAME: &str = "CHAOS_EXTENSION__LAMBDA__ENABLE_LATENCY";
const LATENCY_PROBABILITY_ENV_NAME: &str = "CHAOS_EXTENSION__LAMBDA__LATENCY_PROBABILITY";
const LATENCY_VALUE_ENV_NAME: &str = "CHAOS_EXTENSION__LAMBDA__LATENCY_VALUE";
    "CHAOS_EXTENSION__RESPONSE__ENABLE_CHANGE_REPONSE_BODY";
const REPONSE_PROBABILITY_ENV_NAME: &str = "CHAOS_EXTENSION__RESPONSE__CHANGE_RESPONSE_PROBABILITY";
const DEFAULT_RESPONSE_ENV_NAME: &str = "CHAOS_EXTENSION__RESPONSE__DEFAULT_RESPONSE";
"""
# LAYERS.md at main (439a03e): one line per region and architecture.
LAYERS_MD_SAMPLE = [
    "arn:aws:lambda:us-east-1:871265522301:layer:chaos-lambda-extension-x86_64-unknown-linux-gnu-release:12",
    "arn:aws:lambda:us-east-1:871265522301:layer:chaos-lambda-extension-aarch64-unknown-linux-gnu-release:12",
    "arn:aws:lambda:sa-east-1:871265522301:layer:chaos-lambda-extension-x86_64-unknown-linux-gnu-release:7",
    "arn:aws:lambda:eu-west-1:871265522301:layer:chaos-lambda-extension-aarch64-unknown-linux-gnu-release:9",
]
ANY = lambda: 0.0  # noqa: E731  a draw that always fires (probability > 0)


def test_the_model_imports_nothing_from_the_package_fault_code() -> None:
    tree = ast.parse(Path(extension.__file__).read_text(encoding="utf-8"))
    imported = [
        node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
    ] + [
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    ]
    assert not [name for name in imported if name.startswith("chaosaws_serverless")]


def test_the_model_names_are_the_upstream_v016_names() -> None:
    for name in (
        extension.ENABLE_LATENCY,
        extension.LATENCY_PROBABILITY,
        extension.LATENCY_VALUE,
        extension.ENABLE_CHANGE_RESPONSE_BODY["v0.1.6"],
        extension.RESPONSE_PROBABILITY,
        extension.DEFAULT_RESPONSE,
    ):
        assert f'"{name}"' in UPSTREAM_V016


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("5", 5),
        ("+5", 5),
        ("0", 0),
        ("5.5", 900),
        (" 5", 900),
        ("5_0", 900),
        ("-5", 900),
        ("", 900),
        (None, 900),
        ("1e3", 900),
        (str(2**64), 900),
    ],
)
def test_latency_parses_like_rust_u64(text: str | None, seconds: int) -> None:
    assert rust_u64(text, 900) == seconds


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0.5", 0.5),
        ("1", 1.0),
        (".5", 0.5),
        ("5.", 5.0),
        ("1e-1", 0.1),
        ("inf", math.inf),
        (" 0.5", 0.9),
        ("0,5", 0.9),
        ("1_0", 0.9),
        ("", 0.9),
        (None, 0.9),
    ],
)
def test_probability_parses_like_rust_f64(text: str | None, value: float) -> None:
    assert rust_f64(text, 0.9) == value


@given(
    latency_ms=st.integers(1, 900_000),
    probability=st.floats(0.0, 1.0),
    build=st.sampled_from(["v0.1.6", "main"]),
)
def test_every_latency_fault_the_package_writes_is_seen_by_the_extension(
    latency_ms: int, probability: float, build: str
) -> None:
    fault = faults.latency_fault(latency_ms, probability)
    seen = Extension(fault.environment, build)
    assert seen.latency_enabled
    assert seen.latency_seconds == math.ceil(latency_ms / 1000)
    assert seen.latency_probability == pytest.approx(probability, abs=1e-9)
    assert not seen.response_enabled


@given(
    status=st.integers(100, 599),
    body=st.one_of(st.none(), st.text(max_size=200)),
    probability=st.floats(0.0, 1.0),
    build=st.sampled_from(["v0.1.6", "main"]),
)
def test_every_error_fault_the_package_writes_is_seen_by_every_build(
    status: int, body: str | None, probability: float, build: str
) -> None:
    fault = faults.error_fault(status, body, probability)
    seen = Extension(fault.environment, build)
    assert seen.response_enabled, f"{build} does not see the error fault"
    assert seen.response_probability == pytest.approx(probability, abs=1e-9)
    payload = json.loads(seen.response_after_handler('{"statusCode":200}', ANY))
    if probability == 0:  # a draw in [0, 1) is never below 0
        assert payload == {"statusCode": 200}
        return
    assert payload["statusCode"] == status
    assert isinstance(payload["body"], str)
    if body is not None:
        assert payload["body"] == body
    assert not seen.latency_enabled


_VALUES = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "true",
            "TRUE",
            "false",
            "yes",
            "1",
            "0.5",
            "5",
            "5.5",
            " 5",
            "+3",
            "nan",
            "",
            '{"statusCode":503,"body":"x"}',
            "not json",
        ]
    ),
    st.text(max_size=8),
)


@given(
    env=st.fixed_dictionaries(
        {},
        optional={
            name: _VALUES
            for name in (*CONTRACT.variables, "CHAOS_EXTENSION__LAMBDA__ENABLE_LATENCY")
        },
    ),
    build=st.sampled_from(["v0.1.6", "main"]),
)
def test_the_probes_read_an_environment_as_the_extension_does(env: dict, build: str) -> None:
    env = {k: v for k, v in env.items() if v is not None}
    if "AWS_LAMBDA_EXEC_WRAPPER" in env:
        env["AWS_LAMBDA_EXEC_WRAPPER"] = "/opt/bootstrap"
    switches = (extension.ENABLE_CHANGE_RESPONSE_BODY[build],)
    ours = CONTRACT.read(env, switches)
    judge = Extension(env, build)
    assert ours.wrapped == judge.proxied
    if not judge.proxied:
        return
    assert ours.latency_enabled == judge.latency_enabled
    assert ours.response_enabled == judge.response_enabled
    assert ours.latency_seconds == judge.latency_seconds
    assert ours.response_body == judge.response_body
    for mine, theirs in (
        (ours.latency_probability, judge.latency_probability),
        (ours.response_probability, judge.response_probability),
    ):
        # The extension compares a draw in [0, 1) with it: clamping changes nothing.
        clamped = 0.0 if math.isnan(theirs) else min(max(theirs, 0.0), 1.0)
        assert mine == clamped


def test_a_published_layer_is_read_as_the_v016_build() -> None:
    assert (extension.ENABLE_CHANGE_RESPONSE_BODY["v0.1.6"],) == PUBLISHED_RESPONSE_SWITCHES
    assert response_switches_read([LAYERS_MD_SAMPLE[0]], CONTRACT) == PUBLISHED_RESPONSE_SWITCHES
    own = "arn:aws:lambda:us-east-1:123456789012:layer:chaos-lambda-extension:3"
    assert set(response_switches_read([own], CONTRACT)) == set(
        extension.ENABLE_CHANGE_RESPONSE_BODY.values()
    )
    # Only main's spelling set (by hand): the published layer never sees it.
    env = {
        "AWS_LAMBDA_EXEC_WRAPPER": "/opt/bootstrap",
        extension.ENABLE_CHANGE_RESPONSE_BODY["main"]: "true",
    }
    assert not CONTRACT.read(env, PUBLISHED_RESPONSE_SWITCHES).response_enabled
    assert not Extension(env, "v0.1.6").response_enabled


def test_the_published_layer_table_matches_layers_md() -> None:
    for arn in LAYERS_MD_SAMPLE:
        region = arn.split(":")[3]
        architecture = "arm64" if "aarch64" in arn else "x86_64"
        assert published_layer_arn(region, architecture) == arn
    assert published_layer_arn("af-south-1", "x86_64") is None
