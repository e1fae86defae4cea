"""The load generator on Lambda: the bundle runs on its own, deploy/delete against moto."""

import json
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from chaoslib.exceptions import ActivityFailed

from chaosaws_serverless.loadgen.actions import (
    delete_load_generator,
    deploy_load_generator,
)
from chaosaws_serverless.loadgen.bundle import build_zip, lambda_runtime, vendor_problems
from chaosaws_serverless.loadgen.deployment import HANDLER
from tests.support.loadgen_server import (
    LocalApi,
    fixture_local_api,  # noqa: F401  # registers the `local_api` fixture
)

# Copying this environment's wheels into the bundle needs Linux x86_64 (as in CI).
needs_vendoring = pytest.mark.skipif(
    bool(vendor_problems(lambda_runtime())), reason="; ".join(vendor_problems(lambda_runtime()))
)

EU = "eu-west-1"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


@pytest.fixture
def role_arn(aws: Callable[..., Any]) -> str:
    role = aws("iam").create_role(RoleName="loadgen", AssumeRolePolicyDocument=json.dumps(TRUST))
    return str(role["Role"]["Arn"])


@needs_vendoring
def test_the_bundle_runs_the_handler_without_site_packages(
    local_api: LocalApi, tmp_path: Path
) -> None:
    zipped, vendored = build_zip()
    assert any(v.startswith("aiohttp==") for v in vendored)
    zipfile.ZipFile(__import__("io").BytesIO(zipped)).extractall(tmp_path)
    event = {"url": local_api.base_url + "/us", "rate_per_second": 20, "duration_seconds": 0.5}
    script = (
        f"import sys, json; sys.path.insert(0, {str(tmp_path)!r});"
        "from chaosaws_serverless.loadgen.handler import lambda_handler;"
        f"s = lambda_handler({event!r}, None); print('SUMMARY', json.dumps(s))"
    )
    # -S -I: no site-packages, no user paths: only the stdlib and the bundle, like Lambda.
    out = subprocess.run(
        [sys.executable, "-S", "-I", "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        env={"AWS_REGION": EU, "PATH": "/usr/bin:/bin"},
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    summary = json.loads(next(line for line in lines if line.startswith("SUMMARY"))[8:])
    assert summary["status_2xx"] == 10 and summary["client_region"] == EU
    emf = [json.loads(line) for line in lines if line.startswith("{")]
    assert sum(record["status_2xx"] for record in emf) == 10
    assert emf[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["ClientRegion", "Url"]]


@needs_vendoring
def test_deploy_creates_the_function_then_updates_it_in_place(
    configuration: dict[str, Any], aws: Callable[..., Any], role_arn: str
) -> None:
    first = deploy_load_generator(role_arn, region=EU, configuration=configuration)
    assert first["created"] is True
    fn = aws("lambda", EU).get_function(FunctionName="chaosaws-serverless-loadgen")
    conf = fn["Configuration"]
    assert conf["Handler"] == HANDLER
    assert conf["Runtime"] == lambda_runtime()
    assert conf["Timeout"] == 900 and conf["MemorySize"] == 1769
    assert conf["Role"] == role_arn
    assert conf["CodeSize"] == first["code_size"] > 100_000  # dependencies included
    assert fn["Tags"] == {"chaosaws-serverless": "loadgen"}
    # Nothing in us-east-1: the region argument wins over the configuration.
    assert aws("lambda").list_functions()["Functions"] == []

    second = deploy_load_generator(
        role_arn,
        memory_mb=512,
        function_timeout_seconds=300,
        region=EU,
        configuration=configuration,
    )
    assert second["created"] is False
    conf = aws("lambda", EU).get_function_configuration(FunctionName="chaosaws-serverless-loadgen")
    assert conf["MemorySize"] == 512 and conf["Timeout"] == 300
    assert conf["CodeSha256"] == first["code_sha256"]  # same installation, same zip

    assert delete_load_generator(region=EU, configuration=configuration)["deleted"] is True
    assert aws("lambda", EU).list_functions()["Functions"] == []
    assert delete_load_generator(region=EU, configuration=configuration)["deleted"] is False


def test_deploy_with_a_layer_uploads_only_the_package(
    configuration: dict[str, Any], aws: Callable[..., Any], role_arn: str
) -> None:
    layer = aws("lambda", EU).publish_layer_version(
        LayerName="loadgen-deps", Content={"ZipFile": build_zip(vendor=False)[0]}
    )["LayerVersionArn"]
    result = deploy_load_generator(
        role_arn, dependencies_layer_arn=layer, region=EU, configuration=configuration
    )
    assert result["dependencies"] == [layer] and result["code_size"] < 100_000
    conf = aws("lambda", EU).get_function_configuration(FunctionName="chaosaws-serverless-loadgen")
    assert [entry["Arn"] for entry in conf["Layers"]] == [layer]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"role_arn": "loadgen"}, "role_arn must be an IAM role ARN"),
        ({"function_name": "bad name"}, "function_name must be 1..64"),
        ({"memory_mb": 64}, "memory_mb must be an integer 128..10240, got 64"),
        ({"function_timeout_seconds": 901}, "function_timeout_seconds must be an integer 1..900"),
        ({"dependencies_layer_arn": "deps"}, "dependencies_layer_arn must be a layer version"),
    ],
)
def test_deploy_refuses_bad_input_before_any_call(
    configuration: dict[str, Any], kwargs: dict[str, Any], message: str
) -> None:
    args = {"role_arn": "arn:aws:iam::123456789012:role/loadgen", **kwargs}
    with pytest.raises(ActivityFailed, match=message):
        deploy_load_generator(**args, region=EU, configuration=configuration)
