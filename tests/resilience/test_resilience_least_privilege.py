"""The shipped experiments run with exactly the policy `chaosaws-serverless iam-policy` prints.

Two checks, because the emulator can only do half of it:

1. **Actions, enforced by moto.** A moto server in this process with IAM
   enforcement switched on (``moto.settings.INITIAL_NO_AUTH_ACTION_COUNT = 0``
   once the stack is deployed) and an IAM user whose only policy is the
   printed ``experiment`` policy (signatures unchecked, see the fixture).
   moto evaluates every request of a normal service against the resource
   ``"*"``, so the printed statements are evaluated with ``Resource: "*"``:
   an action the printed policy lacks is denied, whatever the resource. A
   positive control removes one action and expects the denial, named in the
   activity's error.
2. **Resources, a documented dry check.** Every request goes through the
   fault proxy (0% faults) and is recorded; each Lambda function, layer,
   hosted zone and health check it names must match a ``Resource`` of the
   printed policy.
"""

import fnmatch
import json
import re
import subprocess
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.support.faultproxy import FaultProxy, Request
from tests.support.interruption import BIN, REPO, deploy_stack, environment
from tests.support.snapshots import differences, snapshot

ACCOUNT = "123456789012"
_FUNCTION = re.compile(r"/functions/([^/?]+)")
_LAYER = re.compile(r"/layers/([^/?]+)/versions/(\d+)")
_TAGS = re.compile(r"/tags/([^/?]+)")
_ZONE = re.compile(r"/hostedzone/([^/?]+)")
_HEALTH = re.compile(r"/healthcheck/([^/?]+)")
_SCOPE = re.compile(r"Credential=[^/]+/\d+/([a-z0-9-]+)/")


@pytest.fixture
def enforcing_moto(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Any]]:
    """A moto server in this process whose IAM enforcement the test switches on.

    moto 5.2's SigV4 check rejects the REST services' requests (Lambda,
    Route 53: SignatureDoesNotMatch for correctly signed calls), so signature
    checking is switched off; the policy evaluation, what this test is about,
    stays on.
    """
    from moto import settings
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.iam.access_control import IAMRequestBase
    from moto.server import ThreadedMotoServer

    monkeypatch.setattr(IAMRequestBase, "check_signature", lambda self: None)

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    previous = settings.INITIAL_NO_AUTH_ACTION_COUNT
    try:
        yield f"http://{host}:{port}", settings
    finally:
        settings.INITIAL_NO_AUTH_ACTION_COUNT = previous
        ActionAuthenticatorMixin.request_count = 0
        server.stop()


def printed_policy(experiment: Path, values: Path) -> dict[str, Any]:
    done = subprocess.run(
        [
            str(BIN / "chaosaws-serverless"),
            "iam-policy",
            str(experiment),
            "--var-file",
            str(values),
            "--account-id",
            ACCOUNT,
            "--role",
            "experiment",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return json.loads(done.stdout)


def resources_named(request: Request) -> list[tuple[str, str]]:
    """Return (service, ARN) for the resources a recorded request names."""
    path = urllib.parse.unquote(urllib.parse.urlsplit(request.path).path)
    match = _SCOPE.search(request.headers.get("authorization", ""))
    region = match.group(1) if match else "us-east-1"
    found: list[tuple[str, str]] = []
    if request.is_lambda:
        if layer := _LAYER.search(path):
            name = layer.group(1).rsplit(":", 1)[-1]
            found.append(("lambda", f"arn:aws:lambda:{region}:{ACCOUNT}:layer:{name}:{layer[2]}"))
        elif tagged := _TAGS.search(path):
            found.append(("lambda", tagged.group(1)))
        elif function := _FUNCTION.search(path):
            found.append(("lambda", f"arn:aws:lambda:{region}:{ACCOUNT}:function:{function[1]}"))
    elif path.startswith("/2013-04-01/"):
        if zone := _ZONE.search(path):
            found.append(("route53", f"arn:aws:route53:::hostedzone/{zone[1]}"))
        if health := _HEALTH.search(path):
            found.append(("route53", f"arn:aws:route53:::healthcheck/{health[1]}"))
    return found


def covered(arn: str, service: str, policy: dict[str, Any]) -> bool:
    for statement in policy["Statement"]:
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        if not any(a.startswith(f"{service}:") for a in actions):
            continue
        patterns = statement["Resource"]
        for pattern in [patterns] if isinstance(patterns, str) else patterns:
            if fnmatch.fnmatchcase(arn, pattern):
                return True
    return False


def _runner(endpoint_url: str, policy: dict[str, Any], name: str) -> dict[str, str]:
    iam = boto3.client("iam", region_name="us-east-1", endpoint_url=endpoint_url)
    iam.create_user(UserName=name)
    relaxed = {
        "Version": "2012-10-17",
        "Statement": [{**s, "Resource": "*"} for s in policy["Statement"]],
    }
    iam.put_user_policy(UserName=name, PolicyName="printed", PolicyDocument=json.dumps(relaxed))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {
        "AWS_ACCESS_KEY_ID": key["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"],
    }


def _run_chaos(stack: Any, experiment: Path, env: dict[str, str], tag: str) -> dict[str, Any]:
    journal = stack.workdir / f"{tag}.journal.json"
    subprocess.run(
        [
            str(BIN / "chaos"),
            "--no-version-check",
            "--settings",
            str(stack.workdir / "settings.yaml"),
            "run",
            "--var-file",
            str(stack.values_path),
            "--journal-path",
            str(journal),
            "--rollback-strategy",
            "always",
            str(experiment),
        ],
        cwd=stack.workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    return json.loads(journal.read_text())


def _errors(journal: dict[str, Any]) -> list[str]:
    return [
        "".join(run.get("exception") or [])
        for run in (journal.get("run") or []) + (journal.get("rollbacks") or [])
        if run.get("status") == "failed"
    ]


EXPERIMENTS = ["region-failure", "error-injection", "canary-alias-latency", "failover-preflight"]


def test_shipped_experiments_need_nothing_beyond_the_printed_policy(
    enforcing_moto: tuple[str, Any], tmp_path: Path
) -> None:
    url, settings = enforcing_moto
    stack = deploy_stack(url, tmp_path)
    values = json.loads(stack.values_path.read_text())
    values["configuration"].update(
        failover_timeout_seconds=2,
        fault_duration_seconds=1,
        post_failover_pause_seconds=1,
        fis_timeout_seconds=30,
    )
    stack.values_path.write_text(json.dumps(values))
    hello = values["configuration"]["us_hello_function"]
    lam = boto3.client("lambda", region_name="us-east-1", endpoint_url=url)
    lam.create_alias(
        FunctionName=hello,
        Name="canary",
        FunctionVersion=lam.publish_version(FunctionName=hello)["Version"],
    )
    runs = []
    for name in EXPERIMENTS:
        experiment = json.loads((REPO / "experiments" / f"{name}.json").read_text())
        experiment.pop("steady-state-hypothesis", None)  # needs the lab's customer metrics
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(experiment))
        policy = printed_policy(REPO / "experiments" / f"{name}.json", stack.values_path)
        runs.append((name, path, policy, _runner(url, policy, f"runner-{name}")))
    before = snapshot(url, stack.regions)

    uncovered: list[str] = []
    checked = 0
    with FaultProxy(url, fault_rate=0.0) as proxy:
        # every call of the runs goes through the proxy, which records it
        values["configuration"]["aws_endpoint_url"] = proxy.url
        stack.values_path.write_text(json.dumps(values))
        settings.INITIAL_NO_AUTH_ACTION_COUNT = 0  # from here on moto enforces IAM
        recorded: list[Request] = []
        original = proxy.decide

        def record(request: Request) -> Any:
            recorded.append(request)
            return original(request)

        proxy.decide = record  # type: ignore[method-assign]
        for name, path, policy, keys in runs:
            recorded.clear()
            env = {**environment(proxy.url), **keys}
            env.pop("AWS_SESSION_TOKEN", None)
            journal = _run_chaos(stack, path, env, name)
            errors = [e for e in _errors(journal) if "did not fail" not in e]
            assert not any("AccessDenied" in e for e in errors), (name, errors)
            assert errors == [], (name, errors)
            assert journal["run"], name
            for request in recorded:
                for service, arn in resources_named(request):
                    checked += 1
                    if not covered(arn, service, policy):
                        uncovered.append(f"{name}: {request.method} {arn}")
    settings.INITIAL_NO_AUTH_ACTION_COUNT = float("inf")
    assert uncovered == []
    assert checked > 20, checked
    assert differences(before, snapshot(url, stack.regions)) == {}


def test_a_missing_action_is_denied_and_named(
    enforcing_moto: tuple[str, Any], tmp_path: Path
) -> None:
    """Positive control: the enforcement is live and the error names the IAM action to grant."""
    url, settings = enforcing_moto
    stack = deploy_stack(url, tmp_path)
    values = json.loads(stack.values_path.read_text())
    values["configuration"].update(fault_duration_seconds=1)
    stack.values_path.write_text(json.dumps(values))
    experiment = REPO / "experiments" / "error-injection.json"
    policy = printed_policy(experiment, stack.values_path)
    for statement in policy["Statement"]:
        if isinstance(statement["Action"], list) and "lambda:TagResource" in statement["Action"]:
            statement["Action"].remove("lambda:TagResource")
    keys = _runner(url, policy, "runner-without-tagresource")
    method_only = json.loads(experiment.read_text())
    method_only.pop("steady-state-hypothesis", None)
    path = tmp_path / "error-injection.json"
    path.write_text(json.dumps(method_only))
    before = snapshot(url, stack.regions)
    settings.INITIAL_NO_AUTH_ACTION_COUNT = 0
    env = {**environment(url), **keys}
    env.pop("AWS_SESSION_TOKEN", None)
    journal = _run_chaos(stack, path, env, "denied")
    settings.INITIAL_NO_AUTH_ACTION_COUNT = float("inf")
    inject = journal["run"][0]
    assert inject["status"] == "failed"
    assert "lambda:TagResource" in "".join(inject["exception"])
    assert "AccessDenied" in "".join(inject["exception"])
    assert differences(before, snapshot(url, stack.regions)) == {}
