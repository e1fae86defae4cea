"""The package's Lambda name and ARN patterns judged by botocore's Lambda service model."""

import gzip
import json
import re
from pathlib import Path

import botocore
import pytest

from chaosaws_serverless.patterns import FUNCTION_ARN, FUNCTION_NAME, PLAIN_FUNCTION_NAME

_MODEL = Path(botocore.__file__).parent / "data" / "lambda" / "2015-03-31" / "service-2.json.gz"
SHAPES = json.loads(gzip.decompress(_MODEL.read_bytes()))["shapes"]
ARN = "arn:aws:lambda:us-east-1:123456789012:function:"
SAMPLES = [
    f"{ARN}api-hello",
    f"{ARN}api_hello:live",
    f"{ARN}api:7",
    f"{ARN}api:$LATEST",
    "arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:api",
    "arn:aws-cn:lambda:cn-north-1:123456789012:function:api",
    "arn:aws:lambda:us-east-1:12345:function:api",  # short account
    f"{ARN}caf\u00e9",  # not ASCII
    f"{ARN}a.b",
    f"{ARN}api:live:extra",
    f"{ARN}{'x' * 64}",
    "api-hello",
    "123456789012:function:api",
    "a" * 64,
    "a" * 65,
    "",
    "has space",
]


def _model(shape: str) -> re.Pattern[str]:
    return re.compile(SHAPES[shape]["pattern"])


@pytest.mark.parametrize("text", SAMPLES)
def test_function_arn_is_botocore_s_function_arn(text: str) -> None:
    expected = bool(_model("FunctionArn").fullmatch(text))
    # botocore's pattern leaves the name's 64-character limit to the documentation.
    expected = expected and len(text.split(":function:", 1)[1].split(":")[0]) <= 64
    assert bool(FUNCTION_ARN.match(text)) is expected


@pytest.mark.parametrize("text", SAMPLES)
def test_plain_function_name_is_the_name_form_of_botocore_s_function_name(text: str) -> None:
    # A name alone: no ARN part, no qualifier, at most 64 characters (the model's documentation).
    plain = ":" not in text and len(text) <= 64
    expected = bool(_model("FunctionName").fullmatch(text)) and plain
    assert bool(PLAIN_FUNCTION_NAME.match(text)) is expected


@pytest.mark.parametrize("text", SAMPLES)
def test_every_function_arn_is_a_function_name(text: str) -> None:
    if FUNCTION_ARN.match(text):
        assert FUNCTION_NAME.match(text)
