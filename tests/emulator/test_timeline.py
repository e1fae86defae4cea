"""The timeline of a run against a plain moto endpoint (not the lab), from its journal.

A real `chaos run` (chaostoolkit's command, in process) of an experiment whose
method sends customer load to a local HTTP API and publishes it to moto, with
the timeline control declared; Route 53 latency records and health checks
exist in moto and their status is published as AWS publishes it. The tests
assert on the series drawn (read back independently with boto3), the journal's
records and the HTML report, never on pixels.
"""

import base64
import json
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from chaosaws_serverless import metric_names
from chaosaws_serverless.cli import main
from chaosaws_serverless.timeline.core import read_journal_timeline
from chaosaws_serverless.timeline.journal import JOURNAL_KEY
from tests.support.loadgen_server import (
    LocalApi,
    fixture_local_api,  # noqa: F401  # registers the `local_api` fixture
)

US, EU = "us-east-1", "eu-west-1"
PNG = b"\x89PNG\r\n\x1a\n"
BIN = Path(sys.executable).parent


def arrange_route53(aws: Callable[..., Any]) -> dict[str, str]:
    """A zone with one latency record per region, each with its own health check."""
    route53 = aws("route53")
    zone = route53.create_hosted_zone(Name="example.test", CallerReference=str(time.time()))
    zone_id = zone["HostedZone"]["Id"].rsplit("/", 1)[-1]
    checks = {}
    changes = []
    for region in (US, EU):
        check = route53.create_health_check(
            CallerReference=f"{region}-{time.time()}",
            HealthCheckConfig={
                "Type": "HTTPS",
                "FullyQualifiedDomainName": f"api.{region}.example.test",
                "ResourcePath": "/health",
                "RequestInterval": 10,
                "FailureThreshold": 3,
            },
        )["HealthCheck"]["Id"]
        checks[region] = check
        changes.append(
            {
                "Action": "CREATE",
                "ResourceRecordSet": {
                    "Name": "api.example.test",
                    "Type": "CNAME",
                    "SetIdentifier": region,
                    "Region": region,
                    "TTL": 10,
                    "HealthCheckId": check,
                    "ResourceRecords": [{"Value": f"api.{region}.example.test"}],
                },
            }
        )
    route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": changes})
    return {"zone_id": zone_id, **checks}


def publish_health(aws: Callable[..., Any], check: str, values: list[float]) -> list[datetime]:
    """Publish HealthCheckStatus datapoints one second apart ending now (as AWS, in us-east-1)."""
    now = datetime.now(UTC).replace(microsecond=0)
    stamps = [now - timedelta(seconds=len(values) - i) for i in range(len(values))]
    aws("cloudwatch", US).put_metric_data(
        Namespace="AWS/Route53",
        MetricData=[
            {
                "MetricName": "HealthCheckStatus",
                "Dimensions": [{"Name": "HealthCheckId", "Value": check}],
                "Timestamp": stamp,
                "Value": value,
                "StorageResolution": 1,
            }
            for stamp, value in zip(stamps, values, strict=True)
        ],
    )
    return stamps


def experiment(url: str) -> dict[str, Any]:
    return {
        "version": "1.0.0",
        "title": "Customers of ${client_region} keep getting answers",
        "description": "A run against a plain emulator endpoint.",
        "configuration": {
            "aws_region": US,
            "aws_regions": [US, EU],
            "aws_endpoint_url": "http://127.0.0.1:1/declared-only",
            "api_url": "https://declared.example/api",
            "hosted_zone_id": "Z-declared",
            "record_name": "api.example.test",
            "client_region": US,
        },
        "controls": [
            {
                "name": "timeline",
                "provider": {"type": "python", "module": "chaosaws_serverless.controls.timeline"},
            }
        ],
        "method": [
            {
                "type": "action",
                "name": "customers-call-the-api",
                "provider": {
                    "type": "python",
                    "module": "chaosaws_serverless.loadgen.actions",
                    "func": "generate_load",
                    "arguments": {
                        "url": "${api_url}",
                        "rate_per_second": 20,
                        "duration_seconds": 3,
                        "client_region": "${client_region}",
                        "interval_seconds": 1,
                    },
                },
            },
            {
                "type": "probe",
                "name": "who-answered",
                "provider": {
                    "type": "python",
                    "module": "chaosaws_serverless.route53.probes",
                    "func": "get_latency_route",
                    "arguments": {
                        "hosted_zone_id": "${hosted_zone_id}",
                        "record_name": "${record_name}",
                        "client_region": US,
                    },
                },
            },
        ],
        "rollbacks": [],
    }


@pytest.fixture
def run(
    tmp_path: Path,
    local_api: LocalApi,
    configuration: dict[str, Any],
    aws: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> dict[str, Any]:
    """`chaos run` the experiment with a var file; return its facts."""
    from chaostoolkit.cli import cli as chaos

    ids = arrange_route53(aws)
    url = local_api.base_url + "/eu"
    path = tmp_path / "experiment.json"
    path.write_text(json.dumps(experiment(url)))
    values = tmp_path / "values.json"
    values.write_text(
        json.dumps(
            {
                "configuration": {
                    "api_url": url,
                    "hosted_zone_id": ids["zone_id"],
                    "aws_endpoint_url": configuration["aws_endpoint_url"],
                }
            }
        )
    )
    publish_health(aws, ids[US], [1.0] * 4)
    publish_health(aws, ids[EU], [1.0] * 4)
    journal = tmp_path / "out" / "journal.json"
    journal.parent.mkdir()
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        chaos,
        ["run", "--journal-path", str(journal), "--var-file", str(values), str(path)],
        catch_exceptions=False,
    )
    assert journal.exists(), result.output
    health = {
        US: publish_health(aws, ids[US], [1.0, 0.0, 0.0]),
        EU: publish_health(aws, ids[EU], [1.0, 1.0, 1.0]),
    }
    time.sleep(1.1)  # moto does not return datapoints of the current second
    return {"journal": journal, "url": url, "ids": ids, "values": values, "health": health}


def load_summary(journal: dict[str, Any]) -> dict[str, Any]:
    return next(
        r["output"] for r in journal["run"] if r["activity"]["name"] == "customers-call-the-api"
    )


def test_the_control_draws_next_to_the_journal_with_the_values_the_run_used(
    run: dict[str, Any], configuration: dict[str, Any]
) -> None:
    journal = json.loads(run["journal"].read_text())
    png = run["journal"].parent / "timeline.png"
    assert png.read_bytes()[:8] == PNG
    record = journal[JOURNAL_KEY]
    # The var file's values, not the declared ones, and no credentials.
    assert record["configuration"]["api_url"] == run["url"]
    assert record["configuration"]["aws_endpoint_url"] == configuration["aws_endpoint_url"]
    assert record["declared_configuration"]["api_url"] == "https://declared.example/api"
    assert journal["experiment"]["configuration"]["api_url"] == run["url"]
    assert record["timeline"]["url"] == run["url"]
    assert record["timeline"]["health_checks"] == [EU, US]
    assert record["timeline"]["client_regions"] == [US]
    # The picture travels in the journal where chaostoolkit-reporting renders it.
    # No fault in this run: on the method's last entry.
    assert "charts" not in journal["run"][0]
    charts = journal["run"][-1]["charts"]
    assert len(charts) == 1 and "data:image/png;base64," in charts[0]
    encoded = charts[0].split("base64,", 1)[1].split('"', 1)[0]
    assert base64.b64decode(encoded) == png.read_bytes()


def test_the_series_drawn_are_the_published_counts_and_health(
    run: dict[str, Any], configuration: dict[str, Any]
) -> None:
    journal = json.loads(run["journal"].read_text())
    summary = load_summary(journal)
    assert summary["status_2xx"] > 0
    data = read_journal_timeline(
        journal, journal[JOURNAL_KEY]["configuration"], tail_seconds=10, lead_seconds=10
    )
    statuses = data.statuses[US]
    # Every request the load generator counted is in the panel of its client region.
    assert sum(statuses[metric_names.STATUS_2XX].points.values()) == summary["status_2xx"]
    assert sum(statuses[metric_names.STATUS_5XX].points.values()) == 0
    assert sum(data.served[EU].points.values()) == summary["regions"][EU]
    assert US not in data.served  # nobody in us-east-1 answered
    # Rates are per second: 1 s intervals of a 20/s load.
    assert max(statuses[metric_names.STATUS_2XX].rates.values()) <= 40
    # Route 53 health per region, by the latency records of the journal's zone.
    assert set(data.health) == {US, EU}
    us_health = data.health[US].points
    assert [us_health[s.timestamp()] for s in run["health"][US]] == [1.0, 0.0, 0.0]
    assert set(data.health[EU].points.values()) == {1.0}
    assert data.origin == datetime.fromisoformat(journal["start"]).timestamp()


def test_the_command_redraws_from_the_journal_and_embeds(
    run: dict[str, Any], tmp_path: Path
) -> None:
    target = tmp_path / "again.png"
    result = CliRunner().invoke(
        main, ["timeline", str(run["journal"]), "-o", str(target), "--after", "0", "--embed"]
    )
    assert result.exit_code == 0, result.output
    assert target.read_bytes()[:8] == PNG
    assert "health: eu-west-1, us-east-1" in result.output
    assert "customers in: us-east-1" in result.output


def test_a_value_the_journal_lacks_is_a_clear_error(run: dict[str, Any], tmp_path: Path) -> None:
    journal = json.loads(run["journal"].read_text())
    journal[JOURNAL_KEY]["configuration"].pop("api_url")
    journal["experiment"]["method"] = journal["experiment"]["method"][1:]
    broken = tmp_path / "no-url.json"
    broken.write_text(json.dumps(journal))
    result = CliRunner().invoke(main, ["timeline", str(broken), "-o", str(tmp_path / "x.png")])
    assert result.exit_code == 1
    assert "names no customer URL" in result.output and "--url" in result.output
    assert not (tmp_path / "x.png").exists()
    # Another URL than the customers': no counts, an error rather than empty panels.
    result = CliRunner().invoke(
        main,
        [
            "timeline",
            str(run["journal"]),
            "--url",
            "https://nobody.example/",
            "-o",
            str(tmp_path / "y.png"),
        ],
    )
    assert result.exit_code == 1 and "no load generator counts" in result.output
    assert not (tmp_path / "y.png").exists()


def test_chaos_report_html_shows_the_picture_and_the_values_used(
    run: dict[str, Any], tmp_path: Path
) -> None:
    report = tmp_path / "report.html"
    completed = subprocess.run(
        [str(BIN / "chaos"), "report", "--export-format=html5", str(run["journal"]), str(report)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    html = report.read_text()
    png = (run["journal"].parent / "timeline.png").read_bytes()
    assert f"data:image/png;base64,{base64.b64encode(png).decode()}" in html
    # The arguments as the run resolved them (no --var-file given to chaos report).
    assert run["url"] in html and "declared.example" not in html


def test_a_run_whose_endpoint_is_declared_by_the_environment_redraws(
    local_api: LocalApi,
    configuration: dict[str, Any],
    aws: Callable[..., Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The lab's hand-run flow: `aws_endpoint_url` declared as the shipped experiments declare
    it ({"type": "env", ...}), `chaos run --var-file values.json --var-file lab.env`, then
    `timeline` (with lab.env, or with the variable exported): drawn, never a TypeError."""
    from chaostoolkit.cli import cli as chaos

    # Unset, as in a fresh shell (restored afterwards): only lab.env sets it.
    monkeypatch.setenv("AWS_ENDPOINT_URL", "")
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    ids = arrange_route53(aws)
    url = local_api.base_url + "/eu"
    declared = experiment(url)
    declared["configuration"]["aws_endpoint_url"] = {
        "type": "env",
        "key": "AWS_ENDPOINT_URL",
        "default": "",
    }
    path = tmp_path / "experiment.json"
    path.write_text(json.dumps(declared))
    values = tmp_path / "values.json"
    values.write_text(
        json.dumps({"configuration": {"api_url": url, "hosted_zone_id": ids["zone_id"]}})
    )
    env_file = tmp_path / "lab.env"
    env_file.write_text(f"AWS_ENDPOINT_URL={configuration['aws_endpoint_url']}\n")
    journal = tmp_path / "journal.json"
    monkeypatch.chdir(tmp_path)
    arguments = ["run", "--journal-path", str(journal), "--var-file", str(values)]
    arguments += ["--var-file", str(env_file), str(path)]
    CliRunner().invoke(chaos, arguments, catch_exceptions=False)
    recorded = json.loads(journal.read_text())[JOURNAL_KEY]["configuration"]
    assert recorded["aws_endpoint_url"] == declared["configuration"]["aws_endpoint_url"]
    time.sleep(1.1)  # moto does not return datapoints of the current second
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    target = tmp_path / "again.png"
    drawn = CliRunner().invoke(
        main, ["timeline", str(journal), "-o", str(target), "--var-file", str(env_file)]
    )
    assert drawn.exit_code == 0, drawn.output
    assert target.read_bytes()[:8] == PNG and "customers in: us-east-1" in drawn.output
    # The variable exported in the shell instead of --var-file lab.env: the same picture.
    target.unlink()
    monkeypatch.setenv("AWS_ENDPOINT_URL", configuration["aws_endpoint_url"])
    drawn = CliRunner().invoke(main, ["timeline", str(journal), "-o", str(target)])
    assert drawn.exit_code == 0, drawn.output
    assert target.read_bytes()[:8] == PNG
