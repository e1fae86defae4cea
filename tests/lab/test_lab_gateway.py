"""The regional gateway honours the chaos extension's contract exactly, and the timeouts."""

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest
from botocore.exceptions import ClientError

from chaosaws_serverless.awslambda.engine.contracts import CHAOS_LAMBDA_EXTENSION as CONTRACT
from chaosaws_serverless.awslambda.engine.contracts import EXEC_WRAPPER
from chaosaws_serverless.lab.gateway import RegionalGateway

LAYER = "arn:aws:lambda:us-east-1:123456789012:layer:chaos-lambda-extension:1"
OTHER_LAYER = "arn:aws:lambda:us-east-1:123456789012:layer:powertools:3"
HOST = "example.us.mydomain.com"


def function(
    env: dict[str, str] | None = None, layers: tuple[str, ...] = (LAYER,), timeout: int = 3
) -> dict[str, Any]:
    return {
        "FunctionName": "hello-us-east-1",
        "FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:hello-us-east-1",
        "Handler": "functions.hello",
        "Timeout": timeout,
        "MemorySize": 128,
        "Layers": [{"Arn": arn} for arn in layers],
        "Environment": {"Variables": {"KEEP": "me", **(env or {})}},
    }


def call(
    config: dict[str, Any],
    *,
    path: str = "/api/hello",
    host: str = HOST,
    integration_timeout_seconds: float = 2.0,
    random_source: Callable[[], float] = lambda: 0.5,
) -> tuple[int, str, float]:
    """Serve ``config`` behind a gateway on 127.0.0.1; return (status, body, seconds)."""

    async def configs(region: str, name: str) -> dict[str, Any]:
        assert (region, name) == ("us-east-1", "hello-us-east-1")
        return config

    async def main() -> tuple[int, str, float]:
        gateway = RegionalGateway(
            "us-east-1",
            routes={"/api/hello": "hello-us-east-1"},
            hosts={HOST},
            configs=configs,
            layer_name="chaos-lambda-extension",
            integration_timeout_seconds=integration_timeout_seconds,
            random_source=random_source,
        )
        port = await gateway.start("127.0.0.1")
        try:
            started = time.monotonic()
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"http://127.0.0.1:{port}{path}", headers={"Host": host}) as response,
            ):
                body = await response.text()
                return response.status, body, time.monotonic() - started
        finally:
            await gateway.stop()

    return asyncio.run(main())


def test_plain_function_answers_with_its_region() -> None:
    status, body, _ = call(function(layers=()))
    assert status == 200
    assert json.loads(body) == {"message": "Hello from region us-east-1"}


def test_latency_longer_than_integration_timeout_answers_504_at_the_timeout() -> None:
    env = CONTRACT.latency_environment(latency_ms=5000, probability=1.0)
    status, body, seconds = call(function(env), integration_timeout_seconds=0.5)
    assert status == 504
    assert "timed out" in body
    assert 0.45 <= seconds < 2.0


def test_latency_shorter_than_timeouts_delays_a_good_answer() -> None:
    env = CONTRACT.latency_environment(latency_ms=1000, probability=1.0)
    status, _, seconds = call(function(env), integration_timeout_seconds=3)
    assert status == 200
    assert seconds >= 0.95


def test_function_timeout_shorter_than_integration_timeout_answers_502() -> None:
    env = CONTRACT.latency_environment(latency_ms=3000, probability=1.0)
    status, _, seconds = call(function(env, timeout=1), integration_timeout_seconds=29)
    assert status == 502
    assert 0.95 <= seconds < 2.5


@pytest.mark.parametrize(("draw", "delayed"), [(0.29, True), (0.31, False)])
def test_latency_probability_is_honoured(draw: float, delayed: bool) -> None:
    env = CONTRACT.latency_environment(latency_ms=5000, probability=0.3)
    status, _, _ = call(function(env), integration_timeout_seconds=0.3, random_source=lambda: draw)
    assert status == (504 if delayed else 200)


def test_latency_disabled_flag_means_no_delay() -> None:
    env = CONTRACT.latency_environment(latency_ms=5000, probability=1.0)
    env[CONTRACT.enable_latency] = "false"
    status, _, _ = call(function(env), integration_timeout_seconds=0.3)
    assert status == 200


def test_unparsable_latency_value_sleeps_the_extension_default() -> None:
    env = CONTRACT.latency_environment(latency_ms=5000, probability=1.0)
    env[CONTRACT.latency_value] = "5.5"  # the extension's parser wants an integer
    gateway = RegionalGateway(
        "us-east-1",
        {},
        set(),
        configs=None,  # type: ignore[arg-type]
        layer_name="chaos-lambda-extension",
        integration_timeout_seconds=2,
    )
    fault = gateway.fault(function(env))
    assert fault is not None and fault.latency_seconds == 900


def test_response_change_answers_the_configured_response() -> None:
    env = CONTRACT.error_environment(status_code=503, body="down for chaos", probability=1.0)
    status, body, _ = call(function(env))
    assert (status, body) == (503, "down for chaos")


@pytest.mark.parametrize(("draw", "changed"), [(0.19, True), (0.21, False)])
def test_response_probability_is_honoured(draw: float, changed: bool) -> None:
    env = CONTRACT.error_environment(status_code=500, body=None, probability=0.2)
    status, _, _ = call(function(env), random_source=lambda: draw)
    assert status == (500 if changed else 200)


def test_fault_variables_without_the_layer_attached_do_nothing_but_fail_the_wrapper() -> None:
    env = CONTRACT.latency_environment(latency_ms=5000, probability=1.0)
    # The wrapper script lives in the layer: Lambda cannot start the runtime.
    status, _, seconds = call(function(env, layers=(OTHER_LAYER,)))
    assert status == 502
    assert seconds < 1.0


def test_layer_attached_without_the_wrapper_injects_nothing() -> None:
    env = CONTRACT.latency_environment(latency_ms=5000, probability=1.0)
    del env[EXEC_WRAPPER]
    status, _, _ = call(function(env, layers=(OTHER_LAYER, LAYER)), integration_timeout_seconds=0.3)
    assert status == 200


def test_a_different_wrapper_is_not_the_chaos_extension() -> None:
    env = CONTRACT.latency_environment(latency_ms=5000, probability=1.0)
    env[EXEC_WRAPPER] = "/opt/otel-instrument"
    status, _, _ = call(function(env), integration_timeout_seconds=0.3)
    assert status == 200


def test_unknown_path_and_unknown_host_answer_like_api_gateway() -> None:
    status, body, _ = call(function(), path="/api/nope")
    assert (status, json.loads(body)["message"]) == (403, "Missing Authentication Token")
    status, body, _ = call(function(), host="example.eu.mydomain.com")
    assert (status, json.loads(body)["message"]) == (403, "Forbidden")


def test_another_wrapper_without_the_chaos_layer_runs_normally() -> None:
    status, _, _ = call(function({EXEC_WRAPPER: "/opt/otel-instrument"}, layers=(OTHER_LAYER,)))
    assert status == 200


# --- judged by the transcription of upstream routes.rs v0.1.6 (lab/extension.py) -------

CALLS: list[str] = []


def counted(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """A handler with a side effect, to see whether it ran."""
    CALLS.append(context.aws_request_id)
    return {"statusCode": 200, "body": "ran"}


@pytest.fixture
def counted_handler(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    from chaosaws_serverless.lab import gateway

    monkeypatch.setitem(gateway.HANDLER_MODULES, "probe", __name__)
    CALLS.clear()
    return CALLS


def published_error_env(**extra: str) -> dict[str, str]:
    return {
        EXEC_WRAPPER: "/opt/bootstrap",
        "CHAOS_EXTENSION__RESPONSE__ENABLE_CHANGE_REPONSE_BODY": "true",
        "CHAOS_EXTENSION__RESPONSE__CHANGE_RESPONSE_PROBABILITY": "1",
        **extra,
    }


def test_the_handler_still_runs_under_an_error_fault(counted_handler: list[str]) -> None:
    config = function(
        published_error_env(
            CHAOS_EXTENSION__RESPONSE__DEFAULT_RESPONSE='{"statusCode":503,"body":"x"}'
        )
    )
    config["Handler"] = "probe.counted"
    status, body, _ = call(config)
    assert (status, body) == (503, "x")
    assert len(counted_handler) == 1  # its side effects happened


def test_only_mains_spelling_is_not_seen_by_the_published_build() -> None:
    env = {
        EXEC_WRAPPER: "/opt/bootstrap",
        "CHAOS_EXTENSION__RESPONSE__ENABLE_CHANGE_RESPONSE_BODY": "true",
        "CHAOS_EXTENSION__RESPONSE__CHANGE_RESPONSE_PROBABILITY": "1",
    }
    status, _, _ = call(function(env))
    assert status == 200


def test_without_a_response_the_upstream_default_answers() -> None:
    status, body, _ = call(function(published_error_env()))
    assert (status, body) == (500, "hello, Chaos!!!")


def test_a_response_that_is_not_a_proxy_response_is_a_502() -> None:
    env = published_error_env(CHAOS_EXTENSION__RESPONSE__DEFAULT_RESPONSE="down for chaos")
    status, _, _ = call(function(env))
    assert status == 502  # the raw text reaches API Gateway, which cannot parse it


def test_latency_is_slept_before_the_handler_runs(counted_handler: list[str]) -> None:
    env = {
        EXEC_WRAPPER: "/opt/bootstrap",
        "CHAOS_EXTENSION__LAMBDA__ENABLE_LATENCY": "true",
        "CHAOS_EXTENSION__LAMBDA__LATENCY_VALUE": "5",
        "CHAOS_EXTENSION__LAMBDA__LATENCY_PROBABILITY": "1",
    }
    config = function(env)
    config["Handler"] = "probe.counted"
    status, _, _ = call(config, integration_timeout_seconds=0.3)
    assert status == 504
    assert counted_handler == []  # timed out while sleeping: the handler never started


def test_the_package_error_fault_reaches_customers_through_the_published_build() -> None:
    from chaosaws_serverless.awslambda.faults import error_fault

    fault = error_fault(503, "down for chaos", 1.0)
    status, body, _ = call(function(fault.environment))
    assert (status, body) == (503, "down for chaos")


def test_a_throttled_function_answers_500_internal_server_error() -> None:
    # Lambda DG, "Handling Lambda errors with an API Gateway API": an invocation the Lambda
    # API rejects (429 at reserved concurrency 0) is a 500 {"message": "Internal server error"}.
    status, body, _ = call({**function(layers=()), "ReservedConcurrentExecutions": 0})
    assert (status, json.loads(body)) == (500, {"message": "Internal server error"})
    status, _, _ = call({**function(layers=()), "ReservedConcurrentExecutions": 1})
    assert status == 200
    status, _, _ = call({**function(layers=()), "ReservedConcurrentExecutions": None})
    assert status == 200


def test_configurations_are_read_once_per_ttl_however_many_requests_wait(world: Any) -> None:
    from chaosaws_serverless import aws
    from chaosaws_serverless.lab.gateway import FunctionConfigs

    world.function("hello-us-east-1")
    sent: list[str] = []
    lambda_client = aws.client("lambda", "us-east-1", world.configuration, {})
    lambda_client.meta.events.register(
        "before-send.lambda.GetFunction", lambda request, **_: sent.append(request.url)
    )
    configs = FunctionConfigs(world.configuration, {}, ttl_seconds=0.5)

    async def main() -> None:
        answers = await asyncio.gather(
            *(configs("us-east-1", "hello-us-east-1") for _ in range(40))
        )
        assert {a["FunctionName"] for a in answers} == {"hello-us-east-1"}
        assert len(sent) == 1, "40 waiting requests, one GetFunction"
        await configs("us-east-1", "hello-us-east-1")
        assert len(sent) == 1, "within the TTL: the cached configuration"
        await asyncio.sleep(0.6)
        await configs("us-east-1", "hello-us-east-1")
        assert len(sent) == 2, "after the TTL: read again"
        for _ in range(2):  # a failed read is not kept: each request asks again
            with pytest.raises(ClientError, match="ResourceNotFoundException"):
                await configs("us-east-1", "gone-us-east-1")
        assert len(sent) == 4

    asyncio.run(main())
