"""Shipped experiments refuse an incomplete or obviously wrong configuration before any change.

Each shipped experiment runs through chaoslib in-process (as ``chaos run`` does,
var file included) on the moto server, once per required key it uses with that
key left out of the var file, and once per key with a value naming something
that does not exist. Judge: the run stops before the first activity (empty
``run``, no steady-state probe, no rollback), the log names the key and the
fix, and every function in both regions (configuration, tags, versions,
aliases) is the same before and after. One run goes through the real ``chaos
run`` command to pin its exit code and output.
"""

import json
import logging
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from copy import deepcopy
from pathlib import Path
from typing import Any

import boto3
import pytest
from chaoslib.experiment import run_experiment

from chaosaws_serverless.aws import clear_client_cache
from chaosaws_serverless.controls import preflight
from tests.support.lambdas import code_zip

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENTS = sorted((ROOT / "experiments").glob("*.json"))
US, EU = "us-east-1", "eu-west-1"
NAME = "example.mydomain.com"
SETTINGS = {"runtime": {"rollbacks": {"strategy": "always"}}}


def shipped(path: Path) -> dict[str, Any]:
    experiment: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return experiment


CASES = [
    (path.name, key)
    for path in EXPERIMENTS
    for key in sorted(preflight.required_keys(shipped(path)))
]
# A value of each kind that names nothing in the account.
WRONG = {
    "route53-hosted-zone": "ZNOSUCHZONE0000",
    "route53-record": "nope.mydomain.com",
    "route53-health-check": "00000000-0000-0000-0000-00000000dead",
    "lambda-function": "no-such-function",
    "lambda-layer-arns": {
        US: f"arn:aws:lambda:{US}:123456789012:layer:chaos-lambda-extension:99",
        EU: f"arn:aws:lambda:{EU}:123456789012:layer:chaos-lambda-extension:99",
    },
}
WRONG_CASES = [
    (name, key)
    for name, key in CASES
    if shipped(ROOT / "experiments" / name)["configuration"][key]["required"] in WRONG
]


@pytest.fixture(scope="module")
def module_moto(moto_server: str) -> str:
    """The session's moto server, reset once for this module: no run here changes anything."""
    request = urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST")
    urllib.request.urlopen(request, timeout=10).close()
    clear_client_cache()
    return moto_server


@pytest.fixture(scope="module")
def aws(module_moto: str) -> Callable[..., Any]:
    def make(service: str, region: str = US) -> Any:
        return boto3.client(service, region_name=region, endpoint_url=module_moto)

    return make


@pytest.fixture(scope="module")
def stack(aws: Callable[..., Any], module_moto: str) -> dict[str, Any]:
    """Arrange the reference stack on moto once; return the complete var-file configuration."""
    configuration = {"aws_region": US, "aws_regions": [US, EU], "aws_endpoint_url": module_moto}
    route53 = aws("route53")
    zone_id = route53.create_hosted_zone(Name="mydomain.com", CallerReference="zone")["HostedZone"][
        "Id"
    ].split("/")[-1]
    checks = {}
    for short in ("us", "eu"):
        checks[short] = route53.create_health_check(
            CallerReference=f"{short}-{time.monotonic_ns()}",
            HealthCheckConfig={
                "Type": "HTTPS",
                "FullyQualifiedDomainName": f"example.{short}.mydomain.com",
                "ResourcePath": "/api/health",
                "Port": 443,
                "EnableSNI": True,
            },
        )["HealthCheck"]["Id"]
    route53.change_resource_record_sets(
        HostedZoneId=zone_id,
        ChangeBatch={
            "Changes": [
                {
                    "Action": "CREATE",
                    "ResourceRecordSet": {
                        "Name": NAME,
                        "Type": "CNAME",
                        "SetIdentifier": short,
                        "Region": region,
                        "TTL": 60,
                        "HealthCheckId": checks[short],
                        "ResourceRecords": [{"Value": f"example.{short}.mydomain.com"}],
                    },
                }
                for short, region in (("us", US), ("eu", EU))
            ]
        },
    )
    role = aws("iam").create_role(RoleName="lambda-role", AssumeRolePolicyDocument="{}")["Role"][
        "Arn"
    ]
    layers = {}
    for region in (US, EU):
        client = aws("lambda", region)
        layers[region] = client.publish_layer_version(
            LayerName="chaos-lambda-extension", Content={"ZipFile": code_zip()}
        )["LayerVersionArn"]
        for route in ("hello", "health"):
            client.create_function(
                FunctionName=f"{route}-{region}",
                Runtime="python3.12",
                Role=role,
                Handler="app.handler",
                Code={"ZipFile": code_zip()},
                Environment={"Variables": {"TABLE": "orders"}},
                Tags={"team": "api"},
            )
    return {
        **configuration,
        "api_url": "https://example.mydomain.com/api/hello",
        "hosted_zone_id": zone_id,
        "record_name": NAME,
        "us_health_check_id": checks["us"],
        "eu_health_check_id": checks["eu"],
        "us_hello_function": f"hello-{US}",
        "us_health_function": f"health-{US}",
        "chaos_layer_arns": layers,
    }


def functions_state(aws: Callable[..., Any]) -> dict[str, Any]:
    """Every function of both regions: configuration, tags, versions, aliases."""
    state = {}
    for region in (US, EU):
        client = aws("lambda", region)
        for function in client.list_functions()["Functions"]:
            name = function["FunctionName"]
            state[f"{region}/{name}"] = {
                "configuration": function,
                "tags": client.list_tags(Resource=function["FunctionArn"])["Tags"],
                "versions": client.list_versions_by_function(FunctionName=name)["Versions"],
                "aliases": client.list_aliases(FunctionName=name)["Aliases"],
            }
    return state


def run_in_process(experiment_name: str, values: dict[str, Any]) -> dict[str, Any]:
    experiment = shipped(ROOT / "experiments" / experiment_name)
    journal: dict[str, Any] = run_experiment(
        experiment, settings=deepcopy(SETTINGS), experiment_vars=(deepcopy(values), {})
    )
    return journal


def assert_stopped_before_anything(journal: dict[str, Any]) -> None:
    assert journal["status"] == "interrupted"
    assert journal["run"] == []
    assert journal["rollbacks"] == []
    assert journal["steady_states"]["before"] is None


@pytest.mark.parametrize(("experiment", "key"), CASES)
def test_a_missing_key_stops_the_run_before_the_first_activity(
    experiment: str,
    key: str,
    stack: dict[str, Any],
    aws: Callable[..., Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    values = {k: v for k, v in stack.items() if k != key}
    before = functions_state(aws)
    with caplog.at_level(logging.ERROR):
        journal = run_in_process(experiment, values)
    assert_stopped_before_anything(journal)
    assert functions_state(aws) == before
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any(f"configuration key {key!r}" in e and "--var-file" in e for e in errors), errors


@pytest.mark.parametrize(("experiment", "key"), WRONG_CASES)
def test_a_value_naming_nothing_stops_the_run_before_the_first_activity(
    experiment: str,
    key: str,
    stack: dict[str, Any],
    aws: Callable[..., Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    kind = shipped(ROOT / "experiments" / experiment)["configuration"][key]["required"]
    values = {**stack, key: WRONG[kind]}
    before = functions_state(aws)
    with caplog.at_level(logging.ERROR):
        journal = run_in_process(experiment, values)
    assert_stopped_before_anything(journal)
    assert functions_state(aws) == before
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any(f"configuration key {key!r}" in e and "is wrong" in e for e in errors), errors


def test_every_fault_experiment_requires_the_stack_it_touches() -> None:
    fault_keys = {"us_hello_function", "chaos_layer_arns"}
    for path in EXPERIMENTS:
        required = set(preflight.required_keys(shipped(path)))
        assert required, f"{path.name} requires nothing"
        if path.name == "tagged-latency.json":
            # Targets functions by their tags: no function name to require, the layer only.
            assert "chaos_layer_arns" in required, f"{path.name}: {sorted(required)}"
        elif path.name == "region-evacuation.json":
            # Throttles the tagged functions: no function name, and no layer to require.
            assert not fault_keys & required, f"{path.name}: {sorted(required)}"
            assert "record_name" in required and "us_health_check_id" not in required
        elif path.name != "failover-preflight.json":
            assert fault_keys <= required, f"{path.name}: {sorted(required)}"
        # No placeholder: an account-specific key has no value in the shipped file.
        for key in fault_keys & set(shipped(path)["configuration"]):
            assert preflight.is_required(shipped(path)["configuration"][key])


@pytest.mark.parametrize("path", EXPERIMENTS, ids=lambda p: p.name)
def test_a_complete_and_existing_configuration_passes(path: Path, stack: dict[str, Any]) -> None:
    # The control alone: the full experiments take minutes (the lab demo runs them).
    preflight.before_experiment_control(shipped(path), configuration=stack)


def test_chaos_run_exits_1_and_names_the_missing_key(
    tmp_path: Path, stack: dict[str, Any], aws: Callable[..., Any]
) -> None:
    var_file = tmp_path / "values.json"
    values = {k: v for k, v in stack.items() if k != "us_hello_function"}
    var_file.write_text(json.dumps({"configuration": values}), encoding="utf-8")
    before = functions_state(aws)
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("chaos")),
            "--no-version-check",
            "--log-file",
            str(tmp_path / "chaostoolkit.log"),
            "run",
            "--journal-path",
            str(tmp_path / "journal.json"),
            "--var-file",
            str(var_file),
            str(ROOT / "experiments" / "region-failure.json"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "configuration key 'us_hello_function'" in output and "--var-file" in output, output
    journal = json.loads((tmp_path / "journal.json").read_text(encoding="utf-8"))
    assert_stopped_before_anything(journal)
    assert functions_state(aws) == before
