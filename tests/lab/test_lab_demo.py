"""`make demo` as a test: both outcomes of the reference experiment on the local lab."""

import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# About 170 s on a quiet 2-core machine, 205 s beside three busy loops; CI runs it beside the
# rest of the suite and its own background steps.
DEMO_TIMEOUT_SECONDS = 540


@pytest.mark.slow
@pytest.mark.timeout(DEMO_TIMEOUT_SECONDS + 90)
def test_demo_catches_the_misconfiguration_and_confirms_the_fix(tmp_path: Path) -> None:
    output = tmp_path / "lab-output"
    process = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("chaosaws-serverless")),
            "lab",
            "demo",
            "--output",
            str(output),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=DEMO_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        # Show where the demo was: its own output says which stack and which step.
        process.terminate()
        stdout, stderr = process.communicate(timeout=60)
        pytest.fail(
            f"lab demo not done within {DEMO_TIMEOUT_SECONDS} s; its output ends with:\n"
            + stdout[-6000:]
            + stderr[-3000:]
        )
    demo = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    shown = demo.stdout[-6000:] + demo.stderr[-3000:]
    assert demo.returncode == 0, shown
    summary = json.loads((output / "summary.json").read_text())
    runs = {run["variant"]: run for run in summary["runs"]}

    wrong = runs["misconfigured"]
    assert wrong["deviated"] is True, shown
    assert wrong["us_unhealthy_after_seconds"] is None  # the US check never went unhealthy
    assert wrong["us_failure_ratio_during_fault"] > 0.5  # US customers kept failing
    assert wrong["eu_failure_ratio_during_fault"] < 0.05  # EU customers were not affected
    assert any("example.eu.mydomain.com" in finding for finding in wrong["findings"])

    fixed = runs["fixed"]
    assert (fixed["status"], fixed["deviated"]) == ("completed", False), shown
    assert fixed["findings"] == []
    assert 0 < fixed["failover_measured_seconds"] < 15
    assert fixed["us_unhealthy_after_seconds"] <= fixed["failover_measured_seconds"]

    for variant in ("misconfigured", "fixed"):
        folder = output / variant
        journal = json.loads((folder / "journal.json").read_text())
        assert journal["rollbacks"], "the faults were rolled back"
        assert (folder / "report.html").stat().st_size > 10_000
        png = (folder / "timeline.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        # The run's timeline control drew it with the lab's values (then the demo redrew it
        # with the traffic before and after): the report shows the picture the folder holds.
        drawn = journal["chaosaws_serverless"]["timeline"]
        assert drawn["health_checks"] == ["eu-west-1", "us-east-1"], drawn
        assert drawn["client_regions"] == ["eu-west-1", "us-east-1"], drawn
        assert "fault injected" in [event["label"] for event in drawn["events"]]
        report = (folder / "report.html").read_text()
        assert f"data:image/png;base64,{base64.b64encode(png).decode()}" in report
    assert "The experiment caught the misconfiguration and confirmed the fix." in demo.stdout
    assert not (output / "lab-state.json").exists()
    assert children_of(process.pid) == [], "every process the demo started has stopped"


def children_of(pid: int) -> list[str]:
    """Return the command lines of lab processes started with ``--parent-pid pid``."""
    marker = f"--parent-pid\0{pid}\0"
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if marker in cmdline:
            found.append(cmdline.replace("\0", " "))
    return found
