"""Credentials only in a var file's ``aws`` scope reach AWS, from chaos run and from the commands.

The judge is a proxy in front of moto standing in for AWS's authentication: it
records the access key each request was signed with (SigV4's ``Credential=``,
AWS's "Signature Version 4 signing process") and, with ``allowed``, answers any
other key as AWS does (UnrecognizedClientException / InvalidClientTokenId).
"""

import json
import os
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Optional

import pytest
from click.testing import CliRunner

from chaosaws_serverless.aws import clear_client_cache
from chaosaws_serverless.cli import main
from tests.support.faultproxy import FaultProxy, Request
from tests.support.route53 import NAME, reference_zone

ROOT = Path(__file__).resolve().parents[2]
CHAOS = str(Path(sys.executable).with_name("chaos"))
KEY_ID, SECRET = "AKIAVARFILEONLY00001", "var-file-secret-0123456789abcdef"
ENV_KEY = "AKIAENVIRONMENT00001"
_CREDENTIAL = re.compile(r"Credential=([A-Z0-9]+)/")


class SigningProxy(FaultProxy):
    """Forwards every request to moto, counting signing keys; refuses keys not ``allowed``."""

    def __init__(self, upstream_url: str, allowed: Optional[set[str]] = None) -> None:
        super().__init__(upstream_url, fault_rate=0.0)
        self.allowed = allowed
        self.keys: Counter[str] = Counter()

    def decide(self, request: Request) -> Optional[str]:
        match = _CREDENTIAL.search(request.headers.get("authorization", ""))
        key = match.group(1) if match else "unsigned"
        with self._lock:
            self.keys[key] += 1
        return None if self.allowed is None or key in self.allowed else "unknown_key"


@pytest.fixture
def proxy(moto_server: str, configuration: dict[str, Any]) -> Iterator[SigningProxy]:
    with SigningProxy(moto_server, allowed={KEY_ID}) as running:
        yield running
    clear_client_cache()


def _var_file(tmp_path: Path, configuration: dict[str, Any], secrets: bool = True) -> Path:
    values: dict[str, Any] = {"configuration": configuration}
    if secrets:
        values["secrets"] = {"aws": {"aws_access_key_id": KEY_ID, "aws_secret_access_key": SECRET}}
    path = tmp_path / "values.json"
    path.write_text(json.dumps(values), encoding="utf-8")
    return path


def test_chaos_run_signs_every_call_with_the_var_files_keys(
    tmp_path: Path, proxy: SigningProxy, aws: Callable[..., Any]
) -> None:
    zone_id, _ = reference_zone(aws)
    values = {"hosted_zone_id": zone_id, "record_name": NAME, "aws_endpoint_url": proxy.url}
    var_file = _var_file(tmp_path, values)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    journal = tmp_path / "journal.json"
    result = subprocess.run(
        [
            CHAOS,
            "--no-version-check",
            "--log-file",
            str(tmp_path / "chaos.log"),
            "run",
            "--journal-path",
            str(journal),
            "--var-file",
            str(var_file),
            str(ROOT / "experiments" / "failover-preflight.json"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=180,
    )
    ran = json.loads(journal.read_text(encoding="utf-8"))
    assert ran["status"] == "completed", result.stdout[-2000:] + result.stderr[-2000:]
    assert set(proxy.keys) == {KEY_ID}, proxy.keys
    assert proxy.keys[KEY_ID] >= 3  # the pre-flight's reads and the probe's, at least
    everything = journal.read_text() + result.stdout + result.stderr
    everything += (tmp_path / "chaos.log").read_text()
    assert SECRET not in everything


def test_rejected_environment_keys_are_named_by_their_source_never_their_value(
    tmp_path: Path, proxy: SigningProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ENV_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "environment-secret-value")
    clear_client_cache()
    var_file = _var_file(tmp_path, {"aws_endpoint_url": proxy.url}, secrets=False)
    result = CliRunner().invoke(
        main, ["doctor", "--var-file", str(var_file), "--region", "us-east-1"]
    )
    assert result.exit_code == 1
    line = next(x for x in result.output.splitlines() if "credentials" in x)
    assert "FAIL" in line
    text = " ".join(result.output.split())
    assert (
        "AWS rejected the credentials (InvalidClientTokenId) that came from the environment" in text
    )
    assert "environment-secret-value" not in result.output and ENV_KEY not in result.output
    assert set(proxy.keys) == {ENV_KEY}


def test_the_commands_read_the_var_files_secrets(
    tmp_path: Path, proxy: SigningProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ENV_KEY)  # refused by the proxy: must not be used
    clear_client_cache()
    var_file = _var_file(tmp_path, {"aws_endpoint_url": proxy.url, "aws_regions": ["us-east-1"]})
    rolled = CliRunner().invoke(main, ["rollback", "--var-file", str(var_file)])
    assert rolled.exit_code == 0, rolled.output
    doctor = CliRunner().invoke(
        main, ["doctor", "--var-file", str(var_file), "--region", "us-east-1"]
    )
    assert "credentials" in doctor.output and "AWS rejected" not in doctor.output, doctor.output
    assert set(proxy.keys) == {KEY_ID}, proxy.keys
