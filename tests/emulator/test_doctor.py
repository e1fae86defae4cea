"""The doctor's read-only checks against the moto server, judged by what the actions then do."""

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from chaoslib.exceptions import ActivityFailed
from click.testing import CliRunner

from chaosaws_serverless.awslambda import actions
from chaosaws_serverless.cli import main
from chaosaws_serverless.doctor.checks import read_only_checks
from chaosaws_serverless.doctor.runner import run_doctor
from tests.support.lambdas import World
from tests.support.metrics import URL, traffic
from tests.support.route53 import NAME, reference_zone

US, EU = "us-east-1", "eu-west-1"
WRAPPER = "AWS_LAMBDA_EXEC_WRAPPER"


def provider(module: str, func: str, **arguments: Any) -> dict[str, Any]:
    return {
        "type": "python",
        "module": f"chaosaws_serverless.{module}",
        "func": func,
        "arguments": arguments,
    }


def experiment(zone_id: str, checks: dict[str, str], functions: list[str]) -> dict[str, Any]:
    return {
        "title": "doctor test",
        "description": "d",
        "configuration": {"api_url": URL},
        "steady-state-hypothesis": {
            "title": "ok",
            "probes": [
                {
                    "type": "probe",
                    "name": "eu-healthy",
                    "tolerance": True,
                    "provider": provider(
                        "route53.probes", "health_check_is_healthy", health_check_id=checks[EU]
                    ),
                },
                {
                    "type": "probe",
                    "name": "us-errors",
                    "tolerance": {"type": "range", "range": [0, 0.05]},
                    "provider": provider(
                        "cloudwatch.probes",
                        "get_error_ratio",
                        url="${api_url}",
                        window_seconds=60,
                        client_region=US,
                    ),
                },
            ],
        },
        "method": [
            *(
                {
                    "type": "action",
                    "name": f"slow-{name}",
                    "provider": provider(
                        "awslambda.actions",
                        "inject_latency",
                        function_name=name,
                        latency_ms=5000,
                        region=US,
                    ),
                }
                for name in functions
            ),
            {
                "type": "probe",
                "name": "failover",
                "provider": provider(
                    "route53.probes",
                    "wait_for_failover",
                    hosted_zone_id=zone_id,
                    record_name=NAME,
                    client_region=US,
                    from_region=US,
                    timeout_seconds=60,
                ),
            },
        ],
        "rollbacks": [
            {
                "type": "action",
                "name": f"restore-{name}",
                "provider": provider(
                    "awslambda.actions", "remove_faults", function_name=name, region=US
                ),
            }
            for name in functions
        ],
    }


@pytest.fixture
def world(aws: Callable[..., Any], configuration: dict[str, Any]) -> World:
    w = World(aws, configuration)
    w.layer(US, CompatibleArchitectures=["x86_64"])
    return w


def verdicts(checks: list[Any]) -> dict[tuple[str, str], str]:
    return {(c.check, c.target): c.verdict for c in checks}


def test_a_sound_account_passes_every_check(
    world: World, aws: Callable[..., Any], configuration: dict[str, Any]
) -> None:
    world.function("api-hello")
    zone_id, checks = reference_zone(aws)
    traffic(aws)
    result = read_only_checks(experiment(zone_id, checks, ["api-hello"]), configuration)
    by_check = verdicts(result)
    assert by_check[("credentials", "sts")] == "pass"
    assert by_check[("chaos layer", US)] == "pass"
    assert by_check[("latency target", f"api-hello ({US})")] == "pass"
    assert by_check[("route53 failover", f"{NAME} in {zone_id}")] == "pass"
    # moto has no policy simulator: the doctor says it did not check, it does not pass it.
    assert [c.verdict for c in result if c.check == "permissions"] == ["skip"]
    assert [c.verdict for c in result if c.check == "metric data"] == ["pass", "pass"], result
    assert not [c for c in result if c.verdict == "fail"], result


def test_misconfigured_health_check_is_named(
    world: World, aws: Callable[..., Any], configuration: dict[str, Any]
) -> None:
    world.function("api-hello")
    zone_id, checks = reference_zone(aws, us_check_domain="example.eu.mydomain.com")
    traffic(aws)
    failing = [
        c
        for c in read_only_checks(experiment(zone_id, checks, ["api-hello"]), configuration)
        if c.verdict == "fail"
    ]
    assert [c.check for c in failing] == ["route53 failover"]
    assert checks[US] in failing[0].detail and "example.eu.mydomain.com" in failing[0].detail


def _bad_functions(world: World) -> dict[str, str]:
    """Functions AWS would not let the fault go on, each with the word the refusal must name."""
    other_layers = [
        world.layer(US, name=f"other-{i}", CompatibleArchitectures=["x86_64"]) for i in range(5)
    ]
    world.function("five-layers", layers=other_layers)  # Lambda allows 5 layers per function
    world.function("other-wrapper", env={WRAPPER: "/opt/otel-instrument"})
    world.function("arm", Architectures=["arm64"])
    world.function("no-tag-room", tags={f"t{i}": "v" for i in range(50)})  # 50 tags per function
    world.function("big-env", env={"BLOB": "x" * 4000})  # 4 KB of variables per function
    return {
        "five-layers": "layers",
        "other-wrapper": "/opt/otel-instrument",
        "arm": "arm64",
        "no-tag-room": "tags",
        "big-env": "bytes",
    }


def test_doctor_fails_exactly_where_the_action_refuses(
    world: World, aws: Callable[..., Any], configuration: dict[str, Any]
) -> None:
    bad = _bad_functions(world)
    world.function("fine")
    zone_id, checks = reference_zone(aws)
    traffic(aws)
    names = [*bad, "fine"]
    result = read_only_checks(experiment(zone_id, checks, names), configuration)
    targets = {c.target.split(" ")[0]: c for c in result if c.check == "latency target"}
    for name, word in bad.items():
        assert targets[name].verdict == "fail", targets[name]
        assert word in targets[name].detail
        before = world.config(name)
        with pytest.raises(ActivityFailed) as refused:
            actions.inject_latency(name, 5000, region=US, configuration=configuration)
        # The doctor quotes the action's own refusal, and the action changed nothing.
        assert str(refused.value).split("; ")[0].split(": ", 1)[-1] in targets[name].detail
        after = world.config(name)
        assert after["Configuration"].get("Layers") == before["Configuration"].get("Layers")
        assert after.get("Tags") == before.get("Tags")
    assert targets["fine"].verdict == "pass"
    actions.inject_latency("fine", 5000, region=US, configuration=configuration)
    actions.remove_faults("fine", region=US, configuration=configuration)


def test_another_runs_fault_fails_the_doctor(
    world: World, aws: Callable[..., Any], configuration: dict[str, Any]
) -> None:
    world.function("api-hello")
    zone_id, checks = reference_zone(aws)
    traffic(aws)
    exp = experiment(zone_id, checks, ["api-hello"])
    actions.inject_error("api-hello", region=US, configuration=configuration)
    # Inside the run that injected it (the probe after the method), its own fault is no refusal.
    own = verdicts(read_only_checks(exp, configuration))
    assert own[("latency target", f"api-hello ({US})")] == "pass"
    # Another process (the CLI a colleague runs) would be refused.
    from chaosaws_serverless.awslambda import faults

    original = faults.injector
    faults.injector = lambda: "someone@else pid 1"  # type: ignore[assignment]  # another process's identity
    try:
        other = [c for c in read_only_checks(exp, configuration) if c.check == "latency target"]
    finally:
        faults.injector = original  # type: ignore[assignment]  # restore
    assert other[0].verdict == "fail" and "already carries a error fault" in other[0].detail
    actions.remove_faults("api-hello", region=US, configuration=configuration)


def test_missing_layer_unknown_function_and_no_data_fail(
    aws: Callable[..., Any], configuration: dict[str, Any]
) -> None:
    World(aws, configuration)  # the role only: no layer, no function
    configuration["chaos_layer_arns"] = {
        US: f"arn:aws:lambda:{US}:123456789012:layer:chaos-lambda-extension:9"
    }
    zone_id, checks = reference_zone(aws)
    result = read_only_checks(experiment(zone_id, checks, ["nowhere"]), configuration)
    failing = {c.check: c.detail for c in result if c.verdict == "fail"}
    assert "lambda:GetLayerVersion" in failing["chaos layer"]
    assert "nowhere" in failing["latency target"] or "chaos layer" in failing["latency target"]
    assert failing["metric data"].startswith("no data")


def test_no_data_only_warns_when_the_experiment_starts_the_load(
    world: World, aws: Callable[..., Any], configuration: dict[str, Any]
) -> None:
    world.function("api-hello")
    zone_id, checks = reference_zone(aws)
    exp = experiment(zone_id, checks, ["api-hello"])
    exp["method"].insert(
        0,
        {
            "type": "action",
            "name": "customers",
            "background": True,
            "provider": provider(
                "loadgen.actions", "generate_load", url=URL, rate_per_second=1, duration_seconds=1
            ),
        },
    )
    metric = [c for c in read_only_checks(exp, configuration) if c.check == "metric data"]
    assert [c.verdict for c in metric if "get_error_ratio" in c.target] == ["warn"]


def test_cli_table_json_and_exit_codes(
    world: World,
    aws: Callable[..., Any],
    configuration: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world.function("api-hello")
    good_zone, good_checks = reference_zone(aws)
    traffic(aws)
    path = tmp_path / "experiment.json"
    path.write_text(json.dumps(experiment(good_zone, good_checks, ["api-hello"])))
    values = tmp_path / "values.json"
    values.write_text(
        json.dumps({"configuration": {"chaos_layer_arns": configuration["chaos_layer_arns"]}})
    )
    env = tmp_path / "lab.env"
    env.write_text(f"AWS_ENDPOINT_URL={configuration['aws_endpoint_url']}\n")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    runner = CliRunner()
    args = ["doctor", str(path), "--var-file", str(values), "--var-file", str(env)]
    table = runner.invoke(main, args)
    assert table.exit_code == 0, table.output
    assert "PASS" in table.output and "route53 failover" in table.output
    as_json = runner.invoke(main, [*args, "--json"])
    report = json.loads(as_json.stdout)
    assert report["ok"] is True and report["failed"] == 0
    # The same experiment against a function that is not there: exit 1, and the JSON says why.
    path.write_text(json.dumps(experiment(good_zone, good_checks, ["gone"])))
    failing = runner.invoke(main, [*args, "--json"])
    assert failing.exit_code == 1
    assert [
        c["target"] for c in json.loads(failing.stdout)["checks"] if c["verdict"] == "fail"
    ] == [f"gone ({US})"]


def test_without_experiment_checks_credentials_and_layers(
    world: World, configuration: dict[str, Any]
) -> None:
    checks = run_doctor(None, configuration, regions=[US, EU])
    assert verdicts(checks)[("chaos layer", US)] == "pass"
    assert verdicts(checks)[("chaos layer", EU)] == "fail"  # no layer ARN configured for EU


def test_doctor_passes_probe_follows_the_doctor(
    world: World, aws: Callable[..., Any], configuration: dict[str, Any], tmp_path: Path
) -> None:
    from chaosaws_serverless.doctor.probes import doctor_passes

    world.function("api-hello")
    traffic(aws)
    good_zone, good_checks = reference_zone(aws)
    path = tmp_path / "experiment.json"
    path.write_text(json.dumps(experiment(good_zone, good_checks, ["api-hello"])))
    assert doctor_passes(str(path), configuration=configuration) is True
    bad_zone, bad_checks = reference_zone(aws, us_check_domain="example.eu.mydomain.com")
    path.write_text(json.dumps(experiment(bad_zone, bad_checks, ["api-hello"])))
    assert doctor_passes(str(path), configuration=configuration) is False


def tag_experiment(tags: dict[str, str], selection: str = "ALL") -> dict[str, Any]:
    arguments = {"tags": tags, "latency_ms": 5000, "selection": selection, "region": US}
    return {
        "title": "tags",
        "description": "d",
        "method": [
            {
                "type": "action",
                "name": "slow-checkout",
                "provider": provider("awslambda.actions", "inject_latency_by_tags", **arguments),
            }
        ],
    }


def test_tag_targets_are_judged_by_the_injection_s_own_checks(
    world: World, configuration: dict[str, Any]
) -> None:
    """The doctor was blind to inject_*_by_tags: an unsuitable function in the selection, or
    tags matching nothing, passed. Judged by what the action itself then does."""
    names = [f"checkout-{i}" for i in range(3)]
    for name in names:
        world.function(name, env={"N": name}, tags={"service": "checkout"})
    world.set_env({"N": names[1], WRAPPER: "/opt/other"}, name=names[1])
    tags = {"service": "checkout"}

    def tag_check(experiment: dict[str, Any]) -> Any:
        checks = read_only_checks(experiment, configuration, regions=[US])
        return next(c for c in checks if c.check == "latency tag target")

    # COUNT(1) may pick the unsuitable one: the doctor judges every candidate.
    check = tag_check(tag_experiment(tags, "COUNT(1)"))
    assert check.verdict == "fail" and names[1] in check.detail and "/opt/other" in check.detail
    assert check.measured == {"matched": 3, "selected": 1}
    with pytest.raises(ActivityFailed, match=names[1]):
        actions.inject_latency_by_tags(tags, 5000, "ALL", region=US, configuration=configuration)
    # Tags that match nothing: the action's own refusal, before anything changes.
    check = tag_check(tag_experiment({"service": "nobody"}))
    assert check.verdict == "fail" and "no function carries tags service=nobody" in check.detail
    with pytest.raises(ActivityFailed, match="no function carries tags service=nobody"):
        actions.inject_latency_by_tags(
            {"service": "nobody"}, 5000, region=US, configuration=configuration
        )
    # Every candidate suitable: the doctor passes, and the action goes ahead on all of them.
    world.set_env({"N": names[1]}, name=names[1])
    assert tag_check(tag_experiment(tags)).verdict == "pass"
    done = actions.inject_latency_by_tags(tags, 5000, region=US, configuration=configuration)
    assert done["functions"] == names
    actions.remove_faults_by_tags(tags, region=US, configuration=configuration)


def test_arguments_the_actions_refuse_are_a_failed_line_not_a_traceback(
    world: World, configuration: dict[str, Any]
) -> None:
    experiment = tag_experiment({"service": "checkout"})
    experiment["method"][0]["provider"]["arguments"]["region"] = "us east 1"
    checks = read_only_checks(experiment, configuration)
    refused = [c for c in checks if c.check == "arguments"]
    assert [c.verdict for c in refused] == ["fail"] and "'us east 1'" in refused[0].detail
