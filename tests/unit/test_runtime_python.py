"""What an experiment's ``runtime.python`` block means for this package, judged by chaostoolkit.

chaostoolkit 1.21 (``chaostoolkit/runtime.py``, read by ``commands/run.py`` and
``commands/validate.py`` before anything else) reads ``runtime.python``:
``dependencies`` (a list of requirements), ``isolated`` (a boolean) and ``version``
(a Python, which implies isolated). With dependencies or a version, ``chaos run`` and
``chaos validate`` run themselves again as

    uv run --no-project [--isolated] --python VERSION-or-chaos's-own-interpreter
        [--with chaostoolkit==chaos's-version] --with DEPENDENCY... \\
        -- python -m chaostoolkit.runner -- ARGV

and wait for that child (signals relayed, 60 s left to its rollbacks). So:

- without ``isolated`` or ``version``, the experiment runs in the environment chaos
  itself runs in (this package installed there is found, nothing is fetched), with
  the dependencies layered over it;
- isolated, it runs in a fresh environment holding chaostoolkit and only what is
  listed: this package must be listed, from the index after a release or as
  ``chaostoolkit-aws-serverless @ file:///path/to/the.whl`` until then;
- ``uv`` must be on PATH; chaostoolkit 1.19 (Python 3.11) ignores the block.

The shipped experiments declare none: they run in the interpreter chaos runs in,
on either Chaos Toolkit line. The judge is chaostoolkit's own code (its functions,
its ``chaos validate``), never this package's.
"""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENTS = sorted((ROOT / "experiments").glob("*.json"))
BIN = Path(sys.executable).parent


def _runtime() -> Any:
    return pytest.importorskip(
        "chaostoolkit.runtime", reason="chaostoolkit < 1.21: no runtime.python"
    )


def _with_python_runtime(tmp_path: Path, block: dict[str, Any]) -> Path:
    experiment = json.loads((ROOT / "experiments" / "failover-preflight.json").read_text("utf-8"))
    experiment["runtime"] = {**experiment["runtime"], "python": block}
    path = tmp_path / "experiment.json"
    path.write_text(json.dumps(experiment), encoding="utf-8")
    return path


def _chaos_validate(path: Path, tmp_path: Path, env: dict[str, str]) -> tuple[int, str]:
    log = tmp_path / "chaostoolkit.log"
    result = subprocess.run(
        [str(BIN / "chaos"), "--no-version-check", "--log-file", str(log), "validate", str(path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    return result.returncode, result.stdout + result.stderr + log.read_text("utf-8")


@pytest.mark.parametrize("path", EXPERIMENTS, ids=lambda p: p.name)
def test_the_shipped_experiments_run_in_the_interpreter_chaos_runs_in(path: Path) -> None:
    runtime = _runtime()
    assert runtime.get_python_runtime_info(json.loads(path.read_text("utf-8"))) is None


def test_dependencies_alone_layer_over_chaos_s_own_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    runtime = _runtime()
    monkeypatch.setenv("PATH", f"{BIN}{os.pathsep}{os.environ['PATH']}")  # the test extra's uv
    info = runtime.get_python_runtime_info(
        {"runtime": {"python": {"dependencies": ["chaostoolkit-aws-serverless"]}}}
    )
    command = runtime.build_runtime_command(info, ["run", "experiment.json"])
    assert command[1:] == [
        "run",
        "--no-project",
        "--python",
        sys.executable,
        "--with",
        "chaostoolkit-aws-serverless",
        "--",
        "python",
        "-m",
        "chaostoolkit.runner",
        "--",
        "run",
        "experiment.json",
    ]


def test_a_version_is_a_fresh_environment_with_only_chaostoolkit_and_what_is_listed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    runtime = _runtime()
    import chaostoolkit

    monkeypatch.setenv("PATH", f"{BIN}{os.pathsep}{os.environ['PATH']}")
    info = runtime.get_python_runtime_info({"runtime": {"python": {"version": "3.13"}}})
    assert info.isolated
    command = runtime.build_runtime_command(info, ["validate", "experiment.json"])
    withs = [command[i + 1] for i, word in enumerate(command) if word == "--with"]
    assert "--isolated" in command and command[command.index("--python") + 1] == "3.13"
    # This package is not in it unless listed.
    assert withs == [f"chaostoolkit=={chaostoolkit.__version__}"]


def test_chaos_validate_runs_under_uv_and_finds_the_package_it_runs_beside(
    tmp_path: Path,
) -> None:
    _runtime()
    path = _with_python_runtime(tmp_path, {"dependencies": ["chaostoolkit-aws-serverless"]})
    # Offline: layered over chaos's own environment, the package is found there, not fetched.
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "UV_OFFLINE": "1"}
    env["UV_CACHE_DIR"] = str(tmp_path / "uv-cache")
    status, output = _chaos_validate(path, tmp_path, env)
    assert status == 0, output
    assert "Preparing experiment dependencies with uv" in output
    assert "experiment syntax and semantic look valid" in output


def test_without_uv_on_path_chaos_refuses_the_block_in_one_line(tmp_path: Path) -> None:
    _runtime()
    path = _with_python_runtime(tmp_path, {"dependencies": ["chaostoolkit-aws-serverless"]})
    status, output = _chaos_validate(path, tmp_path, {**os.environ, "PATH": "/nonexistent"})
    assert status == 1 and "uv was not found on PATH" in output, output


def test_chaostoolkit_1_19_ignores_the_block(tmp_path: Path) -> None:
    import chaostoolkit

    if tuple(int(part) for part in chaostoolkit.__version__.split(".")[:2]) >= (1, 21):
        pytest.skip("chaostoolkit >= 1.21 reads runtime.python (the tests above)")
    # Not even looked at: a dependency that exists nowhere, and no uv on PATH.
    path = _with_python_runtime(tmp_path, {"dependencies": ["no-such-distribution-anywhere"]})
    status, output = _chaos_validate(path, tmp_path, {**os.environ, "PATH": "/nonexistent"})
    assert status == 0, output
    assert "Preparing experiment dependencies with uv" not in output
