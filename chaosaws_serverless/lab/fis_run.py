"""An FIS experiment in the lab: the template a user would compile, and what AWS's engines left.

``experiments/region-failure-fis.json`` runs the reference fault on FIS: its
``fis_template`` is the file ``chaosaws-serverless fis-template`` compiles from
``region-failure.json``. :func:`prepare` compiles it exactly so, with the stack's values,
in the template mode asked for, with or without the stop-condition alarm, and points the
run's values at it. After the run, :func:`settle` waits until no experiment or automation
can still change a function (a stopped experiment's runbook may still be restoring), and
:func:`function_states` / :func:`modified` say whether the functions are byte for byte as
they were. Everything goes through the lab's endpoint, where the models run FIS and SSM.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3

from chaosaws_serverless.lab import fis_extension
from chaosaws_serverless.lab.emulator import FAKE_CREDENTIALS
from chaosaws_serverless.lab.session import Lab

__all__ = [
    "MODES",
    "TEMPLATE_FILE",
    "function_states",
    "is_fis_experiment",
    "last_experiment",
    "modified",
    "prepare",
    "settle",
]

MODES = ("ssm-automation", "fis-extension")
TEMPLATE_FILE = "fis-template.json"
_VOLATILE = ("LastModified", "RevisionId", "LastUpdateStatus", "LastUpdateStatusReason")
_RUNNING_AUTOMATION = ("Pending", "InProgress", "Waiting", "Cancelling")


def is_fis_experiment(experiment: Path) -> bool:
    """An experiment that runs an FIS template (its configuration names ``fis_template``)."""
    from chaosaws_serverless.inputs import InputError, read_experiment

    try:
        configuration = read_experiment(experiment).get("configuration")
    except InputError:
        return False
    return isinstance(configuration, dict) and "fis_template" in configuration


def _client(lab: Lab, service: str) -> Any:
    return boto3.client(
        service,
        region_name=lab.deployment.regions[0],
        endpoint_url=lab.endpoint_url,
        **FAKE_CREDENTIALS,
    )


def prepare(lab: Lab, experiment: Path, mode: str, *, stop_condition: bool) -> Path:
    """Compile the template with the package's CLI, as a user would; point the values at it."""
    from chaosaws_serverless.shipped import EXPERIMENTS, shipped_path

    if mode not in MODES:
        raise ValueError(f"FIS template mode must be one of {MODES}, got {mode!r}")
    if mode == "fis-extension":
        prepare_fis_extension(lab)
    from chaosaws_serverless.inputs import read_experiment

    configuration = read_experiment(experiment).get("configuration") or {}
    name = str(configuration.get("fis_template_name") or "chaosaws-serverless-region-failure")
    cli = shutil.which("chaosaws-serverless", path=str(Path(sys.executable).parent))
    alarm = lab.deployment.stop_alarm_arn if stop_condition else "none"
    command = [
        cli or "chaosaws-serverless",
        "fis-template",
        str(shipped_path(EXPERIMENTS, "region-failure.json")),
        "--var-file",
        str(lab.values_path),
        "--mode",
        mode,
        "--stop-alarm-arn",
        alarm,
        "--name",
        name,
    ]
    compiled = subprocess.run(
        command, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL
    )
    if compiled.returncode != 0:
        raise RuntimeError(f"fis-template failed: {compiled.stderr.strip()[-2000:]}")
    path = lab.output / TEMPLATE_FILE
    path.write_text(compiled.stdout, encoding="utf-8")
    (lab.output / "fis-template.log").write_text(compiled.stderr, encoding="utf-8")
    values = json.loads(lab.values_path.read_text(encoding="utf-8"))
    # stack.json's engines: FIS polled every second; the stop-condition run, judged by what
    # FIS leaves and not by the hypothesis, does not wait out the failover and its window.
    values["configuration"].update(lab.stack.engines.get("fis_experiment") or {})
    if stop_condition:
        values["configuration"].update(lab.stack.engines.get("stop_condition_run") or {})
    values["configuration"]["fis_template"] = str(path)
    lab.values_path.write_text(json.dumps(values, indent=2) + "\n", encoding="utf-8")
    return path


def prepare_fis_extension(lab: Lab) -> None:
    """The one-time steps ``fis-template --mode fis-extension`` prints, done on the US functions.

    A bucket for FIS's fault configurations, the AWS FIS Lambda extension's layer (the lab's
    stand-in: the gateways emulate it, :mod:`.fis_extension`), its wrapper and location.
    """
    import io
    import zipfile

    region = lab.deployment.regions[0]
    bucket = f"chaos-lab-fis-configs-{region}"
    s3, lam = _client(lab, "s3"), _client(lab, "lambda")
    s3.create_bucket(Bucket=bucket)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as layer_zip:
        layer_zip.writestr(
            "aws-fis/bootstrap", "#!/bin/sh\n# AWS FIS Lambda extension (lab stand-in)\n"
        )
    layer = lam.publish_layer_version(
        LayerName=f"{fis_extension.LAYER_NAME_PREFIX}-x86_64",
        Content={"ZipFile": archive.getvalue()},
        CompatibleArchitectures=["x86_64"],
    )["LayerVersionArn"]
    for name in lab.deployment.functions[region].values():
        config = lam.get_function_configuration(FunctionName=name)
        variables = dict((config.get("Environment") or {}).get("Variables") or {})
        variables.update(
            {
                "AWS_LAMBDA_EXEC_WRAPPER": fis_extension.WRAPPER,
                fis_extension.CONFIGURATION_VARIABLE: f"arn:aws:s3:::{bucket}/FisConfigs/",
            }
        )
        lam.update_function_configuration(
            FunctionName=name,
            Layers=[layer_["Arn"] for layer_ in config.get("Layers") or []] + [layer],
            Environment={"Variables": variables},
        )


def function_states(lab: Lab) -> dict[str, Any]:
    """Each US function as GetFunction and ListTags show it (without what changes by itself)."""
    lam = _client(lab, "lambda")
    states = {}
    for name in lab.deployment.functions[lab.deployment.regions[0]].values():
        function = lam.get_function(FunctionName=name)
        configuration = {k: v for k, v in function["Configuration"].items() if k not in _VOLATILE}
        tags = lam.list_tags(Resource=function["Configuration"]["FunctionArn"]).get("Tags")
        states[name] = {"configuration": configuration, "tags": tags or {}}
    return states


def modified(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """The functions whose state differs."""
    return sorted(name for name in before if before[name] != after.get(name))


def settle(lab: Lab, timeout_seconds: float = 180.0) -> bool:
    """Wait until no FIS experiment nor SSM automation still runs; False on timeout."""
    fis, ssm = _client(lab, "fis"), _client(lab, "ssm")
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        experiments = fis.list_experiments().get("experiments", [])
        live = [e for e in experiments if e["state"]["status"] not in _FINAL]
        automations = ssm.describe_automation_executions().get(
            "AutomationExecutionMetadataList", []
        )
        running = [a for a in automations if a["AutomationExecutionStatus"] in _RUNNING_AUTOMATION]
        if not live and not running:
            return True
        time.sleep(0.5)
    return False


_FINAL = ("completed", "stopped", "failed", "cancelled")


def last_experiment(lab: Lab) -> dict[str, Any] | None:
    """The newest FIS experiment of the run (state, reason, its actions' states)."""
    fis = _client(lab, "fis")
    experiments = fis.list_experiments().get("experiments", [])
    if not experiments:
        return None
    newest = max(experiments, key=lambda e: e["creationTime"])
    return dict(fis.get_experiment(id=newest["id"])["experiment"])
