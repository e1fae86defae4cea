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

import io
import json
import secrets as random
import signal
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Optional

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets

from chaosaws_serverless.aws import client
from chaosaws_serverless.awslambda import actions
from chaosaws_serverless.awslambda.engine import latency_seconds
from chaosaws_serverless.doctor.checks import FAIL, PASS, Check, Plan
from chaosaws_serverless.errors import aws_errors, code_of

__all__ = [
    "DOCTOR_PREFIX",
    "DOCTOR_TAG",
    "LiveInterrupted",
    "live_checks",
    "plan_layer",
    "remove_leftovers",
    "throwaway_code",
]

DOCTOR_PREFIX = "chaosaws-doctor-"
DOCTOR_TAG = "chaosaws-serverless:doctor"
TAG_TIME = "%Y-%m-%dT%H:%M:%SZ"
# A live run takes a few minutes per region: a doctor function older than this
# belongs to a run that died; a younger one may be another doctor's, in progress.
LEFTOVER_AFTER_SECONDS = 30 * 60
DEFAULT_RUNTIME = "python3.12"
MEMORY_MB = 128  # Lambda's smallest
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


def throwaway_code(runtime: str) -> tuple[bytes, str]:
    """Return the zip and handler of a function that answers 200 in ``runtime``'s family."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        if runtime.startswith("nodejs"):
            archive.writestr(
                "index.js",
                "exports.handler = async () => ({statusCode: 200, body: 'doctor'});\n",
            )
            handler = "index.handler"
        else:
            archive.writestr(
                "app.py",
                "def handler(event, context):\n    return {'statusCode': 200, 'body': 'doctor'}\n",
            )
            handler = "app.handler"
    return buffer.getvalue(), handler


def remove_leftovers(region: str, configuration: Configuration, secrets: Secrets) -> list[str]:
    """Delete the throwaway functions an earlier live run left in ``region`` (found by tag)."""
    lam = client("lambda", region, configuration, secrets)
    removed = []
    with aws_errors("lambda:ListFunctions", f"functions in {region}"):
        pages = lam.get_paginator("list_functions").paginate()
        names = [
            (f["FunctionName"], f["FunctionArn"])
            for page in pages
            for f in page.get("Functions") or []
            if f["FunctionName"].startswith(DOCTOR_PREFIX)
        ]
    for name, arn in names:
        with aws_errors("lambda:ListTags", f"function {name!r} in {region}"):
            tags = lam.list_tags(Resource=arn).get("Tags") or {}
        if DOCTOR_TAG not in tags:
            continue  # the prefix alone is not proof that it is ours
        if not _abandoned(tags[DOCTOR_TAG]):
            continue  # another doctor may be running right now (a run takes minutes)
        _delete(lam, name, region)
        removed.append(name)
    return removed


def _abandoned(created_at: str, now: Optional[datetime] = None) -> bool:
    """Return True when a doctor function created at ``created_at`` outlived any live run."""
    try:
        created = datetime.strptime(created_at, TAG_TIME).replace(tzinfo=UTC)
    except ValueError:
        return True  # tagged by us but unreadable: nothing else would remove it
    return ((now or datetime.now(UTC)) - created).total_seconds() > LEFTOVER_AFTER_SECONDS


def _delete(lam: Any, name: str, region: str) -> None:
    try:
        with aws_errors("lambda:DeleteFunction", f"function {name!r} in {region}"):
            lam.delete_function(FunctionName=name)
    except ActivityFailed as error:
        if code_of(error) != "ResourceNotFoundException":
            raise


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


def _family(
    plan: Plan, region: str, configuration: Configuration, secrets: Secrets
) -> dict[str, Any]:
    """Return runtime, architecture and role for the region's throwaway function."""
    chosen: dict[str, Any] = {"runtime": DEFAULT_RUNTIME, "architecture": "x86_64", "role": None}
    for target in plan.targets:
        if target.region != region:
            continue
        lam = client("lambda", region, configuration, secrets)
        try:
            with aws_errors("lambda:GetFunction", f"function {target.function_name!r}"):
                config = lam.get_function(FunctionName=target.function_name)["Configuration"]
        except ActivityFailed:
            continue  # the read-only check reports it
        runtime = str(config.get("Runtime") or "")
        if runtime.startswith(("python", "nodejs")):
            chosen["runtime"] = runtime
        chosen["architecture"] = (config.get("Architectures") or ["x86_64"])[0]
        chosen["role"] = config.get("Role")
        break
    return chosen


def _picture(lam: Any, name: str) -> dict[str, Any]:
    answer = lam.get_function(FunctionName=name)
    config = answer["Configuration"]
    return {
        "layers": [layer["Arn"] for layer in config.get("Layers") or []],
        "environment": dict((config.get("Environment") or {}).get("Variables") or {}),
        "tags": dict(answer.get("Tags") or {}),
    }


def _invoke(lam: Any, name: str, clock: Callable[[], float]) -> dict[str, Any]:
    started = clock()
    with aws_errors("lambda:InvokeFunction", f"function {name!r}"):
        answer = lam.invoke(FunctionName=name, Payload=b"{}")
    seconds = clock() - started
    raw = answer["Payload"].read()
    try:
        payload = json.loads(raw or b"null")
    except ValueError:
        payload = None
    status = payload.get("statusCode") if isinstance(payload, dict) else None
    return {
        "seconds": round(seconds, 3),
        "function_error": answer.get("FunctionError"),
        "status_seen": status,
    }


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
        self.family = _family(plan, region, configuration, secrets)
        self.role = role_arn or self.family["role"]
        self.latency_ms = latency_ms
        self.status_code = status_code
        self.invoker = invoke_client(region)
        self.clock = clock
        self.on_step = on_step
        self.name = f"{DOCTOR_PREFIX}{random.token_hex(6)}"
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
        seen = _invoke(self.invoker, self.name, self.clock)
        self.invocations += 1
        self.invoked_seconds += seen["seconds"]
        return seen

    def create(self) -> tuple[str, str, dict[str, Any]]:
        if not self.role:
            return FAIL, "no execution role: pass --role-arn (any role Lambda may assume)", {}
        code, handler = throwaway_code(self.family["runtime"])
        with aws_errors("lambda:CreateFunction", f"function {self.name!r} in {self.region}"):
            self.lam.create_function(
                FunctionName=self.name,
                Runtime=self.family["runtime"],
                Role=self.role,
                Handler=handler,
                Code={"ZipFile": code},
                MemorySize=MEMORY_MB,
                Timeout=latency_seconds(self.latency_ms) + 10,
                Architectures=[self.family["architecture"]],
                Description="chaosaws-serverless doctor: deleted by the run that created it",
                Tags={DOCTOR_TAG: datetime.now(UTC).strftime(TAG_TIME)},
            )
        self.created = True
        with aws_errors("lambda:GetFunction", f"function {self.name!r} in {self.region}"):
            self.lam.get_waiter("function_active_v2").wait(FunctionName=self.name)
            self.original = _picture(self.lam, self.name)
        return PASS, f"{self.family['runtime']} {self.family['architecture']} {MEMORY_MB} MB", {}

    def baseline(self) -> tuple[str, str, dict[str, Any]]:
        seen = self.invoke()
        self.baseline_seconds = seen["seconds"]
        ok = seen["function_error"] is None and seen["status_seen"] == 200
        return (PASS if ok else FAIL), f"status {seen['status_seen']} in {seen['seconds']} s", seen

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
                    f"status seen {seen['status_seen']}, expected {self.status_code}: "
                    "the layer did "
                    "not change the response"
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
            now = _picture(self.lam, self.name)
        different = [key for key in self.original if now[key] != self.original[key]]
        if different:
            return FAIL, f"not as created after remove_faults: {', '.join(different)} differ", {}
        return PASS, "layers, environment and tags exactly as created", {}

    def delete(self) -> tuple[str, str, dict[str, Any]]:
        _delete(self.lam, self.name, self.region)
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
            _delete(self.lam, self.name, self.region)
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
                    f"(tag {DOCTOR_TAG})",
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
                removed = remove_leftovers(region, configuration, secrets)
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
    gb_seconds = seconds * MEMORY_MB / 1024
    checks.append(
        Check(
            "live cost",
            ", ".join(plan.regions),
            PASS,
            f"{invocations} invocations, {seconds:.1f} s invoked at {MEMORY_MB} MB = "
            f"{gb_seconds:.2f} GB-s",
            {
                "invocations": invocations,
                "invoked_seconds": round(seconds, 3),
                "gb_seconds": round(gb_seconds, 3),
            },
        )
    )
    return checks
