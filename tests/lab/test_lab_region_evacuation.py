"""region-evacuation on the local lab: a throttle of every US function, both outcomes."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.timeout(420)
def test_region_evacuation_deviates_on_the_misconfigured_stack_and_holds_on_the_fixed(
    tmp_path: Path,
) -> None:
    output = tmp_path / "lab-output"
    demo = subprocess.run(
        [
            str(Path(sys.executable).with_name("chaosaws-serverless")),
            "lab",
            "demo",
            "--output",
            str(output),
            "--experiment",
            "experiments/region-evacuation.json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=400,
    )
    shown = demo.stdout[-6000:] + demo.stderr[-3000:]
    assert demo.returncode == 0, shown
    runs = {r["variant"]: r for r in json.loads((output / "summary.json").read_text())["runs"]}

    wrong = runs["misconfigured"]
    assert wrong["deviated"] is True, shown
    assert wrong["us_unhealthy_after_seconds"] is None  # the US check watches the EU domain
    assert wrong["us_failure_ratio_during_fault"] > 0.5  # throttled: API Gateway answers 500
    assert wrong["eu_failure_ratio_during_fault"] < 0.05

    fixed = runs["fixed"]
    assert (fixed["status"], fixed["deviated"]) == ("completed", False), shown
    assert 0 < fixed["failover_measured_seconds"] < 15
    for variant in ("misconfigured", "fixed"):
        journal = json.loads((output / variant / "journal.json").read_text())
        [throttled] = [r for r in journal["run"] if r["activity"]["name"].startswith("throttle-")]
        assert throttled["output"]["functions"], "the US functions were throttled"
        [rollback] = journal["rollbacks"]
        assert rollback["output"]["restored"] == throttled["output"]["functions"]
