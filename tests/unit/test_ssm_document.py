"""The shipped Automation document: parses, has the issue's parameters, embeds the script as is."""

import ast
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from chaosaws_serverless.ssm import document


def load() -> dict[str, Any]:
    return yaml.safe_load(document.document_path().read_text(encoding="utf-8"))


def test_document_declares_the_parameters_and_the_role() -> None:
    content = load()
    assert content["schemaVersion"] == "0.3"
    assert content["assumeRole"] == "{{ AutomationAssumeRole }}"
    parameters = content["parameters"]
    assert set(parameters) == {
        "FunctionName",
        "LayerArn",
        "AutomationAssumeRole",
        "ChaosMode",
        "AliasName",
        "LatencyMs",
        "Probability",
    }
    assert parameters["ChaosMode"]["default"] == "ENABLED"
    assert parameters["ChaosMode"]["allowedValues"] == ["ENABLED", "DISABLED"]
    assert parameters["AliasName"]["default"] == ""
    assert all(p["type"] == "String" for p in parameters.values())


def test_steps_run_python_311_and_roll_back_on_failure_or_cancel() -> None:
    apply, rollback = load()["mainSteps"]
    assert apply["action"] == rollback["action"] == "aws:executeScript"
    assert apply["inputs"]["Runtime"] == rollback["inputs"]["Runtime"] == "python3.11"
    assert apply["onFailure"] == apply["onCancel"] == "step:Rollback"
    assert apply["inputs"]["InputPayload"]["ChaosMode"] == "{{ ChaosMode }}"
    assert rollback["inputs"]["InputPayload"]["ChaosMode"] == "DISABLED"
    assert rollback["inputs"]["InputPayload"]["AfterFailure"] == "true"
    # Every document parameter the script needs reaches it.
    for name in ("FunctionName", "LayerArn", "AliasName", "LatencyMs", "Probability"):
        assert apply["inputs"]["InputPayload"][name] == f"{{{{ {name} }}}}"


def test_the_document_embeds_the_script_file_as_it_is() -> None:
    text = document.document_path().read_text(encoding="utf-8")
    script = document.compact_script(document.script_path().read_text(encoding="utf-8"))
    scripts = document.embedded_scripts(text)
    assert len(scripts) == 2
    # Fails when ssm/chaos_layer_automation.py changed without
    # `python -m chaosaws_serverless.ssm.document`.
    assert scripts == [script, script]
    assert document.embed_script(text, script) == text


def test_the_document_fits_ssm_s_size_limit() -> None:
    size = len(document.document_path().read_bytes())
    assert size <= document.MAX_DOCUMENT_BYTES, f"{size} bytes: shorten the script"


def test_the_compact_form_is_the_same_code() -> None:
    source = document.script_path().read_text(encoding="utf-8")
    compact = document.compact_script(source)
    assert '"""' not in compact.split("\n", 1)[0]
    assert ast.dump(ast.parse(compact)) == ast.dump(ast.parse(document.compact_script(compact)))
    names = {n.name for n in ast.parse(source).body if isinstance(n, ast.FunctionDef)}
    assert names == {n.name for n in ast.parse(compact).body if isinstance(n, ast.FunctionDef)}


def test_embedding_replaces_only_the_script_blocks() -> None:
    text = "a:\n  Script: |\n    old\n\n    older\n  after: 1\n"
    assert document.embed_script(text, "new\n\nline\n") == (
        "a:\n  Script: |\n    new\n\n    line\n  after: 1\n"
    )


def test_the_script_shares_the_package_s_constants() -> None:
    # The script cannot import the package (it runs in aws:executeScript): its copies
    # of the contract, record and Lambda limits must stay equal to the package's.
    from chaosaws_serverless.awslambda import _faults, _merge, _record, _update, contracts

    namespace: dict = {}
    exec(compile(document.script_path().read_text(encoding="utf-8"), "script", "exec"), namespace)
    contract = contracts.CHAOS_LAMBDA_EXTENSION
    pairs = {
        "CONTRACT_NAME": contract.name,
        "WRAPPER": contract.wrapper,
        "EXEC_WRAPPER": contracts.EXEC_WRAPPER,
        "ENABLE_LATENCY": contract.enable_latency,
        "LATENCY_VALUE": contract.latency_value,
        "LATENCY_PROBABILITY": contract.latency_probability,
        "MAX_LATENCY_MS": contracts.MAX_LATENCY_MS,
        "FORMAT_VERSION": _record.FORMAT_VERSION,
        "RECORD_TAG_PREFIX": _record.RECORD_TAG_PREFIX,
        "MAX_TAG_VALUE": _record.MAX_TAG_VALUE,
        "MAX_FUNCTION_TAGS": _record.MAX_FUNCTION_TAGS,
        "MAX_RECORD_TAGS": _record.MAX_RECORD_TAGS,
        "MAX_DIGESTS": _record.MAX_DIGESTS,
        "MAX_LAYERS": _merge.MAX_LAYERS,
        "MAX_ENVIRONMENT_BYTES": _merge.MAX_ENVIRONMENT_BYTES,
        "RETRIED": _update.RETRIED,
        "REVISION_CONFLICT": _update.REVISION_CONFLICT,
        "MAX_ATTEMPTS": _update.MAX_ATTEMPTS,
        "WAIT_TIMEOUT_SECONDS": _update.WAIT_TIMEOUT_SECONDS,
        "SAME_BEHAVIOUR": _faults._SAME_BEHAVIOUR,
        "LATEST": _faults.LATEST,
    }
    for name, expected in pairs.items():
        assert namespace[name] == expected, name
    assert namespace["LAYER_ARN"].pattern == _faults.LAYER_ARN.pattern
    assert namespace["ALIAS_NAME"].pattern == _faults.ALIAS_NAME.pattern
    assert namespace["latency_environment"](1500, 0.5) == contract.latency_environment(1500, 0.5)


def test_the_document_is_only_rewritten_by_the_python_of_its_steps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Python 3.12+ unparses f-strings with nested quotes, a SyntaxError for the 3.11
    # runtime SSM runs the steps on: another interpreter must not rewrite the document.
    copy = tmp_path / document.DOCUMENT_FILE
    text = document.document_path().read_text(encoding="utf-8")
    other = "python3.10" if sys.version_info[:2] != (3, 10) else "python3.9"
    copy.write_text(text.replace("Runtime: python3.11", f"Runtime: {other}"), encoding="utf-8")
    before = copy.read_bytes()
    monkeypatch.setattr(document, "document_path", lambda: copy)
    assert document.main([]) == 1
    assert copy.read_bytes() == before
