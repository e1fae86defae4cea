"""Property: inject → rollback is an exact round trip or a clean refusal, whatever the function.

Hypothesis generates function configurations (0-5 layers, the chaos layer
sometimes already attached, environments up to Lambda's 4 KB with odd names
and values, an existing wrapper, the extension's own variables already set,
an alias with a weighted routing config) and activity arguments (valid and
invalid latency, probability, status code, body, alias). For each:

- the injection either succeeds, or raises ``ActivityFailed`` with a
  message and leaves the function exactly as it was (a clean refusal);
- ``remove_faults`` (twice: it is idempotent) brings the function back
  exactly: layers in order, every variable, tags, aliases and their routing,
  versions.
"""

import itertools
import json
import math
import os
import re
from typing import Any

import boto3
import pytest
from chaoslib.exceptions import ActivityFailed
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from chaosaws_serverless import aws
from chaosaws_serverless.awslambda.actions import inject_error, inject_latency, remove_faults
from chaosaws_serverless.awslambda.engine.contracts import CHAOS_LAMBDA_EXTENSION, EXEC_WRAPPER
from tests.support.lambdas import code_zip
from tests.support.snapshots import function_picture

REGION = "us-east-1"
_names = itertools.count()

env_name = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,30}", fullmatch=True).filter(
    lambda n: n != EXEC_WRAPPER and not n.startswith("AWS_")
)
env_value = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=60
)
preset_chaos_variable = st.sampled_from(
    [
        {},
        {CHAOS_LAMBDA_EXTENSION.latency_value: "7"},
        {CHAOS_LAMBDA_EXTENSION.enable_latency: "false"},
        {CHAOS_LAMBDA_EXTENSION.response_probability: "0.3"},
    ]
)
wrapper = st.integers(0, 9).map(
    lambda n: "/opt/other-wrapper" if n == 5 else CHAOS_LAMBDA_EXTENSION.wrapper if n == 6 else None
)


def _size(env: dict[str, str]) -> int:
    return len(json.dumps(env, separators=(",", ":")).encode())


@st.composite
def function_configurations(draw: Any) -> dict[str, Any]:
    env = draw(st.dictionaries(env_name, env_value, max_size=8))
    env.update(draw(preset_chaos_variable))
    chosen_wrapper = draw(wrapper)
    if chosen_wrapper:
        env[EXEC_WRAPPER] = chosen_wrapper
    target = draw(st.integers(0, 9).map(lambda n: {3: 3000, 4: 3700, 5: 3950, 6: 4096}.get(n)))
    if target and _size(env) + 20 < target:
        env["PADDING"] = ""
        env["PADDING"] = "p" * (target - _size(env))
    return {
        "environment": env,
        "layers": draw(st.integers(0, 9).map(lambda n: 5 if n == 5 else n % 5)),
        "chaos_layer_attached": draw(st.booleans()),
        "alias": draw(st.sampled_from([None, "plain", "weighted", "weighted"])),
    }


def mostly(valid: Any, invalid: list[Any]) -> Any:
    """Valid values nine times in ten: the round trip is what needs exercising."""
    return st.integers(0, 9).flatmap(lambda n: st.sampled_from(invalid) if n == 4 else valid)


latency = mostly(st.integers(1, 900_000), [0, -5, 900_001, 1.5, "5000", "x", None, True, math.inf])
probability = mostly(st.floats(0, 1), [-0.1, 1.01, "0.5", math.nan, None])
status = mostly(st.integers(100, 599), [99, 600, "500", 200.5])
body = st.one_of(st.none(), st.text(max_size=40), st.just("b" * 3000))


@st.composite
def faults(draw: Any) -> dict[str, Any]:
    kind = draw(st.sampled_from(["latency", "error"]))
    arguments: dict[str, Any] = {"probability": draw(probability)}
    if kind == "latency":
        arguments["latency_ms"] = draw(latency)
    else:
        arguments["status_code"] = draw(status)
        arguments["body"] = draw(body)
    return {
        "kind": kind,
        "arguments": arguments,
        "alias": draw(st.sampled_from([None, "live", "nope"])),
    }


class Lab:
    """Role and layers shared by every generated function (one moto server per session)."""

    def __init__(self, endpoint_url: str) -> None:
        self.endpoint_url = endpoint_url
        self.lam = boto3.client("lambda", region_name=REGION, endpoint_url=endpoint_url)
        iam = boto3.client("iam", region_name=REGION, endpoint_url=endpoint_url)
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "lambda.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
        role = iam.create_role(RoleName="props", AssumeRolePolicyDocument=json.dumps(trust))
        self.role = role["Role"]["Arn"]
        self.chaos_layer = self.lam.publish_layer_version(
            LayerName="chaos-lambda-extension", Content={"ZipFile": code_zip()}
        )["LayerVersionArn"]
        self.layers = [
            self.lam.publish_layer_version(LayerName=f"lib{i}", Content={"ZipFile": code_zip()})[
                "LayerVersionArn"
            ]
            for i in range(5)
        ]
        self.configuration = {"aws_region": REGION, "aws_endpoint_url": endpoint_url}

    def create(self, spec: dict[str, Any]) -> str:
        name = f"prop-{next(_names):04d}"
        layers = self.layers[: spec["layers"]]
        if spec["chaos_layer_attached"] and len(layers) < 5:
            layers = [*layers, self.chaos_layer]
        self.lam.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=self.role,
            Handler="handler.handler",
            Code={"ZipFile": code_zip()},
            Layers=layers,
            Environment={"Variables": spec["environment"]},
            Tags={"owner": "props"},
        )
        if spec["alias"]:
            first = self.lam.publish_version(FunctionName=name)["Version"]
            second = self.lam.publish_version(FunctionName=name)["Version"]
            routing = (
                {"AdditionalVersionWeights": {first: 0.1}} if spec["alias"] == "weighted" else {}
            )
            self.lam.create_alias(
                FunctionName=name, Name="live", FunctionVersion=second, RoutingConfig=routing
            )
        return name


@pytest.fixture(scope="module")
def lab(moto_server: str) -> Lab:
    import urllib.request

    urllib.request.urlopen(
        urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST"), timeout=10
    ).close()
    aws.clear_client_cache()
    return Lab(moto_server)


# CI: 60 fixed examples. A longer random hunt: RESILIENCE_EXAMPLES=500 pytest this file.
_EXAMPLES = int(os.environ.get("RESILIENCE_EXAMPLES", "60"))


@settings(
    max_examples=_EXAMPLES,
    deadline=None,
    derandomize="RESILIENCE_EXAMPLES" not in os.environ,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(spec=function_configurations(), fault=faults())
def test_inject_then_rollback_is_exact_or_a_clean_refusal(
    lab: Lab, spec: dict[str, Any], fault: dict[str, Any]
) -> None:
    name = lab.create(spec)
    before = function_picture(lab.lam, name)
    action = inject_latency if fault["kind"] == "latency" else inject_error
    try:
        action(
            name,
            **fault["arguments"],
            region=REGION,
            alias=fault["alias"],
            layer_arn=lab.chaos_layer,
            configuration=lab.configuration,
        )
    except ActivityFailed as refusal:
        reason = re.sub(r"'prop-\d+'", "F", str(refusal)).split(" on ")[0]
        event(f"refused: {reason[:70]}")
        assert str(refusal).strip()
        assert function_picture(lab.lam, name) == before, f"refused but changed: {refusal}"
    else:
        event(f"injected ({'alias' if fault['alias'] else '$LATEST'})")
        injected = function_picture(lab.lam, name)
        assert injected != before
        target = injected if not fault["alias"] else before
        assert target["Layers"].count(lab.chaos_layer) <= 1
    remove_faults(name, REGION, fault["alias"], configuration=lab.configuration)
    remove_faults(name, REGION, configuration=lab.configuration)
    assert function_picture(lab.lam, name) == before
