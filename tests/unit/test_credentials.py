"""Credentials the Chaos Toolkit way: the ``aws`` secrets scope, and errors that name the chain.

The judges here are chaoslib's own code (``load_secrets``, ``run_python_activity``)
and the shipped JSON read as data, not the package's modules.
"""

import inspect
import json
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from chaoslib.provider.python import run_python_activity
from chaoslib.secret import load_secrets

from chaosaws_serverless.aws import clear_client_cache, client, credentials_of
from chaosaws_serverless.errors import CredentialsError, activity_failed

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted((ROOT / "experiments").glob("*.json"))
# Activities that call no AWS API take no credentials.
NO_AWS = ("chaosaws_serverless.cloudwatch.tolerances", "chaosaws_serverless.controls")
KEY_ID, SECRET = "AKIAVARFILEEXAMPLE01", "var-file-secret-value-0123456789"


def _providers(node: Any) -> list[dict[str, Any]]:
    found = []
    if isinstance(node, dict):
        if node.get("type") == "python" and "module" in node and "func" in node:
            found.append(node)
        for value in node.values():
            found.extend(_providers(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(_providers(value))
    return found


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_shipped_activity_names_the_aws_scope_the_experiment_declares(path: Path) -> None:
    import importlib

    experiment = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(experiment["secrets"]["aws"], dict), "the experiment declares no aws scope"
    checked = 0
    for provider in _providers({k: v for k, v in experiment.items() if k != "controls"}):
        if provider["module"].startswith(NO_AWS):
            continue
        func = getattr(importlib.import_module(provider["module"]), provider["func"])
        assert "secrets" in inspect.signature(func).parameters, provider["func"]
        assert provider.get("secrets") == ["aws"], f"{path.name}: {provider['func']}"
        checked += 1
    assert checked > 0


def test_chaoslib_gives_a_var_files_aws_scope_to_a_provider_naming_it() -> None:
    """chaoslib's rule, end to end in its own code: declared scope + var file + provider scope."""
    declared = {"aws": {}}
    loaded = load_secrets(declared, {}, {"aws": {"aws_access_key_id": KEY_ID}})
    received: dict[str, Any] = {}
    activity = {
        "type": "probe",
        "name": "p",
        "provider": {
            "type": "python",
            "module": __name__,
            "func": "_record_secrets",
            "secrets": ["aws"],
            "arguments": {"into": received},
        },
    }
    run_python_activity(activity, {}, loaded)
    assert credentials_of(received["secrets"]) == {"aws_access_key_id": KEY_ID}
    # Flat keys at the var file's top level reach nothing: chaoslib keeps declared scopes only.
    assert load_secrets(declared, {}, {"aws_access_key_id": KEY_ID}) == {"aws": {}}
    # Without the provider naming the scope, the function gets no secrets at all.
    del activity["provider"]["secrets"]
    received.clear()
    run_python_activity(activity, {}, loaded)
    assert received["secrets"] is None


def _record_secrets(into: dict[str, Any], secrets: Any = None) -> None:
    into["secrets"] = secrets


def test_both_shapes_of_secrets_give_the_same_credentials() -> None:
    scope = {"aws_access_key_id": KEY_ID, "aws_secret_access_key": SECRET, "other": "x"}
    flat = credentials_of(scope)
    assert flat == {"aws_access_key_id": KEY_ID, "aws_secret_access_key": SECRET}
    assert credentials_of({"aws": scope, "vault": {"aws_access_key_id": "no"}}) == flat
    assert credentials_of(None) == {} == credentials_of({"aws": {}})


@pytest.fixture
def no_credentials_anywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance role lookup
    for name in ("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI"):
        monkeypatch.delenv(name, raising=False)
    clear_client_cache()


def test_no_credentials_names_every_place_looked_in(no_credentials_anywhere: None) -> None:
    with pytest.raises(CredentialsError) as caught:
        client("lambda", "us-east-1", {"aws_endpoint_url": "http://127.0.0.1:9"}, {"aws": {}})
    text = str(caught.value)
    for place in ("secrets scope 'aws'", "environment", "shared credentials file", "config file"):
        assert place in text
    assert '{"secrets": {"aws": {...}}}' in text


def test_half_static_credentials_are_refused_naming_the_missing_key(
    no_credentials_anywhere: None,
) -> None:
    with pytest.raises(CredentialsError, match="no 'aws_secret_access_key'") as caught:
        client("lambda", "us-east-1", {}, {"aws_access_key_id": KEY_ID})
    assert KEY_ID not in str(caught.value)


def test_rejected_credentials_name_their_source_never_their_value() -> None:
    error = ClientError(
        {
            "Error": {"Code": "UnrecognizedClientException", "Message": f"bad token {SECRET}"},
            "CredentialSource": "the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)",
        },
        "GetFunction",
    )
    failed = activity_failed(error, "lambda:GetFunction", "function 'f' in us-east-1")
    assert isinstance(failed, CredentialsError)
    text = str(failed)
    assert "AWS rejected the credentials (UnrecognizedClientException)" in text
    assert "came from the environment" in text
    assert SECRET not in text


def test_the_preflight_does_not_blame_a_value_for_missing_credentials(
    no_credentials_anywhere: None,
) -> None:
    from chaosaws_serverless.controls.preflight import check_existence

    declared = {
        "us_hello_function": {"required": "lambda-function", "description": "the function"},
        "eu_health_check_id": {"required": "route53-health-check", "description": "a check"},
    }
    values = {"us_hello_function": "f", "eu_health_check_id": "abc", "aws_region": "us-east-1"}
    problems = check_existence(declared, values, {"aws": {}})
    assert len(problems) == 1, problems
    assert "is wrong" not in problems[0]
    assert "no AWS credentials found" in problems[0]
