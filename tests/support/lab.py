"""What the tests on the local lab share: its values, the customers' first metrics."""

import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# Fake credentials: the lab's moto server accepts any.
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


ROOT = Path(__file__).resolve().parents[2]
LAB = [str(Path(sys.executable).with_name("chaosaws-serverless")), "lab"]


@contextlib.contextmanager
def lab_up(output: Path, *flags: str) -> Iterator[Path]:
    """`chaosaws-serverless lab up --output output`, and `lab down` whatever happens."""
    up = subprocess.run(
        [*LAB, "up", "--output", str(output), *flags],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    try:
        assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
        yield output
    finally:
        subprocess.run([*LAB, "down", "--output", str(output)], capture_output=True, timeout=120)


def configuration(lab: Path) -> dict[str, Any]:
    values: dict[str, Any] = json.loads((lab / "values.json").read_text())["configuration"]
    return values


def wait_for_customer_metrics(lab: Path) -> None:
    """The hypothesis needs one observation window of customers' metrics."""
    from chaosaws_serverless.cloudwatch.probes import get_error_ratio

    values = configuration(lab)
    deadline = time.monotonic() + 60
    while True:
        try:
            get_error_ratio(
                values["api_url"],
                values["observation_window_seconds"],
                "us-east-1",
                configuration=values,
                secrets=dict(CREDENTIALS),
            )
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(2)
