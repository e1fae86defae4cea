"""The stack description, the deployer, and the var file it writes for the reference experiment."""

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from chaosaws_serverless.lab.deploy import deploy
from chaosaws_serverless.lab.stack import StackError, load_stack, parse_stack

ROOT = Path(__file__).resolve().parents[2]
PACKAGED = ROOT / "chaosaws_serverless" / "lab" / "stack.json"


def test_misconfigured_variant_points_the_us_check_at_the_eu_domain() -> None:
    right, wrong = load_stack(), load_stack(misconfigured=True)
    assert right.health_check_domains == right.regions
    assert wrong.health_check_domains["us-east-1"] == "example.eu.mydomain.com"
    assert wrong.health_check_domains["eu-west-1"] == "example.eu.mydomain.com"
    assert right.api_url == "https://example.mydomain.com/api/hello"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["health_checks"].update(request_interval_seconds=1), "10 or 30"),
        (lambda d: d.update(time_scale=0), "time_scale"),
        (lambda d: d["regions"].pop("eu-west-1"), "two regions"),
        (lambda d: d.pop("zone"), "'zone'"),
    ],
)
def test_bad_stack_descriptions_are_named(change: Callable[[Any], None], message: str) -> None:
    data = json.loads(PACKAGED.read_text())
    change(data)
    with pytest.raises(StackError, match=message):
        parse_stack(data, misconfigured=False)


def test_deploy_creates_the_reference_stack_and_its_var_file(
    configuration: dict[str, Any], aws: Callable[..., Any], tmp_path: Path
) -> None:
    deployment = deploy(load_stack(misconfigured=True), configuration["aws_endpoint_url"])
    for region in ("us-east-1", "eu-west-1"):
        lam = aws("lambda", region)
        handlers = {"/api/hello": "functions.hello", "/api/health": "functions.health"}
        for path, handler in handlers.items():
            config = lam.get_function(FunctionName=deployment.functions[region][path])
            assert config["Configuration"]["Handler"] == handler
        assert deployment.layer_arns[region].startswith(f"arn:aws:lambda:{region}:")
    route53 = aws("route53")
    us_check = route53.get_health_check(HealthCheckId=deployment.health_check_ids["us-east-1"])
    assert us_check["HealthCheck"]["HealthCheckConfig"]["FullyQualifiedDomainName"] == (
        "example.eu.mydomain.com"
    )
    records = route53.list_resource_record_sets(HostedZoneId=deployment.hosted_zone_id)
    latency = [r for r in records["ResourceRecordSets"] if r.get("Region")]
    assert {r["Region"] for r in latency} == {"us-east-1", "eu-west-1"}
    assert aws("cloudwatch").get_dashboard(DashboardName=deployment.dashboard_name)

    values = json.loads(deployment.write_values(tmp_path / "values.json").read_text())
    experiment = json.loads((ROOT / "experiments" / "region-failure.json").read_text())
    optional = {"aws_endpoint_url"}  # read from the environment on AWS
    # The lab's gateways publish no API Gateway metrics: its customers' counts are the source.
    optional |= {"api_name", "api_stage", "api_type"}
    assert values["configuration"]["error_ratio_source"] == "load-generator"
    missing = set(experiment["configuration"]) - set(values["configuration"]) - optional
    assert not missing, f"the lab's var file lacks {sorted(missing)}"
    assert values["configuration"]["aws_endpoint_url"] == configuration["aws_endpoint_url"]
