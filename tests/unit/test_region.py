import pytest
from chaoslib.exceptions import ActivityFailed

from chaosaws_serverless.aws import configured_regions, resolve_region


def test_activity_region_wins_over_configuration() -> None:
    assert resolve_region("eu-west-1", {"aws_region": "us-east-1"}) == "eu-west-1"
    assert resolve_region(None, {"aws_region": "us-east-1"}) == "us-east-1"


def test_no_region_anywhere_is_one_clear_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    with pytest.raises(ActivityFailed, match="no AWS region given: pass the activity's 'region'"):
        resolve_region(None, {})


def test_malformed_region_is_named() -> None:
    with pytest.raises(ActivityFailed, match="'us-east' is not an AWS region name"):
        resolve_region("us-east", None)


def test_configured_regions_sources() -> None:
    assert configured_regions({"aws_regions": "us-east-1, eu-west-1"}) == ["us-east-1", "eu-west-1"]
    layers = {"eu-west-1": "arn:a", "us-east-1": "arn:b"}
    assert configured_regions({"chaos_layer_arns": layers}) == ["eu-west-1", "us-east-1"]
    assert configured_regions({"aws_region": "eu-west-1"}) == ["eu-west-1"]
