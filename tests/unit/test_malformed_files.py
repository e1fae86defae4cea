"""Malformed files given to every command that reads one: one clear line, a non-zero exit.

Each shape here once reached a user as a traceback (issue 24): var files whose
``configuration`` is null or a list, YAML that does not parse, an experiment that
is ``[]`` or ``null``, a provider that is a string, arguments that are a list, a
journal that is ``[]``/``null`` or whose entries have the wrong type. The file is
refused before any AWS call (no emulator here: a call would fail differently).
"""

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from chaosaws_serverless.cli import main

GOOD_EXPERIMENT = {
    "title": "t",
    "description": "d",
    "configuration": {"aws_region": "us-east-1"},
    "method": [
        {
            "type": "probe",
            "name": "p",
            "provider": {
                "type": "python",
                "module": "chaosaws_serverless.route53.probes",
                "func": "get_health_check_status",
                "arguments": {"health_check_id": "x"},
            },
        }
    ],
}


def _activity(provider: Any) -> dict[str, Any]:
    return {**GOOD_EXPERIMENT, "method": [{"type": "action", "name": "a", "provider": provider}]}


BAD_EXPERIMENTS: dict[str, tuple[str, str, str]] = {
    # name: (file name, text, what the line names)
    "a list": ("e.json", "[]", "must hold an object"),
    "null": ("e.json", "null", "not null"),
    "a string": ("e.yaml", "just words\n", "not the string"),
    "invalid JSON": ("e.json", '{"title": "t",}', "not valid JSON (line 1"),
    "invalid YAML": ("e.yaml", "title: [unclosed\n", "not valid YAML"),
    "a text file": ("e.txt", "{}", "must be a .json, .yaml or .yml file"),
    "provider a string": ("e.json", json.dumps(_activity("python")), "method[0].provider"),
    "arguments a list": (
        "e.json",
        json.dumps(_activity({"type": "python", "module": "m", "func": "f", "arguments": [1]})),
        "method[0].provider.arguments",
    ),
    "method an object": ("e.json", json.dumps({**GOOD_EXPERIMENT, "method": {}}), "method must"),
    "configuration null": (
        "e.json",
        json.dumps({**GOOD_EXPERIMENT, "configuration": None}),
        "configuration must be an object",
    ),
    "configuration a list": (
        "e.json",
        json.dumps({**GOOD_EXPERIMENT, "configuration": ["aws_region"]}),
        "configuration must be an object",
    ),
    "a secrets scope a string": (
        "e.json",
        json.dumps({**GOOD_EXPERIMENT, "secrets": {"aws": "key"}}),
        "secrets.aws",
    ),
    "an activity a number": (
        "e.json",
        json.dumps({**GOOD_EXPERIMENT, "rollbacks": [3]}),
        "rollbacks[0]",
    ),
    "hypothesis probes an object": (
        "e.json",
        json.dumps({**GOOD_EXPERIMENT, "steady-state-hypothesis": {"title": "h", "probes": {}}}),
        "steady-state-hypothesis.probes",
    ),
}
BAD_VAR_FILES: dict[str, tuple[str, str, str]] = {
    "configuration null": ("v.json", '{"configuration": null}', "configuration must be"),
    "configuration a list": ("v.yaml", "configuration: [a, b]\n", "configuration must be"),
    "secrets a list": ("v.json", '{"secrets": ["aws"]}', "secrets must be"),
    "a secrets scope a string": ("v.json", '{"secrets": {"aws": "k"}}', "secrets.aws"),
    "a list": ("v.json", "[1, 2]", "must be an object"),
    "an empty object": ("v.json", "{}", "read it as a .env file"),
    "null YAML": ("v.yaml", "~\n", "not null"),
    "invalid YAML": ("v.yaml", "configuration:\n  a: [1\n", "not valid YAML"),
    "invalid JSON": ("v.json", "{configuration: 1}", "not valid JSON"),
    "a .env line without =": ("lab.env", "AWS_REGION\n", "is not KEY=VALUE"),
}
BAD_JOURNALS: dict[str, tuple[str, str]] = {
    "a list": ("[]", "must hold an object"),
    "null": ("null", "not null"),
    "no experiment": ('{"run": []}', "'experiment' must be"),
    "experiment a list": ('{"experiment": []}', "'experiment' must be"),
    "run an object": (json.dumps({"experiment": GOOD_EXPERIMENT, "run": {}}), "run must be"),
    "run entries numbers": (json.dumps({"experiment": GOOD_EXPERIMENT, "run": [1]}), "run[0]"),
    "an entry's activity a string": (
        json.dumps({"experiment": GOOD_EXPERIMENT, "run": [{"activity": "x"}]}),
        "run[0]",
    ),
    "start a number": (json.dumps({"experiment": GOOD_EXPERIMENT, "start": 3}), "'start'"),
}


def refused_in_one_line(result: Result, names: str) -> str:
    """Assert the command refused with click's one line (no traceback) and return it."""
    assert result.exit_code not in (0, None), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    assert "Traceback" not in result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error")]
    assert len(errors) == 1, result.stderr
    assert names in errors[0], errors[0]
    return errors[0]


def _commands_reading_an_experiment(path: str, tmp_path: Path) -> list[list[str]]:
    return [
        ["doctor", path],
        ["iam-policy", path],
        ["fis-template", path, "--stop-alarm-arn", "none"],
        ["values-template", path],
        # compose reads a first argument that is a .json/.yaml file as the experiment to expand
        *([["compose", path, "method/latency-fault"]] if path.endswith(("json", "yaml")) else []),
        ["lab", "demo", "--experiment", path, "--output", str(tmp_path / "lab")],
    ]


@pytest.mark.parametrize("case", sorted(BAD_EXPERIMENTS))
def test_an_experiment_of_the_wrong_shape_is_one_line(case: str, tmp_path: Path) -> None:
    name, text, names = BAD_EXPERIMENTS[case]
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    for command in _commands_reading_an_experiment(str(path), tmp_path):
        line = refused_in_one_line(CliRunner().invoke(main, command), names)
        assert str(path) in line, (command, line)


@pytest.mark.parametrize("case", sorted(BAD_VAR_FILES))
def test_a_var_file_of_the_wrong_shape_is_one_line(case: str, tmp_path: Path) -> None:
    name, text, names = BAD_VAR_FILES[case]
    var_file = tmp_path / name
    var_file.write_text(text, encoding="utf-8")
    experiment = tmp_path / "experiment.json"
    experiment.write_text(json.dumps(GOOD_EXPERIMENT), encoding="utf-8")
    journal = tmp_path / "journal.json"
    journal.write_text(json.dumps({"experiment": GOOD_EXPERIMENT, "run": []}), encoding="utf-8")
    given = ["--var-file", str(var_file)]
    for command in (
        ["doctor", *given],
        ["doctor", str(experiment), *given],
        ["iam-policy", str(experiment), *given],
        ["fis-template", str(experiment), "--stop-alarm-arn", "none", *given],
        ["timeline", str(journal), *given],
        ["rollback", "--region", "us-east-1", *given],
    ):
        line = refused_in_one_line(CliRunner().invoke(main, command), names)
        assert str(var_file) in line, (command, line)


@pytest.mark.parametrize("case", sorted(BAD_JOURNALS))
def test_a_journal_of_the_wrong_shape_is_one_line(case: str, tmp_path: Path) -> None:
    text, names = BAD_JOURNALS[case]
    journal = tmp_path / "journal.json"
    journal.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["timeline", str(journal), "-o", str(tmp_path / "t.png")])
    line = refused_in_one_line(result, names)
    assert str(journal) in line and not (tmp_path / "t.png").exists()


def test_a_stack_file_of_the_wrong_shape_is_one_line(tmp_path: Path) -> None:
    stack = tmp_path / "stack.json"
    for text, names in (("[]", "must hold an object"), ("{", "not valid JSON")):
        stack.write_text(text, encoding="utf-8")
        command = ["lab", "up", "--stack", str(stack), "--output", str(tmp_path / "lab")]
        refused_in_one_line(CliRunner().invoke(main, command), names)
