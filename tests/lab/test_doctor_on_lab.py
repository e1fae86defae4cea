"""`chaosaws-serverless doctor` on the lab: fixed stack passes, misconfigured check named."""

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.lab import CREDENTIALS, lab_up, wait_for_customer_metrics

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@pytest.fixture(params=["fixed", "misconfigured"])
def lab(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    flags = ["--misconfigured"] if request.param == "misconfigured" else []
    with lab_up(tmp_path, *flags) as output:
        yield request.param, output


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_doctor_read_only_on_the_lab(lab: tuple[str, Path]) -> None:
    stack, output = lab
    wait_for_customer_metrics(output)
    result = subprocess.run(
        [
            str(BIN / "chaosaws-serverless"),
            "doctor",
            str(ROOT / "experiments" / "region-failure.json"),
            "--var-file",
            str(output / "values.json"),
            "--var-file",
            str(output / "lab.env"),
            "--json",
        ],
        capture_output=True,
        text=True,
        cwd=output,
        env={**os.environ, **CREDENTIALS},
        timeout=300,
    )
    report = json.loads(result.stdout)
    failing = [c for c in report["checks"] if c["verdict"] == "fail"]
    if stack == "fixed":
        assert (result.returncode, failing) == (0, []), result.stdout
        assert {c["check"] for c in report["checks"]} >= {
            "credentials",
            "chaos layer",
            "latency target",
            "route53 failover",
            "metric data",
        }
    else:
        assert result.returncode == 1
        assert [c["check"] for c in failing] == ["route53 failover"]
        assert "example.eu.mydomain.com" in failing[0]["detail"]
