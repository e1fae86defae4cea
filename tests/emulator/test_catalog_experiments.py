"""Shipped experiments run with `chaos run` on the moto server; `chaos report` renders them.

The reference experiment itself runs end to end in the lab's demo test; here
the pre-flight experiment runs on a sound and on a misconfigured zone (the
reference run's bug: the US health check probes the EU domain), and its
journals go through `chaos report`.
"""

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CHAOS = str(Path(sys.executable).with_name("chaos"))
NAME = "example.mydomain.com"


def arrange_zone(aws: Callable[..., Any], us_check_domain: str) -> dict[str, str]:
    """Create the reference zone; return the experiment values that point at it."""
    route53 = aws("route53")
    zone_id = route53.create_hosted_zone(Name="mydomain.com", CallerReference="zone")["HostedZone"][
        "Id"
    ].split("/")[-1]
    checks = {}
    for short, domain in (("us", us_check_domain), ("eu", "example.eu.mydomain.com")):
        checks[short] = route53.create_health_check(
            CallerReference=f"{short}-{time.monotonic_ns()}",
            HealthCheckConfig={
                "Type": "HTTPS",
                "FullyQualifiedDomainName": domain,
                "ResourcePath": "/api/health",
                "Port": 443,
                "RequestInterval": 10,
                "FailureThreshold": 3,
                "EnableSNI": True,
            },
        )["HealthCheck"]["Id"]
    changes = []
    for short, region in (("us", "us-east-1"), ("eu", "eu-west-1")):
        changes.append(
            {
                "Action": "CREATE",
                "ResourceRecordSet": {
                    "Name": f"example.{short}.mydomain.com",
                    "Type": "A",
                    "AliasTarget": {
                        "HostedZoneId": "Z1UJRXOUMOOFQ8",
                        "DNSName": f"d-{short}1.execute-api.{region}.amazonaws.com",
                        "EvaluateTargetHealth": False,
                    },
                },
            }
        )
        changes.append(
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
        )
    route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": changes})
    return {
        "hosted_zone_id": zone_id,
        "record_name": NAME,
        "us_health_check_id": checks["us"],
        "eu_health_check_id": checks["eu"],
    }


def chaos(*arguments: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CHAOS, "--no-version-check", "--log-file", str(cwd / "chaostoolkit.log"), *arguments],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=180,
    )


def run_preflight(
    tmp_path: Path, configuration: dict[str, Any], values: dict[str, str]
) -> dict[str, Any]:
    var_file = tmp_path / "values.json"
    var_file.write_text(
        json.dumps(
            {"configuration": {**values, "aws_endpoint_url": configuration["aws_endpoint_url"]}}
        )
    )
    journal = tmp_path / "journal.json"
    result = chaos(
        "run",
        "--journal-path",
        str(journal),
        "--var-file",
        str(var_file),
        str(ROOT / "experiments" / "failover-preflight.json"),
        cwd=tmp_path,
    )
    assert journal.exists(), result.stdout[-3000:] + result.stderr[-3000:]
    ran: dict[str, Any] = json.loads(journal.read_text(encoding="utf-8"))
    assert result.returncode == (1 if ran["deviated"] else 0)
    return ran


def test_preflight_holds_on_a_sound_zone(
    tmp_path: Path, configuration: dict[str, Any], aws: Callable[..., Any]
) -> None:
    ran = run_preflight(tmp_path, configuration, arrange_zone(aws, "example.us.mydomain.com"))
    assert ran["status"] == "completed"
    assert ran["deviated"] is False
    assert ran["steady_states"]["before"] is None  # checked once, after the empty method
    assert ran["steady_states"]["after"]["probes"][0]["output"] == []


def test_preflight_deviates_and_the_report_names_the_misconfigured_check(
    tmp_path: Path, configuration: dict[str, Any], aws: Callable[..., Any]
) -> None:
    values = arrange_zone(aws, "example.eu.mydomain.com")
    ran = run_preflight(tmp_path, configuration, values)
    assert ran["status"] == "completed"
    assert ran["deviated"] is True  # so `chaos run` exits 1
    findings = ran["steady_states"]["after"]["probes"][0]["output"]
    assert any(values["us_health_check_id"] in f and "example.eu" in f for f in findings)

    report = tmp_path / "report.html"
    result = chaos(
        "report", "--export-format=html", str(tmp_path / "journal.json"), str(report), cwd=tmp_path
    )
    assert result.returncode == 0, result.stdout + result.stderr
    html = report.read_text(encoding="utf-8")
    assert "failover-configuration-has-no-findings" in html
    assert "failover-misconfiguration-findings" in html
    assert values["us_health_check_id"] in html


def test_tag_targeted_latency_scenario_runs_and_restores_exactly_the_chosen_functions(
    tmp_path: Path, configuration: dict[str, Any], aws: Callable[..., Any]
) -> None:
    """`tagged-latency.json`: PERCENT(20) of 10 tagged functions, then its rollback by tags."""
    from tests.support.lambdas import code_zip

    lam = aws("lambda")
    role = aws("iam").create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    layer = lam.publish_layer_version(
        LayerName="chaos-lambda-extension", Content={"ZipFile": code_zip()}
    )["LayerVersionArn"]
    names = [f"checkout-{i}" for i in range(10)]
    for name in [*names, "payments-0"]:
        lam.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role,
            Handler="app.handler",
            Code={"ZipFile": code_zip()},
            Environment={"Variables": {"N": name}},
            Tags={"service": name.split("-")[0]},
        )
    values = {
        **arrange_zone(aws, "example.us.mydomain.com"),
        "aws_endpoint_url": configuration["aws_endpoint_url"],
        "chaos_layer_arns": {"us-east-1": layer},
        "health_source": "api",
        "latency_ms": 1000,
        "fault_duration_seconds": 1,
        "fault_switch": "off",  # moto fires no schedule: tests/lab runs the switch
    }
    var_file = tmp_path / "values.json"
    var_file.write_text(json.dumps({"configuration": values}))
    journal = tmp_path / "journal.json"
    result = chaos(
        "run",
        "--journal-path",
        str(journal),
        "--var-file",
        str(var_file),
        str(ROOT / "experiments" / "tagged-latency.json"),
        cwd=tmp_path,
    )
    assert journal.exists(), result.stdout[-3000:] + result.stderr[-3000:]
    ran = json.loads(journal.read_text(encoding="utf-8"))
    assert ran["status"] == "completed" and ran["deviated"] is False, result.stderr[-3000:]
    (inject,) = ran["run"]
    chosen = inject["output"]["functions"]
    assert len(chosen) == 2 and set(chosen) <= set(names)  # PERCENT(20) of 10
    (rollback,) = ran["rollbacks"]
    assert rollback["status"] == "succeeded"
    assert rollback["output"]["restored"] == sorted(chosen)
    for name in [*names, "payments-0"]:
        answer = lam.get_function(FunctionName=name)
        assert answer["Configuration"]["Environment"]["Variables"] == {"N": name}
        assert not answer["Configuration"].get("Layers")
        assert answer["Tags"] == {"service": name.split("-")[0]}
