"""What the tests on the local lab share: its values, the customers' first metrics."""

import json
import time
from pathlib import Path
from typing import Any

# Fake credentials: the lab's moto server accepts any.
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


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
