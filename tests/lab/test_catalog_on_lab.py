"""The other ready experiments run unchanged on the local lab (the demo test runs region-failure).

One `lab up`, then `chaos run` of error-injection, canary-alias-latency and
failover-preflight with the lab's var file and a shorter fault; each holds and
leaves no fault behind.
"""

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.support.lab import CREDENTIALS, configuration, lab_up, wait_for_customer_metrics
from tests.support.switch_kill import clients, schedules

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with lab_up(tmp_path_factory.mktemp("catalog-lab")) as output:
        yield output


def run(lab: Path, experiment: str) -> dict[str, Any]:
    journal = lab / f"{experiment}.journal.json"
    result = subprocess.run(
        [
            str(BIN / "chaos"),
            "--no-version-check",
            "--log-file",
            str(lab / f"{experiment}.log"),
            "run",
            "--journal-path",
            str(journal),
            "--var-file",
            str(lab / "values.json"),
            "--var",
            "fault_duration_seconds:int=5",
            str(ROOT / "experiments" / f"{experiment}.json"),
        ],
        capture_output=True,
        text=True,
        cwd=lab,
        env={**os.environ, **CREDENTIALS},
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    ran: dict[str, Any] = json.loads(journal.read_text())
    assert (ran["status"], ran["deviated"]) == ("completed", False)
    return ran


def lambda_client(lab: Path) -> Any:
    return boto3.client(
        "lambda",
        region_name="us-east-1",
        endpoint_url=configuration(lab)["aws_endpoint_url"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_ready_experiments_hold_on_the_lab_and_roll_back(lab: Path) -> None:
    from chaosaws_serverless.awslambda.probes import fault_is_injected

    values = configuration(lab)
    function = values["us_hello_function"]
    wait_for_customer_metrics(lab)

    run(lab, "failover-preflight")

    ran = run(lab, "error-injection")
    assert [r["activity"]["name"] for r in ran["rollbacks"]] == ["remove-faults-us-hello"]

    # The canary experiment needs an alias; the reference stack has none.
    client = lambda_client(lab)
    version = client.publish_version(FunctionName=function)["Version"]
    client.create_alias(FunctionName=function, Name="canary", FunctionVersion=version)
    ran = run(lab, "canary-alias-latency")
    state = ran["run"][1]["output"]
    assert state["injected"] is True and state["latency_ms"] == values["latency_ms"]

    for alias in (None, "canary"):
        injected = fault_is_injected(
            function, "us-east-1", alias, configuration=values, secrets=dict(CREDENTIALS)
        )
        assert injected is False, f"fault left on {function} alias={alias}"
    # Each fault armed its dead man's switch in AWS; each rollback deleted it.
    assert schedules(clients(values, "scheduler")) == []
