"""The doctor's live mode: moto holds the functions, invocations go through botocore's Stubber.

moto cannot run code, so each Invoke is answered by a fake of the
chaos-lambda-extension written here from its README (upstream
aws-cli-tools/chaos-lambda-extension), not from the package: it reads the
function's live configuration from moto and, only when the layer is attached
and ``AWS_LAMBDA_EXEC_WRAPPER`` is ``/opt/bootstrap``, sleeps
``CHAOS_EXTENSION__LAMBDA__LATENCY_VALUE`` seconds (on a fake clock) and
replaces the response with ``CHAOS_EXTENSION__RESPONSE__DEFAULT_RESPONSE``.
The Stubber validates every Invoke request and answer against Lambda's model.
"""

import io
import json
import os
import signal
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from chaosaws_serverless.aws import client as aws_client
from chaosaws_serverless.doctor import live, throwaway
from chaosaws_serverless.doctor.plan import Plan, Target
from tests.support.lambdas import World

US, EU = "us-east-1", "eu-west-1"


class FakeExtension:
    """Answer Invoke as the published extension would, from the function's state in moto."""

    def __init__(self, aws: Callable[..., Any], layer_name: str, fires: bool = True) -> None:
        self.aws = aws
        self.layer_name = layer_name
        self.fires = fires
        self.now = 1000.0
        self.invoked: list[str] = []
        self.stubbers: list[Stubber] = []

    def clock(self) -> float:
        return self.now

    def client(self, region: str) -> Any:
        lam = boto3.client("lambda", region_name=region, endpoint_url="http://127.0.0.1:9")
        stubber = Stubber(lam)
        stubber.activate()
        self.stubbers.append(stubber)
        # Emitted before the Stubber looks for a queued response: the answer is
        # computed from the function's state at the moment of the call.
        lam.meta.events.register(
            "provide-client-params.lambda.Invoke",
            lambda params, **kw: self.answer(stubber, region, params),
        )
        return lam

    def answer(self, stubber: Stubber, region: str, params: dict[str, Any]) -> None:
        name = params["FunctionName"]
        self.invoked.append(name)
        config = self.aws("lambda", region).get_function(FunctionName=name)["Configuration"]
        env = (config.get("Environment") or {}).get("Variables") or {}
        layers = [layer["Arn"] for layer in config.get("Layers") or []]
        attached = any(f":layer:{self.layer_name}:" in arn for arn in layers)
        body = {"statusCode": 200, "body": "doctor"}
        self.now += 0.2  # the function's own run
        if self.fires and attached and env.get("AWS_LAMBDA_EXEC_WRAPPER") == "/opt/bootstrap":
            if env.get("CHAOS_EXTENSION__LAMBDA__ENABLE_LATENCY") == "true":
                self.now += int(env["CHAOS_EXTENSION__LAMBDA__LATENCY_VALUE"])
            if env.get("CHAOS_EXTENSION__RESPONSE__ENABLE_CHANGE_RESPONSE_BODY") == "true":
                body = json.loads(env["CHAOS_EXTENSION__RESPONSE__DEFAULT_RESPONSE"])
        payload = json.dumps(body).encode()
        stubber.add_response(
            "invoke",
            {"StatusCode": 200, "Payload": StreamingBody(io.BytesIO(payload), len(payload))},
            {"FunctionName": name, "Payload": b"{}", "LogType": "Tail"},
        )


@pytest.fixture
def world(aws: Callable[..., Any], configuration: dict[str, Any]) -> World:
    w = World(aws, configuration)
    for region in (US, EU):
        w.layer(region, CompatibleArchitectures=["x86_64"])
    w.function("api-hello", region=US)
    w.function("api-hello", region=EU)
    return w


def plan(regions: tuple[str, ...] = (US, EU)) -> Plan:
    return Plan(
        regions=list(regions),
        targets=[
            Target("api-hello", region, None, None, "inject_latency", {"latency_ms": 5000})
            for region in regions
        ],
    )


def doctor_functions(aws: Callable[..., Any]) -> list[str]:
    return [
        f["FunctionName"]
        for region in (US, EU)
        for f in aws("lambda", region).list_functions()["Functions"]
        if f["FunctionName"].startswith(throwaway.DOCTOR_PREFIX)
    ]


def test_a_layer_that_fires_passes_and_leaves_nothing(
    world: World, aws: Callable[..., Any], configuration: dict[str, Any]
) -> None:
    fake = FakeExtension(aws, "chaos-lambda-extension")
    checks = live.live_checks(
        plan(), configuration, latency_ms=3000, invoke_client=fake.client, clock=fake.clock
    )
    assert [c.detail for c in checks if c.verdict != "pass"] == [], checks
    steps = [c.check for c in checks if c.target.endswith(f"({US})")]
    assert steps == [f"live {step}" for step in live.STEPS]
    latency = next(c for c in checks if c.check == "live latency invoke")
    assert latency.measured["delay_seen_seconds"] == pytest.approx(3.0)
    error = next(c for c in checks if c.check == "live error invoke")
    assert error.measured["status_seen"] == 503
    cost = checks[-1]
    assert cost.check == "live cost" and cost.measured["invocations"] == 6  # 3 per region
    assert doctor_functions(aws) == []
    # The created function's tag marked it as the doctor's, and it ran the experiment's runtime.
    assert len(fake.invoked) == 6 and all(
        n.startswith(throwaway.DOCTOR_PREFIX) for n in fake.invoked
    )
    for stubber in fake.stubbers:
        stubber.assert_no_pending_responses()


def test_a_layer_that_does_not_fire_fails_the_doctor(
    world: World, aws: Callable[..., Any], configuration: dict[str, Any]
) -> None:
    fake = FakeExtension(aws, "chaos-lambda-extension", fires=False)
    checks = live.live_checks(
        plan((US,)), configuration, latency_ms=3000, invoke_client=fake.client, clock=fake.clock
    )
    failing = [c for c in checks if c.verdict == "fail"]
    assert [c.check for c in failing] == ["live latency invoke"]
    assert "did not fire" in failing[0].detail
    assert [c.check for c in checks if c.check == "live cleanup"] == ["live cleanup"]
    assert doctor_functions(aws) == []


@pytest.mark.parametrize("step", live.STEPS)
@pytest.mark.parametrize("how", ["error", "ctrl-c", "sigterm"])
def test_every_failure_path_removes_what_was_created(
    world: World,
    aws: Callable[..., Any],
    configuration: dict[str, Any],
    step: str,
    how: str,
) -> None:
    fake = FakeExtension(aws, "chaos-lambda-extension")
    before = signal.getsignal(signal.SIGTERM)

    def on_step(region: str, name: str) -> None:
        if name != step:
            return
        if how == "error":
            raise live.ActivityFailed(f"injected failure before {name}")
        if how == "ctrl-c":
            raise KeyboardInterrupt
        os.kill(os.getpid(), signal.SIGTERM)

    run = lambda: live.live_checks(  # noqa: E731
        plan((US,)),
        configuration,
        latency_ms=2000,
        invoke_client=fake.client,
        clock=fake.clock,
        on_step=on_step,
    )
    if how == "error":
        checks = run()
        assert any(c.verdict == "fail" and c.check == f"live {step}" for c in checks)
    else:
        with pytest.raises(KeyboardInterrupt):
            run()
    assert doctor_functions(aws) == []
    # The doctor's SIGTERM handler is gone again.
    assert signal.getsignal(signal.SIGTERM) is before


def test_leftovers_of_an_earlier_run_are_removed_by_tag_only(
    world: World, aws: Callable[..., Any], configuration: dict[str, Any]
) -> None:
    world.function(
        f"{throwaway.DOCTOR_PREFIX}killed", tags={throwaway.DOCTOR_TAG: "2026-01-01T00:00:00Z"}
    )
    world.function(f"{throwaway.DOCTOR_PREFIX}not-ours")  # same prefix, no tag: someone else's
    # Tagged a minute ago: another doctor's run in progress, not a leftover.
    recent = (datetime.now(UTC) - timedelta(seconds=60)).strftime("%Y-%m-%dT%H:%M:%SZ")
    world.function(f"{throwaway.DOCTOR_PREFIX}running", tags={throwaway.DOCTOR_TAG: recent})
    fake = FakeExtension(aws, "chaos-lambda-extension")
    checks = live.live_checks(
        plan((US,)), configuration, latency_ms=2000, invoke_client=fake.client, clock=fake.clock
    )
    leftovers = [c for c in checks if c.check == "live leftovers"]
    assert [c.detail for c in leftovers] == [
        f"removed 1 from an earlier run: {throwaway.DOCTOR_PREFIX}killed"
    ]
    assert sorted(doctor_functions(aws)) == [
        f"{throwaway.DOCTOR_PREFIX}not-ours",
        f"{throwaway.DOCTOR_PREFIX}running",
    ]


def test_the_throwaway_function_is_smallest_and_follows_the_runtime_family(
    world: World, aws: Callable[..., Any], configuration: dict[str, Any]
) -> None:
    world.function("node-api", region=US, Runtime="nodejs20.x", Handler="index.handler")
    seen: list[dict[str, Any]] = []

    def on_step(region: str, name: str) -> None:
        if name == "baseline invoke":
            (function,) = [
                f
                for f in aws("lambda", region).list_functions()["Functions"]
                if f["FunctionName"].startswith(throwaway.DOCTOR_PREFIX)
            ]
            seen.append(function)

    fake = FakeExtension(aws, "chaos-lambda-extension")
    target = Target("node-api", US, None, None, "inject_latency", {"latency_ms": 5000})
    live.live_checks(
        Plan(regions=[US], targets=[target]),
        configuration,
        latency_ms=2000,
        invoke_client=fake.client,
        clock=fake.clock,
        on_step=on_step,
    )
    assert seen[0]["Runtime"] == "nodejs20.x" and seen[0]["Handler"] == "index.handler"
    assert seen[0]["MemorySize"] == 128  # Lambda's minimum


def test_an_invocation_without_a_status_reports_its_error_and_log_tail(
    configuration: dict[str, Any],
) -> None:
    """What Lambda answers a crashed function (Invoke: FunctionError, LogResult base64)."""
    import base64

    lam = aws_client("lambda", US, configuration)
    payload = json.dumps({"errorMessage": "No module named 'app'", "errorType": "ImportError"})
    log = "START RequestId: 1\n[ERROR] Runtime.ImportModuleError: No module named 'app'\nEND\n"
    with Stubber(lam) as stubber:
        stubber.add_response(
            "invoke",
            {
                "StatusCode": 200,
                "FunctionError": "Unhandled",
                "LogResult": base64.b64encode(log.encode()).decode(),
                "Payload": StreamingBody(io.BytesIO(payload.encode()), len(payload)),
            },
            {"FunctionName": "f", "Payload": b"{}", "LogType": "Tail"},
        )
        seen = throwaway.invoke(lam, "f", lambda: 0.0)
    text = throwaway.status_text(seen)
    assert "status None" not in text
    assert "Unhandled: No module named 'app'" in text
    assert "Runtime.ImportModuleError" in text
