"""register_automation_document against the moto server: create, no-op, update to a new default."""

from typing import Any, Callable

import pytest
import yaml
from chaoslib.exceptions import ActivityFailed

from chaosaws_serverless.ssm import actions, document

NAME = "chaosaws-serverless-chaos-layer"


def test_create_then_unchanged_then_update(
    configuration: dict[str, Any],
    aws: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Any,
) -> None:
    first = actions.register_automation_document(NAME, configuration=configuration)
    assert first == {"name": NAME, "region": "us-east-1", "document_version": "1", "changed": True}
    ssm = aws("ssm")
    described = ssm.describe_document(Name=NAME)["Document"]
    assert described["DocumentType"] == "Automation"
    assert described["SchemaVersion"] == "0.3"
    assert {p["Name"] for p in described["Parameters"]} >= {"FunctionName", "ChaosMode"}
    stored = ssm.get_document(Name=NAME)["Content"]
    assert yaml.safe_load(stored) == yaml.safe_load(document.document_path().read_text())

    again = actions.register_automation_document(NAME, configuration=configuration)
    assert again == {**first, "changed": False}

    changed = tmp_path / document.DOCUMENT_FILE
    changed.write_text(
        document.document_path().read_text().replace("Attach or detach", "Attach/detach")
    )
    monkeypatch.setattr(actions, "document_path", lambda: changed)
    updated = actions.register_automation_document(NAME, configuration=configuration)
    assert updated["document_version"] == "2" and updated["changed"]
    assert ssm.describe_document(Name=NAME)["Document"]["DefaultVersion"] == "2"
    assert "Attach/detach" in ssm.get_document(Name=NAME)["Content"]


def test_document_is_regional(configuration: dict[str, Any], aws: Callable[..., Any]) -> None:
    actions.register_automation_document(NAME, "eu-west-1", configuration=configuration)
    assert aws("ssm", "eu-west-1").describe_document(Name=NAME)["Document"]["Name"] == NAME
    with pytest.raises(Exception, match="InvalidDocument"):
        aws("ssm").describe_document(Name=NAME)


@pytest.mark.parametrize("name", ["ab", "aws-chaos", "has space"])
def test_bad_names_fail_before_any_call(configuration: dict[str, Any], name: str) -> None:
    with pytest.raises(ActivityFailed, match=repr(name)):
        actions.register_automation_document(name, configuration=configuration)
