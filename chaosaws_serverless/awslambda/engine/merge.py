"""Pure planning of an injection and of its three-way-merge rollback.

No AWS calls here: the functions take a function's current environment and
layers (and the record) and return the configuration to write, so every rule
of the record format (``record``) is tested without an emulator.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Optional

from chaosaws_serverless.awslambda.engine.contracts import EXEC_WRAPPER, FaultContract
from chaosaws_serverless.awslambda.engine.record import MAX_DIGESTS, EnvEntry, FaultRecord, digest

MAX_LAYERS = 5
MAX_ENVIRONMENT_BYTES = 4096


class PlanError(ValueError):
    """The injection would break the function or a Lambda limit; the message says how."""


@dataclass
class Reverted:
    """A configuration with an injection's changes merged away, and what that took."""

    environment: dict[str, str]
    layers: list[str]
    removed_layers: list[str] = field(default_factory=list)
    restored_variables: list[str] = field(default_factory=list)
    removed_variables: list[str] = field(default_factory=list)
    kept_variables: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.removed_layers or self.restored_variables or self.removed_variables)


def revert(environment: Mapping[str, str], layers: list[str], record: FaultRecord) -> Reverted:
    """Return ``environment``/``layers`` with only what ``record``'s injection wrote undone."""
    env = dict(environment)
    result = Reverted(environment=env, layers=[])
    for name, entry in sorted(record.env.items()):
        current = env.get(name)
        if current is not None and digest(current) in entry.set:
            if entry.was is None:
                del env[name]
                result.removed_variables.append(name)
            else:
                env[name] = entry.was
                result.restored_variables.append(name)
        elif current != entry.was:
            # Someone changed (or deleted) it after the injection: theirs wins.
            result.kept_variables.append(name)
    ours = set(record.layers)
    for arn in layers:
        if arn in ours:
            result.removed_layers.append(arn)
        else:
            result.layers.append(arn)
    return result


@dataclass
class Injection:
    """The configuration to write for a fault and the record describing it."""

    environment: dict[str, str]
    layers: list[str]
    env_entries: dict[str, EnvEntry]
    appended_layers: list[str]


def plan_injection(
    environment: Mapping[str, str],
    layers: list[str],
    fault_environment: Mapping[str, str],
    layer_arn: str,
    contract: FaultContract,
    previous: Optional[FaultRecord] = None,
) -> Injection:
    """Return the faulty configuration built on the function's current one.

    With ``previous`` (an injection already in place on the same target) the
    new fault replaces it instead of stacking: the previous fault is merged
    away first, and the new record keeps the previous digests so a crash
    between writing the record and updating the function still rolls back.
    """
    base_env, base_layers = dict(environment), list(layers)
    if previous is not None:
        reverted = revert(environment, layers, previous)
        base_env, base_layers = reverted.environment, reverted.layers
    wrapper = base_env.get(EXEC_WRAPPER)
    if wrapper not in (None, contract.wrapper):
        raise PlanError(
            f"the function already has {EXEC_WRAPPER}={wrapper!r}; the {contract.name} needs "
            f"{contract.wrapper!r} and there can be only one wrapper. Remove the other wrapper "
            "or choose another function (nothing was changed)"
        )
    new_env = {**base_env, **fault_environment}
    entries: dict[str, EnvEntry] = {}
    for name, value in fault_environment.items():
        entries[name] = EnvEntry(was=base_env.get(name), set=[digest(value)])
    if previous is not None:
        for name, old in previous.env.items():
            entry = entries.setdefault(name, EnvEntry(was=base_env.get(name), set=[]))
            entry.set = list(dict.fromkeys(entry.set + old.set))[:MAX_DIGESTS]
    # Another version of the chaos layer already attached is the extension already
    # there: Lambda refuses two versions of one layer, so it is used as it is.
    layer_name = layer_arn.rsplit(":", 1)[0]
    attached = any(arn.rsplit(":", 1)[0] == layer_name for arn in base_layers)
    appended = [] if attached else [layer_arn]
    new_layers = base_layers + appended
    if previous is not None:
        appended = list(dict.fromkeys(appended + previous.layers))
    if len(new_layers) > MAX_LAYERS:
        raise PlanError(
            f"the function already uses {len(base_layers)} layers; adding {layer_arn!r} makes "
            f"{len(new_layers)}, over Lambda's limit of {MAX_LAYERS}. Remove a layer first "
            "(nothing was changed)"
        )
    size = environment_bytes(new_env)
    if size > MAX_ENVIRONMENT_BYTES:
        raise PlanError(
            f"the function's environment would be {size} bytes with the fault's variables, over "
            f"Lambda's limit of {MAX_ENVIRONMENT_BYTES} bytes; shorten the error body or the "
            "function's variables (nothing was changed)"
        )
    return Injection(
        environment=new_env, layers=new_layers, env_entries=entries, appended_layers=appended
    )


def environment_bytes(environment: Mapping[str, str]) -> int:
    """Return the size Lambda's 4 KB limit is measured on (compact JSON, conservative)."""
    return len(json.dumps(dict(environment), separators=(",", ":")).encode("utf-8"))


@dataclass
class Absorbed:
    """A concurrent injection found on re-read, folded back into the state we first read."""

    environment: dict[str, str]
    layers: list[str]
    digests: dict[str, list[str]]
    layers_added: list[str]


def absorb_concurrent(
    first_environment: Mapping[str, str],
    first_layers: list[str],
    environment: Mapping[str, str],
    layers: list[str],
    variables: tuple[str, ...],
    layer_arn: str,
) -> Absorbed:
    """Undo, in what we read again, the fault variables and chaos layer someone added since.

    Tags have no conditional write: two processes injecting at once both
    record the same original state and the later record overwrites the
    earlier. When our update meets a revision conflict and the re-read shows
    the contract's variables or the chaos layer changed since our first read,
    that is another injection: our record keeps the ORIGINAL values (first
    read) and adds the digests of theirs, so whichever record survives rolls
    both back.
    """
    env = dict(environment)
    digests: dict[str, list[str]] = {}
    for name in variables:
        now, first = environment.get(name), first_environment.get(name)
        if now != first:
            if now is not None:
                digests[name] = [digest(now)]
            if first is None:
                env.pop(name, None)
            else:
                env[name] = first
    layer_name = layer_arn.rsplit(":", 1)[0]
    added = [
        arn for arn in layers if arn not in first_layers and arn.rsplit(":", 1)[0] == layer_name
    ]
    return Absorbed(
        environment=env,
        layers=[arn for arn in layers if arn not in added],
        digests=digests,
        layers_added=added,
    )
