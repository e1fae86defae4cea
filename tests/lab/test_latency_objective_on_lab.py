"""The latency objective probe reads the right share in the lab, fault off, on, and off again.

The misconfigured stack never fails over, so while the latency fault is on
every US customer waits for the gateway's integration timeout (1 s in the
lab) and EU customers are untouched: the share of US requests slower than
500 ms is all of them, the EU share none. The judge is the lab's timing (1 s
timeout against answers in milliseconds), not the probe's arithmetic.
"""

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
US, EU = "us-east-1", "eu-west-1"
WINDOW = 5
SETTLE = WINDOW + 3  # the gateways cache the function's configuration for 1 s


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    output = tmp_path_factory.mktemp("latency-lab")
    command = [str(BIN / "chaosaws-serverless"), "lab"]
    up = subprocess.run(
        [*command, "up", "--misconfigured", "--output", str(output)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    try:
        assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
        values: dict[str, Any] = json.loads((output / "values.json").read_text())["configuration"]
        yield values
    finally:
        subprocess.run(
            [*command, "down", "--output", str(output)], capture_output=True, timeout=120
        )


def slow_share(values: dict[str, Any], client_region: str) -> float:
    from chaosaws_serverless.cloudwatch.probes import get_slow_request_ratio

    return get_slow_request_ratio(
        values["api_url"],
        500,
        WINDOW,
        client_region,
        # The lab publishes every second at 1-s resolution: a 5 s window needs 1 s periods.
        configuration={**values, "metric_period_seconds": 1},
        secrets=CREDENTIALS,
    )


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_slow_share_with_the_fault_off_on_and_off(lab: dict[str, Any]) -> None:
    from chaosaws_serverless.awslambda.actions import inject_latency, remove_faults

    function = lab["us_hello_function"]
    deadline = time.monotonic() + 60
    while True:  # the customers' first intervals
        try:
            before = {region: slow_share(lab, region) for region in (US, EU)}
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)
    time.sleep(SETTLE)
    before = {region: slow_share(lab, region) for region in (US, EU)}
    assert before[US] <= 0.05 and before[EU] <= 0.05, before

    inject_latency(function, 5000, region=US, configuration=lab, secrets=CREDENTIALS)
    try:
        time.sleep(SETTLE)
        during = {region: slow_share(lab, region) for region in (US, EU)}
    finally:
        remove_faults(function, region=US, configuration=lab, secrets=CREDENTIALS)
    assert during[US] >= 0.95, during
    assert during[EU] <= 0.05, during

    time.sleep(SETTLE)
    after = {region: slow_share(lab, region) for region in (US, EU)}
    assert after[US] <= 0.05 and after[EU] <= 0.05, after
