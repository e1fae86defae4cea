"""`values-template`: a var file chaos run reads, with every key an experiment needs, described.

The judge of "a var file chaos run accepts" is chaoslib's own ``merge_vars`` and
``load_configuration``; the keys an experiment needs are read from its JSON here.
"""

import json
import re
from pathlib import Path

import pytest
from chaoslib import merge_vars
from chaoslib.configuration import load_configuration
from click.testing import CliRunner

from chaosaws_serverless.cli import main

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted((ROOT / "experiments").glob("*.json"))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_the_template_names_every_key_of_the_experiment_with_a_description(
    path: Path, tmp_path: Path
) -> None:
    out = tmp_path / "values.yaml"
    result = CliRunner().invoke(main, ["values-template", str(path), "-o", str(out)])
    assert result.exit_code == 0, result.output
    experiment = json.loads(path.read_text(encoding="utf-8"))
    declared = experiment["configuration"]
    used = set(re.findall(r"\$\{(\w+)\}", json.dumps(experiment))) | set(declared)
    configuration, secrets = merge_vars(None, [str(out)])
    env_keys = {k for k, v in declared.items() if isinstance(v, dict) and v.get("type") == "env"}
    assert set(configuration) == used - env_keys  # env-read keys: written commented out
    assert secrets == {"aws": {}}  # credentials commented out: boto3's chain unless filled in
    text = out.read_text(encoding="utf-8")
    for key in used:
        lines = text.splitlines()
        at = next(i for i, line in enumerate(lines) if re.match(rf"\s*#?\s*{key}:", line))
        comment = lines[at - 1].strip()
        assert comment.startswith("#") and "(no description)" not in comment, (key, comment)
    for key in ("aws_access_key_id", "aws_secret_access_key", "aws_session_token"):
        assert f"# {key}:" in text
    # Every required key gets a value, so chaoslib's configuration has no placeholder left.
    loaded = load_configuration(dict(declared), configuration)
    assert not [k for k, v in loaded.items() if isinstance(v, dict) and "required" in v]
    assert text.count("# REQUIRED:") == sum(
        1 for v in declared.values() if isinstance(v, dict) and "required" in v
    )


def test_a_short_form_is_expanded_and_an_unknown_key_is_said_to_have_no_default(
    tmp_path: Path,
) -> None:
    short = ROOT / "experiments" / "short" / "region-failure.yaml"
    result = CliRunner().invoke(main, ["values-template", str(short)])
    assert result.exit_code == 0, result.output
    assert "REQUIRED: the Route 53 hosted zone id of record_name" in result.output
    own = tmp_path / "own.json"
    own.write_text(
        json.dumps(
            {
                "title": "t",
                "description": "d",
                "secrets": {"vault": {"token": "x"}},
                "method": [
                    {
                        "type": "probe",
                        "name": "p",
                        "provider": {
                            "type": "python",
                            "module": "m",
                            "func": "f",
                            "arguments": {"a": "${mystery}"},
                        },
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    result = CliRunner().invoke(main, ["values-template", str(own)])
    assert result.exit_code == 0, result.output
    assert "declared nowhere: no default" in result.output
    assert "scope 'vault'" in result.output
