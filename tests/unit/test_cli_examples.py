"""Every command line shown in `--help` and in the READMEs works as written.

Examples are collected from the text users read (the `\\b` blocks of every
command's help, the ```bash blocks of README.md, experiments/README.md and every
page of the documentation site, docs/*.md), not from a list kept here. Those
that need nothing but the package (compose, catalog, experiments, fis-template,
iam-policy, values-template, chaos validate, chaos discover...) run in a folder
holding `experiments copy`'s files and a values file, and must exit 0; those
that need AWS, a network or minutes (chaos run, lab, load, rollback) are
resolved to their command, and each option they use must be one of that
command's options.
"""

import json
import re
import shlex
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from chaostoolkit.cli import cli as chaos_cli
from click.testing import CliRunner

from chaosaws_serverless.cli import main

ROOT = Path(__file__).resolve().parents[2]
READMES = [ROOT / "README.md", ROOT / "experiments" / "README.md", *sorted(ROOT.glob("docs/*.md"))]
ACCOUNT = "210987654321"
# The READMEs' words for "your value here".
FILL_INS = {
    "FIS_ROLE_ARN": f"arn:aws:iam::{ACCOUNT}:role/fis",
    "SSM_ROLE_ARN": f"arn:aws:iam::{ACCOUNT}:role/ssm-automation",
    "ALARM_ARN": f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:us-customers-errors",
}
# Run to the end; the others (AWS, network, minutes) only have their options checked.
RUN = {("chaosaws-serverless", c) for c in ("activities", "catalog", "compose", "experiments")}
RUN |= {("chaosaws-serverless", c) for c in ("fis-template", "iam-policy", "values-template")}
RUN |= {("chaos", "validate"), ("chaos", "discover")}


def _commands(group: click.Group, prefix: tuple[str, ...]) -> Iterator[click.Command]:
    for name, command in sorted(group.commands.items()):
        yield command
        if isinstance(command, click.Group):
            yield from _commands(command, (*prefix, name))


def _logical_lines(text: str) -> Iterator[str]:
    """Yield lines with backslash continuations joined."""
    pending = ""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        yield pending + stripped
        pending = ""


def help_examples() -> list[str]:
    found = []
    for command in _commands(main, ("chaosaws-serverless",)):
        blocks = (command.help or "").split("\b")[1:]  # click's no-rewrap marker (a backspace)
        for block in blocks:
            paragraph = block.strip().split("\n\n")[0]
            for line in _logical_lines(paragraph):
                if line.startswith(("chaosaws-serverless ", "chaos ")):
                    found.append(line)
    return found


def readme_examples() -> list[str]:
    found = []
    for readme in READMES:
        for block in re.findall(r"```bash\n(.*?)```", readme.read_text(encoding="utf-8"), re.S):
            for line in _logical_lines(block):
                line = line.removeprefix(".venv/bin/")
                if line.startswith(("chaosaws-serverless ", "chaos ")):
                    found.append(line)
    return found


EXAMPLES = sorted(set(help_examples()) | set(readme_examples()))


def _argv(example: str) -> list[str]:
    words = shlex.split(example, comments=True)
    if ">" in words:  # a shell redirection: the command's output goes to stdout here
        words = words[: words.index(">")]
    # "[--misconfigured]": an optional part, shown as written in usage lines.
    words = [w[1:-1] if w.startswith("[") and w.endswith("]") else w for w in words]
    return [FILL_INS.get(w, w) for w in words]


def _resolve(group: click.Group, argv: list[str]) -> tuple[click.Command, list[str]]:
    """Return the command ``argv`` names (subcommands followed) and its own arguments."""
    command: click.Command = group
    rest = argv
    while isinstance(command, click.Group):
        options = [w for w in rest if w.startswith("-")]
        assert not [o for o in options if rest.index(o) < 1 and o != "--no-version-check"], rest
        rest = [w for w in rest if w != "--no-version-check"]
        name, rest = rest[0], rest[1:]
        assert name in command.commands, f"no command {name!r} in {command.name}"
        command = command.commands[name]
    return command, rest


def test_examples_are_found() -> None:
    # The collection itself works: a README reorganisation must not silently drop them all.
    assert sum(e.startswith("chaosaws-serverless compose") for e in help_examples()) >= 1
    assert any(e.startswith("chaosaws-serverless experiments copy") for e in help_examples())
    assert any(e.startswith("chaos run") for e in readme_examples())
    assert any(e.startswith("chaosaws-serverless fis-template") for e in readme_examples())
    assert any(e.startswith("chaosaws-serverless values-template") for e in readme_examples())


@pytest.mark.parametrize("example", EXAMPLES)
def test_example_works_as_written(
    example: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    copied = runner.invoke(main, ["experiments", "copy", "experiments"])
    assert copied.exit_code == 0, copied.output
    layers = {
        region: f"arn:aws:lambda:{region}:{ACCOUNT}:layer:chaos-lambda-extension:12"
        for region in ("us-east-1", "eu-west-1")
    }
    # A user's values file: every account-specific key the shipped experiments require.
    example_values = Path(__file__).with_name("example-values.json").read_text(encoding="utf-8")
    configuration = {**json.loads(example_values)["configuration"], "chaos_layer_arns": layers}
    # As chaos run reads a var file: the values under "configuration" (chaoslib's merge_vars).
    values = {"configuration": configuration}
    Path("my-values.json").write_text(json.dumps(values), encoding="utf-8")
    argv = _argv(example)
    group = main if argv[0] == "chaosaws-serverless" else chaos_cli
    command, arguments = _resolve(group, argv[1:])
    subcommand = argv[1] if argv[0] == "chaosaws-serverless" else _resolve_name(argv[1:])
    if (argv[0], subcommand) in RUN:
        words = argv[1:] if argv[0] == "chaosaws-serverless" else ["--no-log-file", *argv[1:]]
        result = runner.invoke(group, words)
        assert result.exit_code == 0, f"{example}\n{result.output}"
        return
    known = {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}
    for word in arguments:
        if word.startswith("-"):
            assert word.split("=", 1)[0] in known, f"{example}: {word} is no option of {argv[:2]}"


def _resolve_name(words: list[str]) -> str:
    return next(w for w in words if not w.startswith("-"))
