"""The fault record is read the way it works on AWS under least privilege, not the way moto allows.

Since 2024 Lambda's GetFunction returns ``Tags`` only when the caller may call
``lambda:ListTags``; otherwise the key is simply absent (AWS Lambda API
reference, GetFunction: "Tags ... Only returned if you have permission to
call ListTags"). moto always returns it, so a proxy between boto3 and the
moto server reproduces AWS: it strips ``Tags`` from every GetFunction answer
and, when asked, denies ListTags with Lambda's ``AccessDeniedException``.
The judge is the function as read straight from moto.
"""

import json
import re
import uuid
from typing import Any

import pytest
from chaoslib.exceptions import ActivityFailed

from chaosaws_serverless.awslambda import actions, probes
from tests.support.faultproxy import FaultProxy, Request
from tests.support.lambdas import code_zip

US = "us-east-1"
_GET_FUNCTION = re.compile(r"^/2015-03-31/functions/[^/?]+/?(\?.*)?$")
_LIST_TAGS = re.compile(r"^/2017-03-31/tags/")


class AwsTagVisibility(FaultProxy):
    """GetFunction without ``Tags`` (as for a caller without lambda:ListTags); ListTags deniable."""

    def __init__(self, upstream_url: str) -> None:
        super().__init__(upstream_url, fault_rate=0.0)
        self.deny_list_tags = False
        self.list_tags_calls = 0

    def forward(self, request: Request) -> tuple[int, list[tuple[str, str]], bytes]:
        if request.method == "GET" and _LIST_TAGS.match(request.path):
            self.list_tags_calls += 1
            if self.deny_list_tags:
                body = {
                    "Message": "User: arn:aws:iam::123456789012:user/chaos is not authorized to "
                    "perform: lambda:ListTags on resource: function because no identity-based "
                    "policy allows the lambda:ListTags action",
                }
                headers = [
                    ("x-amzn-errortype", "AccessDeniedException"),
                    ("x-amzn-requestid", str(uuid.uuid4())),
                    ("Content-Type", "application/json"),
                ]
                return 403, headers, json.dumps(body).encode()
        status, headers, payload = super().forward(request)
        if request.method == "GET" and _GET_FUNCTION.match(request.path) and status == 200:
            answer = json.loads(payload)
            answer.pop("Tags", None)
            payload = json.dumps(answer).encode()
        return status, headers, payload


@pytest.fixture
def tagless(configuration: dict[str, Any]) -> Any:
    with AwsTagVisibility(configuration["aws_endpoint_url"]) as proxy:
        yield proxy


def _arrange(aws: Any, configuration: dict[str, Any]) -> str:
    lam = aws("lambda", US)
    role = aws("iam").create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    layer = lam.publish_layer_version(
        LayerName="chaos-lambda-extension", Content={"ZipFile": code_zip()}
    )["LayerVersionArn"]
    lam.create_function(
        FunctionName="api-hello",
        Runtime="python3.12",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": code_zip()},
        Environment={"Variables": {"TABLE": "orders"}},
        Tags={"team": "a"},
    )
    return layer


def test_rollback_reads_the_record_although_get_function_has_no_tags(
    aws: Any, configuration: dict[str, Any], tagless: AwsTagVisibility
) -> None:
    layer = _arrange(aws, configuration)
    hidden = {**configuration, "aws_endpoint_url": tagless.url}
    actions.inject_error("api-hello", layer_arn=layer, region=US, configuration=hidden)
    import boto3

    seen = boto3.client("lambda", region_name=US, endpoint_url=tagless.url)
    assert "Tags" not in seen.get_function(FunctionName="api-hello")  # as on AWS
    state = probes.get_fault_state("api-hello", region=US, configuration=hidden)
    assert state["injected"] is True and state["since"]
    removed = actions.remove_faults("api-hello", region=US, configuration=hidden)
    assert removed["removed"] is True
    direct = aws("lambda", US).get_function(FunctionName="api-hello")
    assert direct["Configuration"]["Environment"]["Variables"] == {"TABLE": "orders"}
    assert direct["Tags"] == {"team": "a"}
    assert tagless.list_tags_calls > 0


def test_list_tags_denied_fails_loudly_and_changes_nothing(
    aws: Any, configuration: dict[str, Any], tagless: AwsTagVisibility
) -> None:
    layer = _arrange(aws, configuration)
    actions.inject_latency(
        "api-hello", latency_ms=1000, layer_arn=layer, region=US, configuration=configuration
    )
    before = aws("lambda", US).get_function(FunctionName="api-hello")
    before.pop("ResponseMetadata")
    tagless.deny_list_tags = True
    hidden = {**configuration, "aws_endpoint_url": tagless.url}
    for activity in (
        lambda: actions.remove_faults("api-hello", region=US, configuration=hidden),
        lambda: probes.get_fault_state("api-hello", region=US, configuration=hidden),
        lambda: actions.inject_error("api-hello", layer_arn=layer, region=US, configuration=hidden),
    ):
        with pytest.raises(ActivityFailed, match="lambda:ListTags"):
            activity()
    after = aws("lambda", US).get_function(FunctionName="api-hello")
    after.pop("ResponseMetadata")
    assert after == before  # the fault is still on, and said so: never "not injected"
    assert actions.remove_faults("api-hello", region=US, configuration=configuration)["removed"]
