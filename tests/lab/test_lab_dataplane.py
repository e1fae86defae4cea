"""The data plane against the moto server: live configuration, health checkers, failover."""

import asyncio
import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

from chaosaws_serverless.awslambda.engine.contracts import CHAOS_LAMBDA_EXTENSION as CONTRACT
from chaosaws_serverless.lab.dataplane import DataPlane
from chaosaws_serverless.lab.deploy import Deployment, deploy
from chaosaws_serverless.lab.stack import Stack, load_stack

US, EU = "us-east-1", "eu-west-1"


def inject(aws: Callable[..., Any], deployment: Deployment, path: str, latency_ms: int) -> None:
    """Attach the chaos layer and set the latency variables, as the extension's users do."""
    lam = aws("lambda", US)
    name = deployment.functions[US][path]
    env = lam.get_function(FunctionName=name)["Configuration"]["Environment"]["Variables"]
    lam.update_function_configuration(
        FunctionName=name,
        Layers=[deployment.layer_arns[US]],
        Environment={"Variables": {**env, **CONTRACT.latency_environment(latency_ms, 1.0)}},
    )


def remove(aws: Callable[..., Any], deployment: Deployment, path: str) -> None:
    lam = aws("lambda", US)
    name = deployment.functions[US][path]
    env = lam.get_function(FunctionName=name)["Configuration"]["Environment"]["Variables"]
    kept = {k: v for k, v in env.items() if k not in CONTRACT.variables}
    lam.update_function_configuration(FunctionName=name, Layers=[], Environment={"Variables": kept})


async def wait_for(condition: Callable[[], bool], timeout_seconds: float) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout_seconds:
            raise AssertionError(f"condition not met within {timeout_seconds} s")
        await asyncio.sleep(0.05)
    return time.monotonic() - started


async def get(plane: DataPlane, client_region: str) -> tuple[int, str]:
    host, port = plane.address_of("example.mydomain.com", 443, client_region) or ("", 0)
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            f"https://{host}:{port}/api/hello",
            headers={"Host": "example.mydomain.com"},
            ssl=False,
        ) as response,
    ):
        return response.status, await response.text()


def run(stack: Stack, configuration: dict[str, Any], tmp_path: Path, scenario: Any) -> Any:
    deployment = deploy(stack, configuration["aws_endpoint_url"])

    async def main() -> Any:
        plane = DataPlane(stack, deployment, tmp_path, customers=False)
        await plane.start()
        try:
            return await scenario(plane, deployment)
        finally:
            await plane.stop()

    return asyncio.run(main())


def test_gateways_follow_the_functions_live_configuration(
    configuration: dict[str, Any], aws: Callable[..., Any], tmp_path: Path
) -> None:
    async def scenario(plane: DataPlane, deployment: Deployment) -> None:
        assert await get(plane, US) == (200, '{"message": "Hello from region us-east-1"}')
        inject(aws, deployment, "/api/hello", 5000)
        await asyncio.sleep(1.1)  # the gateways cache a configuration for 1 s
        started = time.monotonic()
        assert (await get(plane, US))[0] == 504
        timeout = plane.stack.integration_timeout_seconds  # answered at the gateway's timeout
        assert timeout - 0.1 <= time.monotonic() - started < timeout + 1.5
        assert (await get(plane, EU))[0] == 200
        remove(aws, deployment, "/api/hello")
        await asyncio.sleep(1.1)
        assert (await get(plane, US))[0] == 200

    run(load_stack(), configuration, tmp_path, scenario)


def test_health_check_flips_after_threshold_times_interval_and_us_fails_over(
    configuration: dict[str, Any], aws: Callable[..., Any], tmp_path: Path
) -> None:
    stack = load_stack()
    interval = stack.health_check.request_interval_seconds * stack.time_scale
    threshold = stack.health_check.failure_threshold
    timeout = stack.health_check.response_timeout_seconds

    async def scenario(plane: DataPlane, deployment: Deployment) -> dict[str, Any]:
        us_check = deployment.health_check_ids[US]
        await wait_for(lambda: plane.checkers.states[us_check].checks >= 2, 5)
        assert plane.checkers.is_healthy(us_check)
        inject(aws, deployment, "/api/health", 5000)
        await asyncio.sleep(1.0)  # past the gateways' 1 s configuration cache
        flipped = await wait_for(lambda: not plane.checkers.is_healthy(us_check), 15)
        state = plane.checkers.states[us_check]
        assert state.consecutive_failures == threshold
        # Failing requests go out every interval; the threshold-th one fails after the timeout.
        assert (threshold - 1) * interval + timeout - 0.3 <= flipped + 1.0
        assert flipped <= threshold * interval + timeout + 1.0
        assert plane.resolver.answer(stack.record_name, US).region == EU
        assert plane.resolver.answer(stack.record_name, EU).region == EU
        await asyncio.sleep(1.1)  # the record's 1 s TTL
        assert await get(plane, US) == (200, '{"message": "Hello from region eu-west-1"}')
        await asyncio.sleep(1.5)  # at least one publish of the unhealthy status
        remove(aws, deployment, "/api/health")
        await wait_for(lambda: plane.checkers.is_healthy(us_check), threshold * interval + 5)
        return deployment.health_check_ids

    ids = run(stack, configuration, tmp_path, scenario)
    cloudwatch = aws("cloudwatch", US)
    now = dt.datetime.now(dt.UTC)
    minimum = cloudwatch.get_metric_statistics(
        Namespace="AWS/Route53",
        MetricName="HealthCheckStatus",
        Dimensions=[{"Name": "HealthCheckId", "Value": ids[US]}],
        StartTime=now - dt.timedelta(minutes=2),
        EndTime=now + dt.timedelta(seconds=5),
        Period=60,
        Statistics=["Minimum", "Maximum"],
    )["Datapoints"]
    assert min(p["Minimum"] for p in minimum) == 0.0
    assert max(p["Maximum"] for p in minimum) == 1.0


def test_misconfigured_us_check_stays_healthy_and_us_clients_keep_failing(
    configuration: dict[str, Any], aws: Callable[..., Any], tmp_path: Path
) -> None:
    stack = load_stack(misconfigured=True)

    async def scenario(plane: DataPlane, deployment: Deployment) -> None:
        us_check = deployment.health_check_ids[US]
        assert plane.checkers.states[us_check].config["FullyQualifiedDomainName"] == (
            "example.eu.mydomain.com"
        )
        inject(aws, deployment, "/api/health", 5000)
        inject(aws, deployment, "/api/hello", 5000)
        await asyncio.sleep(1.1)
        checks_before = plane.checkers.states[us_check].checks
        await asyncio.sleep(5)
        assert plane.checkers.states[us_check].checks >= checks_before + 3
        assert plane.checkers.is_healthy(us_check)
        assert plane.resolver.answer(stack.record_name, US).region == US
        assert (await get(plane, US))[0] == 504

    run(stack, configuration, tmp_path, scenario)
