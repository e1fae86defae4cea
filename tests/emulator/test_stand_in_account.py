"""The documentation's path for one's own account, walked on a moto server standing in for it.

docs/account.md, "Rehearse on a stand-in account": the stand-in script creates the
stack, `values-template` writes the var file, the values and credentials go into it
(credentials nowhere else: the `chaos run` process has no AWS variable and no AWS
file), and `chaos run experiments/region-failure.json` completes with its hypothesis
read from API Gateway's metrics.
"""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
KEY_ID, SECRET = "AKIASTANDINVARFILE01", "only-in-the-var-file-0123456789"


def _run(arguments: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(arguments, cwd=cwd, env=env, capture_output=True, text=True, timeout=240)


def test_the_documented_path_completes_with_credentials_only_in_the_var_file(
    tmp_path: Path, configuration: dict[str, Any]
) -> None:
    endpoint = configuration["aws_endpoint_url"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
    )
    script = ROOT / "docs" / "rehearsal" / "stand_in_account.py"
    made = _run([sys.executable, str(script), endpoint], tmp_path, env)
    assert made.returncode == 0, made.stderr
    printed = yaml.safe_load(made.stdout)

    copied = _run(
        [str(BIN / "chaosaws-serverless"), "experiments", "copy", "experiments"], tmp_path, env
    )
    assert copied.returncode == 0, copied.stderr
    template = _run(
        [
            str(BIN / "chaosaws-serverless"),
            "values-template",
            "experiments/region-failure.json",
            "-o",
            "stand-in.yaml",
        ],
        tmp_path,
        env,
    )
    assert template.returncode == 0, template.stderr
    values = yaml.safe_load((tmp_path / "stand-in.yaml").read_text(encoding="utf-8"))
    values["configuration"].update(
        printed,
        aws_endpoint_url=endpoint,
        error_ratio_source="api-metrics",
        health_source="api",
        failover_timeout_seconds=2,
        failover_poll_seconds=1,
        post_failover_pause_seconds=0,
    )
    values["secrets"]["aws"] = {"aws_access_key_id": KEY_ID, "aws_secret_access_key": SECRET}
    (tmp_path / "stand-in.yaml").write_text(yaml.safe_dump(values), encoding="utf-8")

    ran = _run(
        [
            str(BIN / "chaos"),
            "--no-version-check",
            "run",
            "--journal-path",
            "journal.json",
            "experiments/region-failure.json",
            "--var-file",
            "stand-in.yaml",
        ],
        tmp_path,
        env,
    )
    journal = json.loads((tmp_path / "journal.json").read_text(encoding="utf-8"))
    assert journal["status"] == "completed", ran.stdout[-3000:] + ran.stderr[-3000:]
    assert journal["deviated"] is False
    assert ran.returncode == 0
    for moment in ("before", "after"):
        probes = journal["steady_states"][moment]["probes"]
        ratios = [p for p in probes if p["activity"]["name"].endswith("error-ratio-within-budget")]
        assert len(ratios) == 2
        # The stand-in's API metrics: 6 5XXError per 1200 Count a minute, in both regions.
        assert all(abs(p["output"] - 6 / 1200) < 1e-9 for p in ratios), ratios
    # moto's Route 53 never fails over: the documented consequence, the method's probe fails.
    waited = [r for r in journal["run"] if r["activity"]["name"].startswith("seconds-until")]
    assert waited and waited[0]["status"] == "failed"
    assert all(r["status"] == "succeeded" for r in journal["rollbacks"])
    text = json.dumps(journal) + ran.stdout + ran.stderr
    assert SECRET not in text
