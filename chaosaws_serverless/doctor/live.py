"""The doctor's live mode: prove in each region that the chaos layer really fires.

In each region a throwaway function (name prefix ``chaosaws-doctor-``, tag
``chaosaws-serverless:doctor``, 128 MB, the experiment's runtime family and
architecture, else a current Python runtime on x86_64) goes through what an
experiment does, with the package's own actions:

1. create it, invoke it once (the baseline);
2. ``inject_latency`` and invoke: the delay must be seen;
3. ``inject_error`` and invoke: the status code must come back;
4. ``remove_faults`` and read it back: layers, environment and tags must be
   exactly as created;
5. delete it.

Whatever happens (a failed step, an AWS error, Ctrl-C, SIGTERM) the function is
deleted before the doctor returns; a doctor killed with SIGKILL leaves it,
tagged, and the next live run deletes it first (``remove_leftovers``).
"""

import secrets as random
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Optional

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets

from chaosaws_serverless.aws import client
from chaosaws_serverless.awslambda import actions
from chaosaws_serverless.awslambda.engine import latency_seconds
from chaosaws_serverless.doctor import throwaway
from chaosaws_serverless.doctor.plan import FAIL, PASS, Check, Plan
from chaosaws_serverless.errors import aws_errors

__all__ = [
    "STEPS",
    "LiveInterrupted",
    "live_checks",
    "plan_layer",
]

DEFAULT_LATENCY_MS = 3000
DEFAULT_STATUS_CODE = 503
ERROR_BODY = "chaosaws-serverless doctor"
# A delay counts when at least this share of the injected latency is seen on top
# of the baseline (the extension sleeps whole seconds; clocks and cold starts vary).
DELAY_SHARE = 0.9
STEPS = (
    "create",
    "baseline invoke",
    "inject_latency",
    "latency invoke",
    "inject_error",
    "error invoke",
    "remove_faults",
    "verify restored",
    "delete",
)


_CLEANING = threading.Event()
_DEFERRED = threading.Event()


class LiveInterrupted(KeyboardInterrupt):
    """SIGTERM during the live run: handled like Ctrl-C, after the cleanup."""


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM into ``LiveInterrupted`` in the main thread, so the cleanup runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        if _CLEANING.is_set():
            _DEFERRED.set()  # the cleanup finishes first, then the interrupt is raised
            return
        raise LiveInterrupted(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class _Run:
    """One region's live run: its steps, what they measured, and the cleanup."""

    def __init__(
        self,
        region: str,
        plan: Plan,
        configuration: Configuration,
        secrets: Secrets,
        role_arn: Optional[str],
        latency_ms: int,
        status_code: int,
        invoke_client: Callable[[str], Any],
        clock: Callable[[], float],
        on_step: Optional[Callable[[str, str], None]],
    ) -> None:
        self.region = region
        self.configuration = dict(configuration or {})
        self.secrets = dict(secrets or {})
        self.lam = client("lambda", region, configuration, secrets)
        self.family = throwaway.family(plan, region, configuration, secrets)
        self.role = role_arn or self.family["role"]
        self.latency_ms = latency_ms
        self.status_code = status_code
        self.invoker = invoke_client(region)
        self.clock = clock
        self.on_step = on_step
        self.name = f"{throwaway.DOCTOR_PREFIX}{random.token_hex(6)}"
        self.created = False
        self.deleted = False
        self.checks: list[Check] = []
        self.invocations = 0
        self.invoked_seconds = 0.0
        self.layer_arn = plan_layer(plan, region)

    def step(self, name: str, action: Callable[[], tuple[str, str, dict[str, Any]]]) -> bool:
        started = time.monotonic()
        try:
            if self.on_step:
                self.on_step(self.region, name)
            verdict, detail, measured = action()
        except Exception as error:  # any failure is this step's verdict; Ctrl-C/SIGTERM are not
            verdict, detail, measured = FAIL, str(error) or type(error).__name__, {}
        measured = {"step_seconds": round(time.monotonic() - started, 3), **measured}
        self.checks.append(
            Check(f"live {name}", f"{self.name} ({self.region})", verdict, detail, measured)
        )
        return verdict == PASS

    def invoke(self) -> dict[str, Any]:
        seen = throwaway.invoke(self.invoker, self.name, self.clock)
        self.invocations += 1
        self.invoked_seconds += seen["seconds"]
        return seen

    def create(self) -> tuple[str, str, dict[str, Any]]:
        if not self.role:
            return FAIL, "no execution role: pass --role-arn (any role Lambda may assume)", {}
        code, handler = throwaway.throwaway_code(self.family["runtime"])
        with aws_errors("lambda:CreateFunction", f"function {self.name!r} in {self.region}"):
            self.lam.create_function(
                FunctionName=self.name,
                Runtime=self.family["runtime"],
                Role=self.role,
                Handler=handler,
                Code={"ZipFile": code},
                MemorySize=throwaway.MEMORY_MB,
                Timeout=latency_seconds(self.latency_ms) + 10,
                Architectures=[self.family["architecture"]],
                Description="chaosaws-serverless doctor: deleted by the run that created it",
                Tags={throwaway.DOCTOR_TAG: datetime.now(UTC).strftime(throwaway.TAG_TIME)},
            )
        self.created = True
        with aws_errors("lambda:GetFunction", f"function {self.name!r} in {self.region}"):
            self.lam.get_waiter("function_active_v2").wait(FunctionName=self.name)
            self.original = throwaway.picture(self.lam, self.name)
        family = f"{self.family['runtime']} {self.family['architecture']}"
        return PASS, f"{family} {throwaway.MEMORY_MB} MB", {}

    def baseline(self) -> tuple[str, str, dict[str, Any]]:
        seen = self.invoke()
        self.baseline_seconds = seen["seconds"]
        ok = seen["function_error"] is None and seen["status_seen"] == 200
        return (PASS if ok else FAIL), f"{throwaway.status_text(seen)} in {seen['seconds']} s", seen

    def inject_latency(self) -> tuple[str, str, dict[str, Any]]:
        result = actions.inject_latency(
            self.name,
            self.latency_ms,
            region=self.region,
            configuration=self.configuration,
            secrets=self.secrets,
            layer_arn=self.layer_arn,
        )
        return PASS, f"{result['layer_arn']} attached, {result['latency_ms']} ms", {}

    def latency_invoke(self) -> tuple[str, str, dict[str, Any]]:
        seen = self.invoke()
        delay = round(seen["seconds"] - self.baseline_seconds, 3)
        wanted = latency_seconds(self.latency_ms) * DELAY_SHARE
        measured = {**seen, "delay_seen_seconds": delay}
        if delay < wanted:
            return (
                FAIL,
                (
                    f"delay seen {delay} s, expected at least {wanted:.1f} s: the layer did not "
                    "fire (is it the chaos-lambda-extension, built for this runtime and "
                    "architecture?)"
                ),
                measured,
            )
        return (
            PASS,
            f"delay seen {delay} s (injected {latency_seconds(self.latency_ms)} s)",
            measured,
        )

    def inject_error(self) -> tuple[str, str, dict[str, Any]]:
        actions.inject_error(
            self.name,
            self.status_code,
            body=ERROR_BODY,
            region=self.region,
            configuration=self.configuration,
            secrets=self.secrets,
            layer_arn=self.layer_arn,
        )
        return PASS, f"status {self.status_code} injected", {}

    def error_invoke(self) -> tuple[str, str, dict[str, Any]]:
        seen = self.invoke()
        if seen["status_seen"] != self.status_code:
            return (
                FAIL,
                (
                    f"{throwaway.status_text(seen)} seen, expected status {self.status_code}: "
                    "the layer did not change the response"
                ),
                seen,
            )
        return PASS, f"status seen {seen['status_seen']} in {seen['seconds']} s", seen

    def remove(self) -> tuple[str, str, dict[str, Any]]:
        result = actions.remove_faults(
            self.name, region=self.region, configuration=self.configuration, secrets=self.secrets
        )
        return (PASS if result["removed"] else FAIL), f"removed: {result['removed']}", {}

    def verify(self) -> tuple[str, str, dict[str, Any]]:
        with aws_errors("lambda:GetFunction", f"function {self.name!r} in {self.region}"):
            now = throwaway.picture(self.lam, self.name)
        different = [key for key in self.original if now[key] != self.original[key]]
        if different:
            return FAIL, f"not as created after remove_faults: {', '.join(different)} differ", {}
        return PASS, "layers, environment and tags exactly as created", {}

    def delete(self) -> tuple[str, str, dict[str, Any]]:
        throwaway.delete(self.lam, self.name, self.region)
        self.deleted = True
        return PASS, "deleted", {}

    def run(self) -> list[Check]:
        steps = dict(
            zip(
                STEPS,
                (
                    self.create,
                    self.baseline,
                    self.inject_latency,
                    self.latency_invoke,
                    self.inject_error,
                    self.error_invoke,
                    self.remove,
                    self.verify,
                    self.delete,
                ),
                strict=True,
            )
        )
        try:
            for name, action in steps.items():
                if not self.step(name, action):
                    break
        finally:
            self.cleanup()
        return self.checks

    def cleanup(self) -> None:
        """Delete the function (its faults go with it) unless the run already did."""
        if not self.created or self.deleted:
            return
        _CLEANING.set()
        try:
            throwaway.delete(self.lam, self.name, self.region)
            self.deleted = True
            self.checks.append(
                Check(
                    "live cleanup",
                    f"{self.name} ({self.region})",
                    PASS,
                    "deleted after the failure",
                )
            )
        except Exception as error:  # the cause of the failure matters more
            self.checks.append(
                Check(
                    "live cleanup",
                    f"{self.name} ({self.region})",
                    FAIL,
                    f"could not delete it ({error}); the next `doctor --live` removes it "
                    f"(tag {throwaway.DOCTOR_TAG})",
                )
            )
        finally:
            _CLEANING.clear()
        if _DEFERRED.is_set():
            _DEFERRED.clear()
            raise LiveInterrupted("SIGTERM during the cleanup")


def plan_layer(plan: Plan, region: str) -> Optional[str]:
    """Return the layer_arn the experiment's actions pass in ``region`` (None: configured)."""
    return next((t.layer_arn for t in plan.targets if t.region == region and t.layer_arn), None)


def live_checks(
    plan: Plan,
    configuration: Configuration,
    secrets: Secrets = None,
    role_arn: Optional[str] = None,
    latency_ms: int = DEFAULT_LATENCY_MS,
    status_code: int = DEFAULT_STATUS_CODE,
    invoke_client: Optional[Callable[[str], Any]] = None,
    clock: Callable[[], float] = time.monotonic,
    on_step: Optional[Callable[[str, str], None]] = None,
) -> list[Check]:
    """Run the live proof in each region of ``plan``; every created function is deleted.

    ``invoke_client(region)`` returns the Lambda client invocations go through
    (default: the package's client); ``on_step(region, step)`` is called before
    each step. A KeyboardInterrupt (Ctrl-C, or SIGTERM) is re-raised after the
    cleanup.
    """

    def default_invoker(region: str) -> Any:
        return client("lambda", region, configuration, secrets)

    invoker = invoke_client or default_invoker
    checks: list[Check] = []
    invocations, seconds = 0, 0.0
    with sigterm_as_interrupt():
        for region in plan.regions:
            try:
                removed = throwaway.remove_leftovers(region, configuration, secrets)
            except ActivityFailed as error:
                checks.append(Check("live leftovers", region, FAIL, str(error)))
                continue
            if removed:
                checks.append(
                    Check(
                        "live leftovers",
                        region,
                        PASS,
                        f"removed {len(removed)} from an earlier run: {', '.join(removed)}",
                    )
                )
            run = _Run(
                region,
                plan,
                configuration,
                secrets,
                role_arn,
                latency_ms,
                status_code,
                invoker,
                clock,
                on_step,
            )
            try:
                checks.extend(run.run())
            finally:
                invocations += run.invocations
                seconds += run.invoked_seconds
    gb_seconds = seconds * throwaway.MEMORY_MB / 1024
    checks.append(
        Check(
            "live cost",
            ", ".join(plan.regions),
            PASS,
            f"{invocations} invocations, {seconds:.1f} s invoked at {throwaway.MEMORY_MB} MB = "
            f"{gb_seconds:.2f} GB-s",
            {
                "invocations": invocations,
                "invoked_seconds": round(seconds, 3),
                "gb_seconds": round(gb_seconds, 3),
            },
        )
    )
    return checks
