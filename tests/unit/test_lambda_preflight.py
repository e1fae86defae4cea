"""The refusals an injection would make, computed without AWS (the doctor's seam into the actions).

Limits judged here are Lambda's published quotas: 5 layers per function, 4 KB of
environment variables, 50 tags per function, one architecture per function.
"""

from typing import Any

from chaosaws_serverless.awslambda.engine.arguments import latency_fault
from chaosaws_serverless.awslambda.engine.preflight import injection_refusals
from chaosaws_serverless.awslambda.engine.record import FaultRecord, encode

LAYER = "arn:aws:lambda:us-east-1:123456789012:layer:chaos-lambda-extension:3"
FAULT = latency_fault(5000, 1.0)


def config(**kw: Any) -> dict[str, Any]:
    return {"FunctionName": "api-hello", "Runtime": "python3.12", **kw}


def refusals(
    configuration: dict[str, Any], tags: dict[str, str] | None = None, **kw: Any
) -> list[str]:
    return injection_refusals(
        configuration,
        tags or {},
        FAULT,
        LAYER,
        kw.pop("arch", ["x86_64"]),
        **kw,
    )


def test_a_plain_function_takes_the_fault() -> None:
    assert refusals(config()) == []


def test_each_quota_is_a_refusal_naming_the_value() -> None:
    five = [{"Arn": f"arn:aws:lambda:us-east-1:123456789012:layer:l{i}:1"} for i in range(5)]
    assert "limit of 5" in refusals(config(Layers=five))[0]
    other = refusals(config(Environment={"Variables": {"AWS_LAMBDA_EXEC_WRAPPER": "/opt/otel"}}))
    assert "/opt/otel" in other[0]
    big = refusals(config(Environment={"Variables": {"X": "y" * 4000}}))
    assert "4096 bytes" in big[0]
    full = refusals(config(), {f"t{i}": "v" for i in range(50)})
    assert "limit of 50 tags" in full[0]
    arm = refusals(config(Architectures=["arm64"]))
    assert "arm64" in arm[0] and "x86_64" in arm[0]
    # A few tags of its own leave room for the record.
    assert refusals(config(), {f"t{i}": "v" for i in range(4)}) == []


def test_a_recorded_fault_refuses_others_but_not_its_own_run() -> None:
    fn = config()
    record = FaultRecord(
        contract="chaos-lambda-extension",
        by="alice@host pid 7",
        at="2026-01-01T00:00:00Z",
        fault=dict(FAULT.params),
        layers=[LAYER],
    )
    tags = encode(record)
    assert "already carries a latency fault" in refusals(fn, tags)[0]
    assert "already carries" in refusals(fn, tags, by="bob@host pid 8")[0]
    assert refusals(fn, tags, by="alice@host pid 7") == []


def test_an_unreadable_layer_skips_only_the_architecture_check() -> None:
    assert refusals(config(Architectures=["arm64"]), arch=None) == []


def test_the_doctor_meets_the_runtime_refusals_of_the_injection() -> None:
    # Lambda runs AWS_LAMBDA_EXEC_WRAPPER only for managed runtimes, and attaches no
    # layers to container images (Lambda developer guide, "Modifying the runtime
    # environment" and "Working with layers").
    (image,) = refusals(config(PackageType="Image", Runtime=None))
    assert "container image" in image
    (provided,) = refusals(config(Runtime="provided.al2023"))
    assert "OS-only runtime 'provided.al2023'" in provided
    assert refusals(config(Runtime="nodejs20.x")) == []
