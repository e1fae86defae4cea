"""Exact before/after pictures of every Lambda function, to prove a rollback restored it.

A snapshot keeps what a fault or its rollback could change and what a user
would notice: layers, environment, handler, runtime, memory, timeout,
architectures, tags, aliases (target and routing config) and the published
versions. It leaves out what every update legitimately changes
(``LastModified``, ``RevisionId``, ``CodeSha256`` of nothing).
"""

from __future__ import annotations

from typing import Any

import boto3

KEPT_FIELDS = (
    "FunctionName",
    "Runtime",
    "Handler",
    "Timeout",
    "MemorySize",
    "Architectures",
    "Role",
)


def _client(endpoint_url: str, region: str) -> Any:
    return boto3.client("lambda", region_name=region, endpoint_url=endpoint_url)


def function_picture(lam: Any, name: str) -> dict[str, Any]:
    """Return the picture of one function (see the module docstring)."""
    fn = lam.get_function(FunctionName=name)
    config = fn["Configuration"]
    picture = {k: config.get(k) for k in KEPT_FIELDS}
    picture["Layers"] = [layer["Arn"] for layer in config.get("Layers") or []]
    picture["Environment"] = dict((config.get("Environment") or {}).get("Variables") or {})
    picture["Tags"] = dict(fn.get("Tags") or {})
    aliases = lam.list_aliases(FunctionName=name).get("Aliases", [])
    picture["Aliases"] = {
        a["Name"]: {
            "FunctionVersion": a["FunctionVersion"],
            "RoutingConfig": a.get("RoutingConfig") or {},
        }
        for a in aliases
    }
    versions = lam.list_versions_by_function(FunctionName=name).get("Versions", [])
    picture["Versions"] = sorted(v["Version"] for v in versions)
    return picture


def snapshot(endpoint_url: str, regions: list[str]) -> dict[str, dict[str, Any]]:
    """Return ``{"region/name": picture}`` for every function of ``regions``."""
    pictures: dict[str, dict[str, Any]] = {}
    for region in regions:
        lam = _client(endpoint_url, region)
        for page in lam.get_paginator("list_functions").paginate():
            for fn in page["Functions"]:
                name = fn["FunctionName"]
                pictures[f"{region}/{name}"] = function_picture(lam, name)
    return pictures


def differences(
    before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]
) -> dict[str, list[str]]:
    """Return ``{"region/name": [field, ...]}`` for every function not exactly as before.

    Only field names: the values may be secrets.
    """
    changed: dict[str, list[str]] = {}
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old is None or new is None:
            changed[key] = ["<function created>" if old is None else "<function deleted>"]
            continue
        fields = [f for f in sorted(set(old) | set(new)) if old.get(f) != new.get(f)]
        if fields:
            changed[key] = fields
    return changed
