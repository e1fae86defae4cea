"""Discovery stays light: importing the load generator's activities pulls no aiohttp/hdrh."""

import re
import subprocess
import sys

import pytest

from chaosaws_serverless.loadgen.cli import _progress_line, summary_table


def test_discovery_imports_no_heavy_dependency() -> None:
    code = (
        "import sys, chaosaws_serverless.loadgen, chaosaws_serverless.loadgen.actions;"
        "heavy = {'aiohttp', 'hdrh', 'uvloop'} & set(sys.modules); print(sorted(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_progress_line_and_final_table(capsys: pytest.CaptureFixture[str]) -> None:
    counts = {"2xx": 90, "4xx": 0, "5xx": 10, "timeout": 0, "connect_error": 0,
              "invalid_response": 0, "other": 0}  # fmt: skip
    _progress_line(
        {
            "elapsed_seconds": 3.0,
            "sent": 100,
            "dropped": 0,
            "completed": 100,
            "in_flight": 2,
            "counts": counts,
            "latency_ms": {"p99": 12.5},
        }
    )
    line = capsys.readouterr().err
    assert line.startswith("\r") and "5xx     10" in line and "p99    12.5 ms" in line
    summary = {
        "url": "http://x/", "client_region": "us-east-1", "planned": 100, "sent": 100,
        "dropped": 0, "completed": 100, "achieved_rate_per_second": 50.0,
        "rate_per_second": 50, "status_2xx": 90, "status_4xx": 0, "status_5xx": 10,
        "status_timeout": 0, "status_connect_error": 0, "status_invalid_response": 0,
        "status_other": 0, "regions": {"eu-west-1": 90},
        "latency_ms": {"p50": 1.0, "p90": 2.0, "p99": 3.0, "max": 4.0},
        "event_loop": "uvloop", "put_metric_data_calls": 2, "failed_calls": 0,
    }  # fmt: skip
    table = summary_table(summary)
    assert re.search(r"^status_5xx +10 +10\.00 %$", table, re.M)
    assert re.search(r"^answered by eu-west-1 +90 +90\.00 %$", table, re.M)
    assert re.search(r"^PutMetricData calls \(failed\) +2 \(0\)$", table, re.M)
