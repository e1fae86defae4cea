"""Inject → rollback rounds on many functions at once, through the fault proxy.

Functions are created directly on the emulator with what makes a rollback
hard: layers already attached, a planted secret and other variables, and for
some an alias ``live`` on a published version (the alias flow publishes a
faulty version and must delete it again). A round runs, for every function in
parallel threads (the way background activities run), ``inject_latency`` or
``inject_error`` and then ``remove_faults``, with the package's activities
talking to the fault proxy; afterwards every function is compared with its
picture from before (taken past the proxy).
"""

from __future__ import annotations

import json
import random
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import boto3
from chaoslib.exceptions import ActivityFailed

from chaosaws_serverless import aws
from chaosaws_serverless.awslambda.actions import inject_error, inject_latency, remove_faults
from tests.support.faultproxy import FaultProxy
from tests.support.lambdas import code_zip
from tests.support.snapshots import differences, snapshot

REGION = "us-east-1"
_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


@dataclass
class Fleet:
    endpoint_url: str
    names: list[str]
    aliased: set[str]
    chaos_layer: str
    secret: str


def create_fleet(endpoint_url: str, count: int, secret: str, region: str = REGION) -> Fleet:
    """Create ``count`` functions with layers, secrets and (every third) an alias ``live``."""
    iam = boto3.client("iam", region_name=region, endpoint_url=endpoint_url)
    try:
        role = iam.create_role(RoleName="fleet", AssumeRolePolicyDocument=json.dumps(_TRUST))
        role_arn = role["Role"]["Arn"]
    except iam.exceptions.EntityAlreadyExistsException:
        role_arn = iam.get_role(RoleName="fleet")["Role"]["Arn"]
    lam = boto3.client("lambda", region_name=region, endpoint_url=endpoint_url)
    chaos = lam.publish_layer_version(
        LayerName="chaos-lambda-extension",
        Content={"ZipFile": code_zip({"bootstrap": "#!/bin/sh\n"})},
        CompatibleArchitectures=["x86_64"],
    )["LayerVersionArn"]
    others = [
        lam.publish_layer_version(LayerName=f"lib-{i}", Content={"ZipFile": code_zip()})[
            "LayerVersionArn"
        ]
        for i in range(3)
    ]
    names, aliased = [], set()
    for index in range(count):
        name = f"fleet-{index:03d}"
        lam.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role_arn,
            Handler="handler.handler",
            Code={"ZipFile": code_zip()},
            Layers=others[: index % 4],
            Environment={
                "Variables": {"SECRET_TOKEN": secret, "TABLE": f"orders-{index}", "LOG": "INFO"}
            },
            Tags={"team": "payments"},
        )
        if index % 3 == 2:
            version = lam.publish_version(FunctionName=name)["Version"]
            lam.create_alias(FunctionName=name, Name="live", FunctionVersion=version)
            aliased.add(name)
        names.append(name)
    return Fleet(endpoint_url, names, aliased, chaos, secret)


@dataclass
class Round:
    """One round's figures."""

    wall_seconds: float
    modified: dict[str, list[str]]
    errors: list[str] = field(default_factory=list)
    proxy: dict[str, Any] = field(default_factory=dict)


def _one_function(name: str, fleet: Fleet, config: dict[str, Any], rng_seed: int) -> list[str]:
    rng = random.Random(rng_seed)
    alias = "live" if name in fleet.aliased and rng.random() < 0.5 else None
    errors: list[str] = []
    try:
        if rng.random() < 0.5:
            inject_latency(
                name,
                rng.choice([1, 1500, 60000]),
                rng.choice([1.0, 0.5]),
                REGION,
                alias,
                fleet.chaos_layer,
                configuration=config,
            )
        else:
            inject_error(
                name,
                rng.choice([500, 503]),
                None,
                0.25,
                REGION,
                alias,
                fleet.chaos_layer,
                configuration=config,
            )
    except ActivityFailed as error:
        errors.append(f"inject {name}: {error}")
    try:
        remove_faults(name, REGION, alias, configuration=config)
    except ActivityFailed as error:
        errors.append(f"remove {name}: {error}")
    return errors


def run_round(
    fleet: Fleet,
    proxy: FaultProxy,
    seed: int,
    workers: int = 8,
) -> Round:
    """Inject and roll back every function of ``fleet`` in parallel through ``proxy``."""
    before = snapshot(fleet.endpoint_url, [REGION])
    config = {
        "aws_region": REGION,
        "aws_regions": [REGION],
        "aws_endpoint_url": proxy.url,
        "fault_switch": "off",
    }
    aws.clear_client_cache()
    started_stats = proxy.stats.as_dict()
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(
            pool.map(
                lambda pair: _one_function(pair[1], fleet, config, seed * 1000 + pair[0]),
                enumerate(fleet.names),
            )
        )
    wall = time.monotonic() - started
    ended_stats = proxy.stats.as_dict()
    delta = {k: ended_stats[k] - started_stats[k] for k in ("requests", "faults", "retried")}
    return Round(
        wall_seconds=wall,
        modified=differences(before, snapshot(fleet.endpoint_url, [REGION])),
        errors=[e for errors in results for e in errors],
        proxy=delta,
    )
