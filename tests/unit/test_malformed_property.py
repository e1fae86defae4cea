"""Hypothesis throws JSON values at every command that reads a file: one line or a result.

The strategies draw any JSON value, and experiments, var files and journals
whose one key (anywhere in a valid document) is replaced by any JSON value.
Every command that reads such a file (``doctor``, ``iam-policy``,
``fis-template``, ``values-template``, ``compose``, ``timeline``) must either
answer (exit 0) or refuse in click's one ``Error:`` line, exit non-zero, and
never print a traceback. Nothing here reaches AWS: the experiment needs
account values no drawn var file has, and the endpoint is a closed port.
``CHAOSAWS_PROPERTY_EXAMPLES`` raises the budget (CI's is small).
"""

import copy
import json
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chaosaws_serverless.cli import main
from chaosaws_serverless.shipped import EXPERIMENTS, shipped_path

EXAMPLES = int(os.environ.get("CHAOSAWS_PROPERTY_EXAMPLES", "25"))
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
REFERENCE = json.loads(shipped_path(EXPERIMENTS, "region-failure.json").read_text("utf-8"))
VALUES = json.loads(Path(__file__).with_name("example-values.json").read_text("utf-8"))
JOURNAL = {"experiment": REFERENCE, "start": "2026-01-01T00:00:00", "run": [], "rollbacks": []}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def _paths(node: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Return the path of every key and list item of ``node``."""
    found = [at] if at else []
    if isinstance(node, dict):
        for key, value in node.items():
            found.extend(_paths(value, (*at, key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.extend(_paths(value, (*at, index)))
    return found


def mutated(document: Any) -> st.SearchStrategy[Any]:
    """Return ``document`` with one key or item, anywhere, replaced by any JSON value."""
    paths = _paths(document)

    def replace(path: tuple[Any, ...], value: Any) -> Any:
        copied = copy.deepcopy(document)
        node = copied
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value
        return copied

    return st.builds(replace, st.sampled_from(paths), json_values)


def answered_or_refused_in_one_line(result: Any) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert "Traceback" not in result.output
    if result.exit_code != 0:
        errors = [line for line in result.stderr.splitlines() if line.startswith("Error")]
        assert len(errors) == 1, result.stderr


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    return tmp_path


def _write(folder: Path, name: str, document: Any) -> str:
    path = folder / name
    path.write_text(json.dumps(document), encoding="utf-8")
    return str(path)


@SETTINGS
@given(experiment=json_values | mutated(REFERENCE))
def test_commands_reading_an_experiment(folder: Path, experiment: Any) -> None:
    path = _write(folder, "experiment.json", experiment)
    values = _write(folder, "values.json", VALUES)
    for command in (
        ["iam-policy", path, "--var-file", values],
        ["fis-template", path, "--var-file", values, "--stop-alarm-arn", "none"],
        ["values-template", path],
        ["compose", path, "method/latency-fault", "-o", str(folder / "out.json")],
    ):
        answered_or_refused_in_one_line(CliRunner().invoke(main, command))


@SETTINGS
@given(
    var_file=json_values | mutated(VALUES) | st.builds(lambda v: {"configuration": v}, json_values)
)
def test_commands_reading_a_var_file(folder: Path, var_file: Any) -> None:
    values = _write(folder, "values.json", var_file)
    experiment = str(shipped_path(EXPERIMENTS, "region-failure.json"))
    for command in (
        ["iam-policy", experiment, "--var-file", values],
        ["fis-template", experiment, "--var-file", values, "--stop-alarm-arn", "none"],
    ):
        answered_or_refused_in_one_line(CliRunner().invoke(main, command))


@SETTINGS
@given(var_file=json_values | st.builds(lambda v: {"configuration": v}, json_values))
def test_the_doctor_reading_a_var_file(folder: Path, var_file: Any) -> None:
    # Drawn files lack the experiment's account values: the doctor refuses before any AWS call.
    values = _write(folder, "values.json", var_file)
    experiment = str(shipped_path(EXPERIMENTS, "region-failure.json"))
    result = CliRunner().invoke(main, ["doctor", experiment, "--var-file", values])
    answered_or_refused_in_one_line(result)
    assert result.exit_code != 0


@SETTINGS
@given(journal=json_values | mutated(JOURNAL))
def test_timeline_reading_a_journal(folder: Path, journal: Any) -> None:
    path = _write(folder, "journal.json", journal)
    # Only the file's reading is under test: a journal that reads well has no customer URL
    # for this drawing (--url is not given and the reference takes it from api_url, required).
    result = CliRunner().invoke(main, ["timeline", path, "-o", str(folder / "t.png")])
    answered_or_refused_in_one_line(result)
    assert result.exit_code != 0 and not (folder / "t.png").exists()
