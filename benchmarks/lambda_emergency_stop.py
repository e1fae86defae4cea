"""The emergency stop at account scale: yesterday's listing against the tagging API, one run.

Command (what produced the figures in the README):

    .venv/bin/python benchmarks/lambda_emergency_stop.py

What it does (nothing leaves 127.0.0.1):

1. starts a moto server on 127.0.0.1 (a free port) and creates, in us-east-1,
   eu-west-1 and ap-southeast-2, 1,000 functions each (threads, over HTTP),
   each with a layer, two environment variables and a ``team`` tag;
2. injects ``inject_latency`` into 10 functions per region (30), spread over
   the account, and snapshots every function's layers, environment and tags;
3. "today": the emergency stop as it was before (``remove_all_faults`` at
   16b7792, kept verbatim below as ``todays_stop``): for each region in turn,
   ListFunctions, one ListTags per function, then ``remove_faults`` on each
   function found, one after another;
4. injects the same 30 faults again (uncounted) and runs the new
   ``remove_all_faults``: regions in parallel, ``tag:GetResources`` with the
   record key filter, restores in a pool of 4 per region;
5. after each, compares every one of the 3,000 functions with its snapshot
   (the 30 restored exactly, the 2,970 others untouched), and prints one table.

API calls are counted with a botocore ``before-send`` hook on every client the
package uses (each HTTP attempt counts, retries included). moto answers
ListFunctions in one page where AWS pages by 50 (20 calls per 1,000
functions), which only flatters "today" by 19 calls per region. Wall
time is measured on this machine against the in-process emulator, where a
call costs a millisecond or two: on AWS each call costs tens of milliseconds
and ListTags/UpdateFunctionConfiguration/UntagResource share a 15 requests/s
control-plane quota per region, so the difference in calls is what decides
the stop's duration there (3,000 ListTags alone need 200 s at that rate).

Options: ``--functions`` per region (default 1000), ``--faulty`` per region
(default 10), ``--regions`` (default us-east-1,eu-west-1,ap-southeast-2),
``--workers`` creating functions (default 16).
"""

import argparse
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Optional

import boto3
import logzero

# On import: fake credentials and no way to a real account, before any client is made.
from _emulated_aws import ORIGINAL_ENV, Calls, code_zip
from botocore.config import Config

# --- the emergency stop before this change (remove_all_faults at 16b7792), verbatim ------


def todays_injected_functions(region: str, configuration: Any) -> list[str]:
    """Return the names of the functions of ``region`` that carry a fault record."""
    from chaosaws_serverless.aws import client
    from chaosaws_serverless.awslambda.engine import call
    from chaosaws_serverless.awslambda.engine.record import record_keys

    lam = client("lambda", region, configuration, None)
    names = []
    marker: Optional[str] = None
    while True:
        params: dict[str, Any] = {"Marker": marker} if marker else {}
        page = call(
            lam, "list_functions", "lambda:ListFunctions", f"functions in {region}", **params
        )
        for function in page.get("Functions", []):
            arn = function["FunctionArn"]
            tags = call(
                lam,
                "list_tags",
                "lambda:ListTags",
                f"function {function['FunctionName']!r} in {region}",
                Resource=arn[: -len(":$LATEST")] if arn.endswith(":$LATEST") else arn,
            ).get("Tags", {})
            if record_keys(tags):
                names.append(function["FunctionName"])
        marker = page.get("NextMarker")
        if not marker:
            return names


def todays_stop(regions: list[str], configuration: Any) -> list[dict[str, Any]]:
    """Restore every function carrying a fault record, region after region, one by one."""
    from chaosaws_serverless.awslambda import faults

    reports = []
    for region in regions:
        for name in todays_injected_functions(region, configuration):
            reports.append(faults.remove(name, region, None, configuration, None))
    return reports


# --- the account ------------------------------------------------------------------------


def deploy(url: str, regions: list[str], count: int, workers: int) -> dict[str, Any]:
    """Create layers and ``count`` functions per region in threads; return region -> stack."""
    config = Config(max_pool_connections=workers, retries={"mode": "standard"})
    iam = boto3.client("iam", region_name=regions[0], endpoint_url=url)
    role = iam.create_role(RoleName="bench-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    code = code_zip()
    stacks = {}
    for region in regions:
        lam = boto3.client("lambda", region_name=region, endpoint_url=url, config=config)
        chaos = lam.publish_layer_version(
            LayerName="chaos-lambda-extension",
            Content={"ZipFile": code},
            CompatibleArchitectures=["x86_64"],
        )["LayerVersionArn"]
        other = lam.publish_layer_version(LayerName="powertools", Content={"ZipFile": code})[
            "LayerVersionArn"
        ]
        stacks[region] = {
            "client": lam,
            "chaos": chaos,
            "other": other,
            "functions": [f"svc-{i:04d}" for i in range(count)],
        }

    def create(job: tuple[str, str]) -> None:
        region, name = job
        stacks[region]["client"].create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role,
            Handler="app.handler",
            Code={"ZipFile": code},
            Layers=[stacks[region]["other"]],
            Environment={"Variables": dict(ORIGINAL_ENV)},
            Tags={"team": "bench"},
        )

    jobs = [(region, name) for region in regions for name in stacks[region]["functions"]]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(create, jobs))
    return stacks


def snapshot(stacks: dict[str, Any], workers: int) -> dict[tuple[str, str], Any]:
    """Return every function's layers, environment and tags (uncounted client)."""

    def read(job: tuple[str, str]) -> tuple[tuple[str, str], Any]:
        region, name = job
        answer = stacks[region]["client"].get_function(FunctionName=name)
        config = answer["Configuration"]
        return job, (
            [layer["Arn"] for layer in config.get("Layers") or []],
            (config.get("Environment") or {}).get("Variables") or {},
            answer.get("Tags") or {},
        )

    jobs = [(region, name) for region, stack in stacks.items() for name in stack["functions"]]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return dict(pool.map(read, jobs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--functions", type=int, default=1000)
    parser.add_argument("--faulty", type=int, default=10)
    parser.add_argument("--regions", default="us-east-1,eu-west-1,ap-southeast-2")
    parser.add_argument("--workers", type=int, default=16)
    args = parser.parse_args()
    regions = [r.strip() for r in args.regions.split(",") if r.strip()]
    logzero.loglevel(logging.ERROR)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    try:
        run(url, regions, args.functions, args.faulty, args.workers)
    finally:
        server.stop()


def run(url: str, regions: list[str], count: int, faulty: int, workers: int) -> None:
    from chaosaws_serverless.aws import client
    from chaosaws_serverless.awslambda import actions

    started = time.perf_counter()
    stacks = deploy(url, regions, count, workers)
    created = time.perf_counter() - started
    total = count * len(regions)
    print(f"\n{total:,} functions created in {created:.1f} s ({workers} threads), moto {url}")

    configuration = {
        "aws_region": regions[0],
        "aws_regions": regions,
        "aws_endpoint_url": url,
        "chaos_layer_arns": {region: stacks[region]["chaos"] for region in regions},
    }
    calls = Calls()
    for region in regions:
        for service in ("lambda", "resourcegroupstaggingapi"):
            calls.watch(client(service, region, configuration).meta.events)
    step = max(1, count // faulty)
    targets = [(r, stacks[r]["functions"][i * step]) for r in regions for i in range(faulty)]
    before = snapshot(stacks, workers)

    def inject() -> None:
        def one(job: tuple[str, str]) -> None:
            actions.inject_latency(job[1], 60000, region=job[0], configuration=configuration)

        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(one, targets))
        calls.take()  # the injections are not part of the stop

    def check(restored: set[tuple[str, str]]) -> tuple[int, int]:
        after = snapshot(stacks, workers)
        exact = sum(after[job] == before[job] for job in targets)
        changed = sum(after[job] != before[job] for job in after if job not in set(targets))
        assert restored == set(targets), sorted(set(targets) ^ restored)[:5]
        return exact, changed

    rows = []
    inject()
    wall = time.perf_counter()
    reports = todays_stop(regions, configuration)
    wall = time.perf_counter() - wall
    ops = calls.take()
    exact, changed = check({(r["region"], r["function_name"]) for r in reports})
    rows.append(("today: list + ListTags each, sequential", ops, wall, exact, changed, None))

    inject()
    wall = time.perf_counter()
    result = actions.remove_all_faults(configuration=configuration)
    wall = time.perf_counter() - wall
    ops = calls.take()
    exact, changed = check({(r["region"], r["function_name"]) for r in result["functions"]})
    new = "new: tagging API, regions + restores parallel"
    rows.append((new, ops, wall, exact, changed, result))

    header = (
        f"{'emergency stop':<48} {'API calls':>9} {'wall s':>7} {'restored exactly':>16} "
        f"{'others changed':>14}"
    )
    print(f"{faulty * len(regions)} functions with a fault among {total:,}\n")
    print(header)
    print("-" * len(header))
    for name, ops, wall, exact, changed, _ in rows:
        print(
            f"{name:<48} {sum(ops.values()):>9,} {wall:>7.2f} "
            f"{exact:>12}/{len(targets):<3} {changed:>14}"
        )
    (_, old_ops, old_wall, *_), (_, new_ops, new_wall, *_) = rows
    print(
        f"\nnew vs today: {sum(old_ops.values()) / sum(new_ops.values()):.1f}x fewer API calls, "
        f"{old_wall / new_wall:.1f}x less wall time"
    )
    for name, ops, *_ in rows:
        print(f"{name}: " + ", ".join(f"{op} {n:,}" for op, n in sorted(ops.items())))
    print("\nnew stop, per region:")
    for summary in rows[-1][-1]["regions"]:
        print(
            f"  {summary['region']:<15} path {summary['path']:<12} examined "
            f"{summary['examined']:>4}  found {summary['found']:>3}  restored "
            f"{summary['restored']:>3}  failed {summary['failed']}"
        )


if __name__ == "__main__":
    main()
