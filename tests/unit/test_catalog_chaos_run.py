"""Every catalog piece validates, and `chaos run` expands short experiments through the control."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from chaoslib.experiment import ensure_experiment_is_valid

from chaosaws_serverless.catalog.compose import compose
from chaosaws_serverless.catalog.pieces import Catalog

ROOT = Path(__file__).resolve().parents[2]
SHORT = ROOT / "experiments" / "short"
CHAOS = str(Path(sys.executable).with_name("chaos"))
CATALOG = Catalog.default()
PIECES = CATALOG.names()
CONFIGURATION = [n for n in PIECES if n.startswith("configuration/")]


@pytest.mark.parametrize("name", PIECES)
def test_every_piece_composes_into_a_valid_experiment(name: str) -> None:
    # A piece is not an experiment: give it a header and the shared
    # configuration, then run chaoslib's own validation (what `chaos validate` runs).
    base = {
        "title": f"piece {name}",
        "description": "validation of one catalog piece",
        "steady-state-hypothesis": {"title": "steady"},
    }
    pieces = [*CONFIGURATION, name] if name not in CONFIGURATION else CONFIGURATION
    experiment = compose(pieces, CATALOG, base=base)
    ensure_experiment_is_valid(experiment)


def chaos(*arguments: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CHAOS, "--no-version-check", "--log-file", str(cwd / "chaostoolkit.log"), *arguments],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


def test_chaos_run_expands_the_short_form_with_the_loader_control(tmp_path: Path) -> None:
    journal = tmp_path / "journal.json"
    result = chaos(
        "run",
        "--dry",
        "activities",
        "--journal-path",
        str(journal),
        "--control-file",
        str(SHORT / "catalog-control.yaml"),
        str(SHORT / "region-failure.yaml"),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    ran = json.loads(journal.read_text(encoding="utf-8"))
    assert ran["status"] == "completed"
    shipped = json.loads((ROOT / "experiments" / "region-failure.json").read_text("utf-8"))
    experiment = {k: v for k, v in ran["experiment"].items() if k != "dry"}
    # The timeline control records the values the run used in the journal's copy and keeps
    # the declared ones beside it.
    declared = ran["chaosaws_serverless"]["declared_configuration"]
    # An env-sourced key keeps its declared form: a resolved value may be a secret.
    assert experiment["configuration"]["aws_endpoint_url"]["type"] == "env"
    assert {**experiment, "configuration": declared} == shipped
    assert [r["activity"]["name"] for r in ran["rollbacks"]] == [
        "remove-faults-us-hello",
        "remove-faults-us-health",
    ]


def test_chaos_run_with_the_control_in_the_settings_file(tmp_path: Path) -> None:
    settings = tmp_path / "settings.yaml"
    control = (SHORT / "catalog-control.yaml").read_text(encoding="utf-8")
    settings.write_text("controls:\n" + "".join(f"  {line}\n" for line in control.splitlines()))
    result = chaos(
        "--settings",
        str(settings),
        "run",
        "--dry",
        "activities",
        "--journal-path",
        str(tmp_path / "journal.json"),
        str(SHORT / "region-failure.yaml"),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_chaos_run_stops_on_a_catalog_error_before_anything_runs(tmp_path: Path) -> None:
    short = (SHORT / "region-failure.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(short.replace("method/wait-for-failover", "method/wait-for-failovr"))
    result = chaos(
        "run",
        "--journal-path",
        str(tmp_path / "journal.json"),
        "--control-file",
        str(SHORT / "catalog-control.yaml"),
        str(bad),
        cwd=tmp_path,
    )
    assert result.returncode == 1
    output = result.stdout + result.stderr
    assert "unknown catalog piece 'method/wait-for-failovr'" in output
    assert "did you mean 'method/wait-for-failover'" in output
    assert "Traceback" not in output
    assert not (tmp_path / "journal.json").exists()


def test_chaos_validate_needs_the_expanded_form(tmp_path: Path) -> None:
    # chaostoolkit 1.19's and 1.21's `validate` load no global controls: the README says to
    # validate the output of `chaosaws-serverless compose SHORT` instead.
    short = str(SHORT / "region-failure.yaml")
    assert chaos("validate", short, cwd=tmp_path).returncode == 1
    full = tmp_path / "full.json"
    compose = Path(sys.executable).with_name("chaosaws-serverless")
    subprocess.run([str(compose), "compose", short, "-o", str(full)], check=True, timeout=60)
    result = chaos("validate", str(full), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
