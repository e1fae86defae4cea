"""Shipped files found through importlib.resources; `experiments`; a missing extra in one line."""

import configparser
import json
import re
from importlib import metadata
from pathlib import Path

import pytest
from click.testing import CliRunner

from chaosaws_serverless import extras
from chaosaws_serverless.cli import main
from chaosaws_serverless.lab.demo import default_experiment
from chaosaws_serverless.shipped import shipped, shipped_path

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENTS = ROOT / "experiments"


def test_the_shipped_folders_are_the_repository_s_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # nothing depends on the working directory
    assert shipped_path("experiments") == EXPERIMENTS.resolve()
    assert (
        shipped_path("ssm", "chaos-layer-automation.yaml")
        == (ROOT / "ssm" / "chaos-layer-automation.yaml").resolve()
    )
    assert default_experiment() == (EXPERIMENTS / "region-failure.json").resolve()
    with pytest.raises(FileNotFoundError, match="reinstall"):
        shipped("experiments", "no-such-experiment.json")


def _given() -> dict[str, bytes]:
    """The files users get: the experiments folder without the catalog's pieces."""
    return {
        path.relative_to(EXPERIMENTS).as_posix(): path.read_bytes()
        for path in EXPERIMENTS.rglob("*")
        if path.is_file() and "catalog" not in path.relative_to(EXPERIMENTS).parts[:1]
    }


def test_experiments_copy_gives_the_ready_experiments(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["experiments", "copy", str(tmp_path / "mine")])
    assert result.exit_code == 0, result.output
    copied = {
        path.relative_to(tmp_path / "mine").as_posix(): path.read_bytes()
        for path in (tmp_path / "mine").rglob("*")
        if path.is_file()
    }
    assert copied == _given()
    assert {"README.md", "region-failure.json", "short/catalog-control.yaml"} <= set(copied)
    # Again: identical files are fine; a file the user changed is kept unless --force.
    assert runner.invoke(main, ["experiments", "copy", str(tmp_path / "mine")]).exit_code == 0
    changed = tmp_path / "mine" / "region-failure.json"
    changed.write_text("{}", encoding="utf-8")
    result = runner.invoke(main, ["experiments", "copy", str(tmp_path / "mine")])
    assert result.exit_code == 1 and "--force" in result.output
    assert changed.read_text(encoding="utf-8") == "{}"
    result = runner.invoke(main, ["experiments", "copy", "--force", str(tmp_path / "mine")])
    assert result.exit_code == 0
    assert changed.read_bytes() == (EXPERIMENTS / "region-failure.json").read_bytes()


def test_experiments_list_names_each_ready_experiment_with_its_title() -> None:
    result = CliRunner().invoke(main, ["experiments", "list"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    for path in sorted(EXPERIMENTS.glob("*.json")):
        title = json.loads(path.read_text(encoding="utf-8"))["title"]
        index = lines.index(path.name)
        assert lines[index + 1].strip() == title


def _setup_cfg_extra(extra: str) -> set[str]:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    lines = config["options.extras_require"][extra].splitlines()
    return {
        re.match(r"[A-Za-z0-9._-]+", line.strip()).group(0)  # type: ignore[union-attr]
        for line in lines
        if line.strip() and not line.strip().startswith("#")
    }


@pytest.mark.parametrize("extra", ["lab", "load"])
def test_the_extras_are_read_from_the_installed_metadata(extra: str) -> None:
    assert set(extras.extra_requirements(extra)) == _setup_cfg_extra(extra)


@pytest.mark.parametrize(
    ("extra", "argv"),
    [
        ("lab", ["lab", "status"]),
        ("lab", ["lab", "demo"]),
        ("load", ["load", "--url", "http://127.0.0.1:9/", "--rate", "1", "--duration", "1"]),
    ],
)
def test_a_missing_extra_is_one_line_with_the_pip_command(
    extra: str, argv: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = metadata.distribution

    def without_aiohttp(name: str) -> metadata.Distribution:
        if name.lower() == "aiohttp":
            raise metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(extras.metadata, "distribution", without_aiohttp)
    result = CliRunner().invoke(main, argv)
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"Error: this command needs the {extra!r} extra (aiohttp missing): "
        f"pip install 'chaostoolkit-aws-serverless[{extra}]'"
    ]
    # --help still works without the extra.
    command = argv[:2] if argv[0] == "lab" else argv[:1]
    assert CliRunner().invoke(main, [*command, "--help"]).exit_code == 0
