"""The commands' errors name what the user typed, their help says what each option does."""

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from chaosaws_serverless.cli import main
from chaosaws_serverless.doctor.runner import Check, table


def _run(*words: str) -> str:
    result = CliRunner().invoke(main, list(words))
    assert result.exit_code != 0
    return result.output


def test_a_bad_rate_names_the_option_not_the_argument() -> None:
    out = _run("load", "--url", "http://127.0.0.1:9", "--rate", "-1", "--duration", "1")
    assert "--rate must be" in out and "rate_per_second" not in out
    out = _run(
        "load", "--url", "http://127.0.0.1:9", "--rate", "1", "--duration", "1", "--timeout", "0"
    )
    assert "--timeout must be" in out and "timeout_seconds" not in out


@pytest.mark.parametrize(
    "command", [["rollback"], ["doctor"], ["load", "--url", "u", "--rate", "1", "--duration", "1"]]
)
def test_a_bad_region_names_the_option(command: list[str]) -> None:
    out = _run(*command, "--region", "mars-north-1x")
    assert "Invalid value for '--region'" in out
    assert "argument" not in out


def test_an_unknown_profile_names_the_option_not_the_configuration_key() -> None:
    out = _run("rollback", "--region", "us-east-1", "--profile", "no-such-profile")
    assert "Invalid value for '--profile'" in out and "aws_profile_name" not in out


def test_rollback_without_any_region_says_which_options_give_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    out = _run("rollback")
    assert "pass --region" in out and "'region' argument" not in out


def test_every_option_of_load_has_help() -> None:
    from chaosaws_serverless.loadgen.cli import load

    missing = [p.opts[0] for p in load.params if not getattr(p, "help", None)]
    assert missing == []


def test_the_doctor_table_wraps_its_details_within_the_width() -> None:
    long = "a finding " * 40
    checks = [
        Check("route53 failover", "example.mydomain.com", "fail", long.strip()),
        Check("credentials", "sts", "pass", "arn:aws:iam::123456789012:user/me"),
    ]
    text = table(checks, width=100)
    assert max(len(line) for line in text.splitlines()) <= 100
    assert re.sub(r"\s+", " ", text).count("a finding") == 40


def test_the_copied_readme_points_only_at_files_that_were_copied(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["experiments", "copy", str(tmp_path / "x")])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "x" / "README.md").read_text(encoding="utf-8")
    assert "../" not in text
    for target in re.findall(r"\]\(([^)#\s]+)\)", text):
        assert "://" in target or (tmp_path / "x" / target).exists(), target
