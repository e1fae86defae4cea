"""`chaosaws-serverless load`: table, JSON, --resolve, CloudWatch through --endpoint-url."""

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from chaosaws_serverless.cli import main
from tests.support.loadgen_server import (
    LocalApi,
    fixture_local_api,  # noqa: F401  # registers the `local_api` fixture
)


def test_load_prints_a_table_and_follows_resolve(local_api: LocalApi) -> None:
    port = local_api.base_url.rsplit(":", 1)[1]
    result = CliRunner().invoke(
        main,
        [
            "load",
            "--url", "http://example.mydomain.com/eu",
            "--rate", "20",
            "--duration", "0.5",
            "--resolve", f"example.mydomain.com:127.0.0.1:{port}",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "planned / sent / dropped    10 / 10 / 0" in result.output
    assert "answered by eu-west-1" in result.output


def test_load_publishes_to_cloudwatch_and_prints_json(
    local_api: LocalApi, configuration: dict[str, Any], aws: Callable[..., Any]
) -> None:
    result = CliRunner().invoke(
        main,
        [
            "load",
            "--url", local_api.base_url + "/status/503",
            "--rate", "20",
            "--duration", "0.5",
            "--publish", "cloudwatch",
            "--region", "eu-west-1",
            "--endpoint-url", configuration["aws_endpoint_url"],
            "--json",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["status_5xx"] == 10 and summary["client_region"] == "eu-west-1"
    assert summary["put_metric_data_calls"] == 1 and summary["failed_calls"] == 0
    time.sleep(1.1)  # moto hides the current second
    names = {m["MetricName"] for m in aws("cloudwatch", "eu-west-1").list_metrics()["Metrics"]}
    assert "status_5xx" in names


def test_load_refuses_bad_input_with_the_value() -> None:
    result = CliRunner().invoke(
        main, ["load", "--url", "ftp://x", "--rate", "1", "--duration", "1"]
    )
    assert result.exit_code == 2 and "got 'ftp://x'" in result.output
    result = CliRunner().invoke(
        main, ["load", "--url", "http://x", "--rate", "0", "--duration", "1"]
    )
    assert "--rate must be a number > 0" in result.output  # the option, not the argument
    result = CliRunner().invoke(
        main, ["load", "--url", "http://x", "--rate", "1", "--duration", "1", "--resolve", "x"]
    )
    assert "HOST:IP" in result.output


@pytest.mark.parametrize("workers", ["1", "2"])
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_sending_and_reports_what_was_sent(
    local_api: LocalApi, signum: int, workers: str
) -> None:
    cli = Path(sys.executable).with_name("chaosaws-serverless")
    args = [
        "load",
        "--url",
        local_api.base_url + "/us",
        "--rate",
        "20",
        "--duration",
        "60",
        "--workers",
        workers,
        "--json",
    ]
    before = local_api.hits.get("/us", 0)  # the server is shared by the module's tests
    proc = subprocess.Popen([str(cli), *args], stdout=subprocess.PIPE, text=True)
    try:
        # Signal once requests arrive (not after a fixed time: start-up is slow on a busy machine).
        deadline = time.monotonic() + 60
        while local_api.hits.get("/us", 0) == before and time.monotonic() < deadline:
            time.sleep(0.05)
        started = time.monotonic()
        proc.send_signal(signum)
        out, _ = proc.communicate(timeout=15)
    finally:
        proc.kill()
    assert proc.returncode == 0
    assert time.monotonic() - started < 10
    summary = json.loads(out)
    assert summary["stopped_early"] is True
    assert 0 < summary["sent"] == summary["status_2xx"] < 60 * 20
