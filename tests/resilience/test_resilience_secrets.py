"""No planted secret ever shows up in journals, reports, logs or command output.

Secrets are planted where they live in real life: in every function's
environment (``SECRET_TOKEN``), in the experiment's configuration and secrets
blocks (read from the environment, as experiments should), and in the AWS
credentials of the run. Every shipped experiment runs against the emulator
(each with its method and rollbacks; the reference one also as shipped, with
its hypothesis), with ``chaos --verbose`` so debug logs are included, then
``chaos report``, ``chaosaws-serverless rollback`` and ``lab``-free probes
print their output. Every file written and every byte printed is searched.
"""

import json
import secrets as random_secrets
import subprocess
from pathlib import Path

import boto3
import pytest

from tests.support.interruption import BIN, REPO, deploy_stack, environment

SHIPPED = sorted((REPO / "experiments").glob("*.json"))


def _run(command: list[str], cwd: Path, env: dict[str, str], timeout: float = 120) -> str:
    done = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    return f"$ {' '.join(command)}\n{done.stdout}{done.stderr}"


def _plant_in_experiment(experiment: dict, drop_hypothesis: bool) -> dict:
    experiment = json.loads(json.dumps(experiment))
    experiment["configuration"]["service_api_token"] = {
        "type": "env",
        "key": "PLANTED_CONFIG_SECRET",
    }
    experiment["secrets"] = {
        "service": {"api_key": {"type": "env", "key": "PLANTED_SECRETS_BLOCK"}}
    }
    if drop_hypothesis:
        experiment.pop("steady-state-hypothesis", None)
    return experiment


def test_no_planted_secret_leaks_from_any_shipped_experiment(
    moto_server: str, tmp_path: Path
) -> None:
    assert len(SHIPPED) >= 4, SHIPPED
    stack = deploy_stack(moto_server, tmp_path)
    values = json.loads(stack.values_path.read_text())
    values["configuration"].update(
        failover_timeout_seconds=2,
        fault_duration_seconds=1,
        post_failover_pause_seconds=1,
        fis_timeout_seconds=30,
    )
    stack.values_path.write_text(json.dumps(values))
    hello = values["configuration"]["us_hello_function"]
    lam = boto3.client("lambda", region_name="us-east-1", endpoint_url=moto_server)
    version = lam.publish_version(FunctionName=hello)["Version"]
    lam.create_alias(FunctionName=hello, Name="canary", FunctionVersion=version)

    planted = {
        "function environment": stack.secret,
        "configuration": "cfg-" + random_secrets.token_hex(12),
        "secrets block": "blk-" + random_secrets.token_hex(12),
        "AWS secret key": "aws-" + random_secrets.token_hex(12),
    }
    env = environment(moto_server)
    env.update(
        PLANTED_CONFIG_SECRET=planted["configuration"],
        PLANTED_SECRETS_BLOCK=planted["secrets block"],
        AWS_SECRET_ACCESS_KEY=planted["AWS secret key"],
    )
    fis = subprocess.run(
        [
            str(BIN / "chaosaws-serverless"),
            "fis-template",
            "--var-file",
            str(stack.values_path),
            "--role-arn",
            "arn:aws:iam::123456789012:role/fis",
            "--automation-role-arn",
            "arn:aws:iam::123456789012:role/ssm",
            "--name",
            "chaosaws-serverless-region-failure",
            "--stop-alarm-arn",  # the lab has no alarm: no stop condition, said explicitly
            "none",
            str(REPO / "experiments" / "region-failure.json"),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    (tmp_path / "fis-region-failure.json").write_text(fis.stdout)
    chaos = [str(BIN / "chaos"), "--no-version-check", "--verbose", "--settings", "settings.yaml"]
    outputs: list[str] = [fis.stdout + fis.stderr]
    journals: list[Path] = []
    for source in SHIPPED:
        shipped = json.loads(source.read_text())
        variants = [("method", True)] + (
            [("asis", False)] if source.stem == "region-failure" else []
        )
        for variant, drop in variants:
            experiment = tmp_path / f"{source.stem}-{variant}.json"
            experiment.write_text(json.dumps(_plant_in_experiment(shipped, drop)))
            journal = tmp_path / f"{source.stem}-{variant}.journal.json"
            outputs.append(
                _run(
                    [
                        *chaos,
                        "--log-file",
                        str(journal.with_suffix(".log")),
                        "run",
                        "--var-file",
                        str(stack.values_path),
                        "--rollback-strategy",
                        "always",
                        "--journal-path",
                        str(journal),
                        "--control-file",
                        "controls.yaml",
                        str(experiment),
                    ],
                    tmp_path,
                    env,
                )
            )
            if journal.exists():
                journals.append(journal)
    assert len(journals) >= len(SHIPPED), "\n".join(outputs)[-5000:]
    ran = [
        run["activity"]["provider"].get("func")
        for journal in journals
        for run in json.loads(journal.read_text()).get("run") or []
    ]
    assert {"inject_latency", "inject_error", "get_fault_state"} <= set(ran), ran

    outputs.append(
        _run(
            [*chaos, "report", "--export-format=html", *map(str, journals), "report.html"],
            tmp_path,
            env,
            timeout=180,
        )
    )
    outputs.append(
        _run(
            [str(BIN / "chaosaws-serverless"), "rollback", "--endpoint-url", moto_server],
            tmp_path,
            env,
        )
    )
    (tmp_path / "command-output.txt").write_text("\n".join(outputs))

    searched = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "report.html" for p in searched), outputs[-2]
    leaks = [
        f"{where} in {path.name}"
        for path in searched
        for where, value in planted.items()
        if value in path.read_text(encoding="utf-8", errors="replace")
    ]
    assert leaks == [], leaks


@pytest.mark.parametrize("func", ["get_fault_state", "fault_is_injected"])
def test_lambda_probe_outputs_hold_no_environment_value(configuration: dict, func: str) -> None:
    from chaosaws_serverless.awslambda import actions, probes
    from tests.support.flaky import create_fleet

    fleet = create_fleet(configuration["aws_endpoint_url"], 1, secret="planted-7f3b9c")
    name = fleet.names[0]
    injected = actions.inject_error(
        name, 503, None, 0.5, "us-east-1", None, fleet.chaos_layer, configuration=configuration
    )
    state = getattr(probes, func)(name, "us-east-1", configuration=configuration)
    removed = actions.remove_faults(name, "us-east-1", configuration=configuration)
    for output in (injected, state, removed):
        assert "planted-7f3b9c" not in json.dumps(output, default=str)
