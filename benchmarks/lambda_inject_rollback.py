"""Inject + rollback on 20 functions x 2 regions: this package vs chaostoolkit-aws, one run.

Command (what produced the figures in the README):

    .venv/bin/pip install -e '.[lab,bench]'
    .venv/bin/python benchmarks/lambda_inject_rollback.py

What it does (about 10-20 s, nothing leaves 127.0.0.1):

1. starts a moto server on 127.0.0.1 (a free port) and deploys, in us-east-1 and
   eu-west-1, the chaos extension layer, an unrelated layer ("powertools") and 20
   functions that already use that layer and hold two environment variables;
2. ours: ``inject_latency`` then ``remove_faults`` on every function (sequential);
3. ours, emergency stop: ``inject_latency`` on every function, then one
   ``remove_all_faults`` (what ``chaosaws-serverless rollback`` runs);
4. chaostoolkit-aws: ``chaosaws.awslambda.actions.add_latency`` then ``remove_latency``
   on the same functions;
5. after each phase, compares every function's layers and environment with its
   original configuration, and prints one table.

API calls are counted with a botocore ``before-send`` hook on every client involved
(each HTTP attempt counts, retries included). Wall time is for the whole phase on
this machine against the in-process emulator (moto answers every update as
``Successful`` at once, so our ``function_updated_v2`` wait costs no poll here; on
AWS it adds one or more GetFunction polls per update, and chaostoolkit-aws's
rollback would meet ``ResourceConflictException`` when it runs while an update is
still in progress, since it never waits).

Options: ``--functions`` per region (default 20), ``--regions`` (default
us-east-1,eu-west-1), ``--repeat`` rounds (default 3; every function is reset to its
original configuration after each phase, the phase order rotates, wall time is the
median). Calls and restore checks are the last round's (they do not vary).
"""

import argparse
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import boto3
import logzero

# On import: fake credentials and no way to a real account, before any client is made.
from _emulated_aws import ORIGINAL_ENV, Calls, code_zip


def deploy(url: str, regions: list[str], count: int) -> dict[str, dict[str, Any]]:
    """Create layers and functions; return region -> {chaos, other, functions}."""
    iam = boto3.client("iam", region_name=regions[0], endpoint_url=url)
    role = iam.create_role(RoleName="bench-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    stacks = {}
    for region in regions:
        lam = boto3.client("lambda", region_name=region, endpoint_url=url)
        layer = lam.publish_layer_version
        chaos = layer(
            LayerName="chaos-lambda-extension",
            Content={"ZipFile": code_zip()},
            CompatibleArchitectures=["x86_64"],
        )["LayerVersionArn"]
        other = layer(LayerName="powertools", Content={"ZipFile": code_zip()})["LayerVersionArn"]
        names = []
        for i in range(count):
            name = f"bench-{i:02d}"
            lam.create_function(
                FunctionName=name,
                Runtime="python3.12",
                Role=role,
                Handler="app.handler",
                Code={"ZipFile": code_zip()},
                Layers=[other],
                Environment={"Variables": dict(ORIGINAL_ENV)},
                Tags={"team": "bench"},
            )
            names.append(name)
        stacks[region] = {"chaos": chaos, "other": other, "functions": names, "client": lam}
    return stacks


def check(stacks: dict[str, dict[str, Any]]) -> dict[str, int]:
    """Compare every function with its original configuration."""
    exact = dropped = leftovers = 0
    for stack in stacks.values():
        for name in stack["functions"]:
            config = stack["client"].get_function(FunctionName=name)["Configuration"]
            layers = [layer["Arn"] for layer in config.get("Layers") or []]
            env = (config.get("Environment") or {}).get("Variables") or {}
            exact += layers == [stack["other"]] and env == ORIGINAL_ENV
            dropped += stack["other"] not in layers
            leftovers += len(set(env) - set(ORIGINAL_ENV))
    return {"exact": exact, "dropped": dropped, "leftovers": leftovers}


def layers_during(stacks: dict[str, dict[str, Any]]) -> int:
    """Return how many functions lost their own layer while the fault was on."""
    return sum(
        stack["other"]
        not in [
            layer["Arn"]
            for layer in stack["client"]
            .get_function(FunctionName=name)["Configuration"]
            .get("Layers")
            or []
        ]
        for stack in stacks.values()
        for name in stack["functions"]
    )


def timed(step: Callable[[], None]) -> float:
    start = time.perf_counter()
    step()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--functions", type=int, default=20)
    parser.add_argument("--regions", default="us-east-1,eu-west-1")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; wall time is the median")
    args = parser.parse_args()
    regions = [r.strip() for r in args.regions.split(",") if r.strip()]
    logzero.loglevel(logzero.logging.WARNING)

    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    os.environ["AWS_ENDPOINT_URL"] = url  # chaostoolkit-aws has no endpoint setting
    try:
        rows = run(url, regions, args.functions, args.repeat)
    finally:
        server.stop()
    total = args.functions * len(regions)
    header = (
        f"{'tool / phase':<50} {'calls/fn':>8} {'wall s':>7} {'ms/fn':>6} "
        f"{'own layer lost during fault':>27} {'exact restore':>13} {'leftover vars':>13}"
    )
    print(
        f"\n{args.functions} functions x {len(regions)} regions ({total} functions), "
        f"moto server {url}\n"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row['name']:<50} {row['calls'] / total:>8.1f} {row['wall']:>7.2f} "
            f"{1000 * row['wall'] / total:>6.1f} {row['lost']:>23}/{total:<3} "
            f"{row['exact']:>9}/{total:<3} {row['leftovers']:>13}"
        )
    reference = rows[-1]["wall"]
    print()
    for row in rows[:-1]:
        print(f"{row['name']}: wall time x{row['wall'] / reference:.2f} of chaostoolkit-aws's")
    for row in rows:
        detail = ", ".join(f"{op} {n / total:g}" for op, n in sorted(row["ops"].items()))
        print(f"{row['name']}: {detail} (per function)")


def reset(stacks: dict[str, dict[str, Any]]) -> None:
    """Put every function back to its original configuration (uncounted client)."""
    for stack in stacks.values():
        for name in stack["functions"]:
            stack["client"].update_function_configuration(
                FunctionName=name,
                Layers=[stack["other"]],
                Environment={"Variables": dict(ORIGINAL_ENV)},
            )


def run(url: str, regions: list[str], count: int, repeat: int) -> list[dict[str, Any]]:
    from chaosaws.awslambda import actions as ctk

    from chaosaws_serverless.aws import client
    from chaosaws_serverless.awslambda import actions as ours

    stacks = deploy(url, regions, count)
    calls = Calls()
    configuration = {
        "aws_region": regions[0],
        "aws_regions": regions,
        "aws_endpoint_url": url,
        "chaos_layer_arns": {region: stacks[region]["chaos"] for region in regions},
    }
    for region in regions:
        calls.watch(client("lambda", region, configuration).meta.events)
    boto3.setup_default_session()
    assert boto3.DEFAULT_SESSION is not None
    calls.watch(boto3.DEFAULT_SESSION.events)  # chaostoolkit-aws's clients copy these hooks

    def every(action: Callable[[str, str], Any]) -> Callable[[], None]:
        def step() -> None:
            for region, stack in stacks.items():
                for name in stack["functions"]:
                    action(region, name)

        return step

    ours_inject = every(
        lambda r, n: ours.inject_latency(n, 60000, region=r, configuration=configuration)
    )
    phases: dict[str, tuple[Callable[[], None], Callable[[], None]]] = {
        "chaosaws-serverless inject_latency+remove_faults": (
            ours_inject,
            every(lambda r, n: ours.remove_faults(n, region=r, configuration=configuration)),
        ),
        "chaosaws-serverless inject+remove_all_faults": (
            ours_inject,
            lambda: ours.remove_all_faults(configuration=configuration),
        ),
        "chaostoolkit-aws add_latency+remove_latency": (
            every(
                lambda r, n: ctk.add_latency(
                    n,
                    latency=60,
                    probability=1.0,
                    layer=stacks[r]["chaos"],
                    configuration={"aws_region": r},
                )
            ),
            every(
                lambda r, n: ctk.remove_latency(
                    n, layer=stacks[r]["chaos"], configuration={"aws_region": r}
                )
            ),
        ),
    }
    results: dict[str, dict[str, Any]] = {name: {"walls": []} for name in phases}
    names = list(phases)
    for round_ in range(repeat):
        # Rotate the order so warm-up and emulator growth do not favour one tool.
        for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
            inject, rollback = phases[name]
            calls.take()
            wall = timed(inject)
            lost = layers_during(stacks)
            wall += timed(rollback)
            ops = calls.take()
            row = results[name]
            row["walls"].append(wall)
            row.update(name=name, calls=sum(ops.values()), ops=ops, lost=lost, **check(stacks))
            reset(stacks)
    for row in results.values():
        row["wall"] = statistics.median(row["walls"])
    return list(results.values())


if __name__ == "__main__":
    main()
