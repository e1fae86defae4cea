"""Pre-flight control: nothing runs until every account-specific value is given and exists.

The shipped experiments give no placeholder for values that only the user's
account has (zone, record, health checks, functions, layer ARNs): their
configuration declares each such key as *required*::

    "hosted_zone_id": {"required": "route53-hosted-zone",
                       "description": "the Route 53 hosted zone of record_name"}

chaoslib keeps such a value as it is (a mapping without ``type``) unless the
var file gives the key, which replaces it. This control, declared in the
experiment::

    "controls": [{"name": "preflight",
                  "provider": {"type": "python",
                               "module": "chaosaws_serverless.controls.preflight"}}]

runs before the first activity (``before_experiment_control``) and, for the
required keys the experiment's activities use (``${key}``),

1. stops the run when a required key has no value, naming every missing key,
   what it is and the fix (add it to the ``--var-file``);
2. checks, with one cheap read each, that the given values exist: the hosted
   zone and the record in it (ListResourceRecordSets), the health checks
   (GetHealthCheck), the functions (GetFunction in ``aws_region``), the layer
   versions (GetLayerVersion in each region): reads the experiment's own
   activities are granted anyway, so its IAM policy needs nothing more.

A problem stops the run with ``SystemExit(30)``: chaoslib's own "exit without
rollbacks" code (``chaoslib/exit.py``). Nothing has run, so there is nothing
to roll back, and the rollbacks, which would act on the same wrong values,
are skipped; the journal says ``interrupted`` and ``chaos run`` exits 1.
"""

import json
from collections.abc import Mapping
from typing import Any, Callable, Dict, List, Optional

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Experiment, Secrets
from logzero import logger

from chaosaws_serverless import metric_names as names
from chaosaws_serverless.aws import client
from chaosaws_serverless.errors import CredentialsError, aws_errors
from chaosaws_serverless.experiment import activities, package_provider
from chaosaws_serverless.regions import region_problem

__all__ = [
    "EXIT_WITHOUT_ROLLBACKS",
    "KINDS",
    "before_experiment_control",
    "check_existence",
    "is_required",
    "missing_keys",
    "required_keys",
    "value_problems",
]

# chaoslib/exit.py: SystemExit(30) ends the run and skips the rollbacks.
EXIT_WITHOUT_ROLLBACKS = 30


def is_required(value: Any) -> bool:
    """Return True for a configuration value that declares a required key (no value given)."""
    return isinstance(value, Mapping) and "required" in value and "type" not in value


def missing_keys(declared: Mapping[str, Any], resolved: Mapping[str, Any]) -> List[str]:
    """Return one sentence per required key that ``resolved`` (var files applied) still lacks."""
    problems = []
    for key, value in declared.items():
        if is_required(value) and is_required(resolved.get(key, value)):
            what = value.get("description") or value.get("required")
            problems.append(
                f"configuration key {key!r} ({what}) has no value: add it to the file passed "
                f'with --var-file, e.g. {{"configuration": {{"{key}": ...}}}}'
            )
    return problems


# Units and shares in key names (the project's naming rule): what a value of such a key may be.
_UNIT_RULES = (
    (("_ratio", "_probability"), lambda v: 0 <= v <= 1, "a share from 0 to 1"),
    (("_seconds", "_ms"), lambda v: v >= 0, "a duration of 0 or more"),
)


def _number(value: Any) -> Optional[float]:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:  # --var KEY=VALUE gives a string; chaoslib's substitution keeps it one
        return float(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _expected(key: str, declared: Any) -> tuple[str, Callable[[Any], bool]]:
    """Return what a value of ``key`` must be, from its declared default or its kind."""
    if is_required(declared):
        if declared.get("required") == "lambda-layer-arns":
            return 'an object of region to layer version ARN ({"us-east-1": "arn:..."})', (
                lambda v: isinstance(v, Mapping)
            )
        return "a string", lambda v: isinstance(v, str)
    if isinstance(declared, bool):
        return "true or false", lambda v: isinstance(v, bool)
    if isinstance(declared, int | float):
        for suffixes, rule, what in _UNIT_RULES:
            if key.endswith(suffixes):
                return what, lambda v, rule=rule: _number(v) is not None and rule(_number(v))
        return "a number", lambda v: _number(v) is not None
    if isinstance(declared, list):
        comma = key == "aws_regions"  # configured_regions also reads "us-east-1,eu-west-1"
        return "a list", lambda v: isinstance(v, list) or (comma and isinstance(v, str))
    if isinstance(declared, Mapping) and "type" not in declared:
        return "an object", lambda v: isinstance(v, Mapping)
    if isinstance(declared, str):
        return "a string or a number", lambda v: not isinstance(v, list | Mapping)
    return "", lambda v: True


def value_problems(declared: Mapping[str, Any], resolved: Mapping[str, Any]) -> List[str]:
    """Return one sentence per given value whose type is not the declared one's.

    A number where the experiment declares a number (a share 0..1 for a ``_ratio``
    or ``_probability`` key, 0 or more for ``_seconds``/``_ms``), a list where a
    list, an object where an object (the layer ARNs per region), a string where a
    required name or id: a value of another type would be silently read otherwise
    (a string of layer ARNs makes the doctor fall back to the public layer).
    """
    problems = []
    for key in ("aws_region", "aws_regions"):  # botocore's regions, whether declared or not
        given = resolved.get(key)
        listed = (
            [r.strip() for r in given.split(",")]
            if key == "aws_regions" and isinstance(given, str)
            else (given if isinstance(given, list) else [given])
        )
        for region in listed if given else []:
            problem = region_problem(region)
            if problem:
                problems.append(f"configuration key {key!r}: {problem}")
    for key, default in declared.items():
        if key not in resolved or is_required(resolved[key]) or resolved[key] == default:
            continue
        if key in ("aws_region", "aws_regions"):
            continue
        what, fits = _expected(key, default)
        if what and not fits(resolved[key]):
            problems.append(
                f"configuration key {key!r} must be {what}, got {resolved[key]!r}; fix it in the "
                "--var-file or --var (KEY[:TYPE]=VALUE; JSON values need a --var-file)"
            )
    return problems


def _zone(
    value: Any, spec: Mapping[str, Any], configuration: Configuration, secrets: Secrets
) -> None:
    route53 = client("route53", names.ROUTE53_METRICS_REGION, configuration, secrets)
    zone_id = str(value).strip().rsplit("/", 1)[-1]
    # ListResourceRecordSets, not GetHostedZone: the permission the Route 53 probes have anyway.
    with aws_errors("route53:ListResourceRecordSets", f"hosted zone {zone_id!r}"):
        route53.list_resource_record_sets(HostedZoneId=zone_id, MaxItems="1")


def _record(
    value: Any, spec: Mapping[str, Any], configuration: Configuration, secrets: Secrets
) -> None:
    zone_key = spec.get("zone_key", "hosted_zone_id")
    zone_id = str((configuration or {}).get(zone_key, "")).strip().rsplit("/", 1)[-1]
    if not zone_id or is_required((configuration or {}).get(zone_key)):
        return  # the zone's own check reports it
    route53 = client("route53", names.ROUTE53_METRICS_REGION, configuration, secrets)
    wanted = str(value).strip().lower().rstrip(".") + "."
    with aws_errors("route53:ListResourceRecordSets", f"hosted zone {zone_id!r}"):
        page = route53.list_resource_record_sets(
            HostedZoneId=zone_id, StartRecordName=wanted, MaxItems="1"
        )
    found = [r["Name"].lower() for r in page.get("ResourceRecordSets", [])]
    if wanted not in found:
        raise ActivityFailed(f"hosted zone {zone_id!r} ({zone_key}) has no record named {wanted!r}")


def _health_check(
    value: Any, spec: Mapping[str, Any], configuration: Configuration, secrets: Secrets
) -> None:
    route53 = client("route53", names.ROUTE53_METRICS_REGION, configuration, secrets)
    with aws_errors("route53:GetHealthCheck", f"health check {value!r}"):
        route53.get_health_check(HealthCheckId=str(value))


def _function(
    value: Any, spec: Mapping[str, Any], configuration: Configuration, secrets: Secrets
) -> None:
    region = spec.get("region") or (configuration or {}).get("aws_region")
    lambda_ = client("lambda", region, configuration, secrets)
    # GetFunction: the permission the fault actions have anyway.
    with aws_errors("lambda:GetFunction", f"function {value!r} in {region}"):
        lambda_.get_function(FunctionName=str(value))


def _layer_arns(
    value: Any, spec: Mapping[str, Any], configuration: Configuration, secrets: Secrets
) -> None:
    if not isinstance(value, Mapping) or not value:
        raise ActivityFailed(f"expected a mapping of region to layer version ARN, got {value!r}")
    regions = spec.get("_regions")
    for region, arn in sorted(value.items()):
        if regions is not None and region not in regions:
            continue  # no activity of the experiment acts in that region
        layer, _, version = str(arn).rpartition(":")
        if not layer.startswith("arn:") or not version.isdigit():
            raise ActivityFailed(
                f"{arn!r} ({region}) is not a layer version ARN "
                "(arn:aws:lambda:REGION:ACCOUNT:layer:NAME:VERSION)"
            )
        lambda_ = client("lambda", str(region), configuration, secrets)
        # GetLayerVersion (name or layer ARN + number): the permission the faults need anyway.
        with aws_errors("lambda:GetLayerVersion", f"layer version {arn!r} in {region}"):
            lambda_.get_layer_version(LayerName=layer, VersionNumber=int(version))


def _text(
    value: Any, spec: Mapping[str, Any], configuration: Configuration, secrets: Secrets
) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ActivityFailed(f"expected a non-empty string, got {value!r}")


Check = Callable[[Any, Mapping[str, Any], Configuration, Secrets], None]
KINDS: Dict[str, Check] = {
    "text": _text,
    "route53-hosted-zone": _zone,
    "route53-record": _record,
    "route53-health-check": _health_check,
    "lambda-function": _function,
    "lambda-layer-arns": _layer_arns,
}


def _reads(provider: Mapping[str, Any], readers: List[str]) -> bool:
    """Return whether an activity is one of ``readers`` (``module`` or ``module.func``)."""
    module = provider.get("module")
    return module in readers or f"{module}.{provider.get('func')}" in readers


def _activity_regions(
    experiment: Mapping[str, Any], readers: List[str], configuration: Configuration
) -> List[str]:
    """Return the regions the experiment's activities of ``readers`` act in."""
    regions = set()
    for activity in activities(experiment):
        provider = package_provider(activity)
        if not provider or not _reads(provider, readers):
            continue
        region = (provider.get("arguments") or {}).get("region")
        if isinstance(region, str) and region.startswith("${") and region.endswith("}"):
            region = (configuration or {}).get(region[2:-1])
        regions.add(str(region or (configuration or {}).get("aws_region")))
    return sorted(regions)


def check_existence(
    declared: Mapping[str, Any],
    configuration: Configuration,
    secrets: Secrets = None,
    experiment: Optional[Mapping[str, Any]] = None,
) -> List[str]:
    """Return one sentence per given value of a required key that does not exist in AWS.

    With ``experiment``, per-region values (the layer ARNs) are checked only in
    the regions its activities act in: the others are neither needed nor granted.
    """
    problems = []
    for key, spec in declared.items():
        if not is_required(spec):
            continue
        readers = spec.get("read_by") or []
        if experiment is not None and readers:
            readers = [readers] if isinstance(readers, str) else list(readers)
            spec = {**spec, "_regions": _activity_regions(experiment, readers, configuration)}
        value = (configuration or {}).get(key)
        if is_required(value):
            continue  # reported by missing_keys
        check = KINDS.get(str(spec["required"]))
        if check is None:
            problems.append(
                f"configuration key {key!r} declares the unknown kind {spec['required']!r}; "
                f"use one of {sorted(KINDS)}"
            )
            continue
        try:
            check(value, spec, configuration, secrets)
        except CredentialsError as error:
            # Not the value's fault, and the same for every key: said once, as it is.
            return [f"cannot check that {key!r} exists: {error}"]
        except ActivityFailed as error:
            problems.append(
                f"configuration key {key!r} = {value!r} is wrong: {error}; fix it in the --var-file"
            )
    return problems


def required_keys(experiment: Mapping[str, Any]) -> Dict[str, Any]:
    """Return the required keys the experiment's activities use (``${key}``), with their kind.

    A catalog piece declares the keys of a whole stack; an experiment that uses
    only some (the pre-flight reads the zone only) needs only those. A key an
    activity reads from the configuration rather than from its arguments names
    the activities in ``read_by``: a module (all its activities) or ``module.func``.
    """
    declared = experiment.get("configuration") or {}
    body = json.dumps({k: v for k, v in experiment.items() if k != "configuration"})

    providers = [p for p in (package_provider(a) for a in activities(experiment)) if p]

    def used(key: str, spec: Mapping[str, Any]) -> bool:
        readers = spec.get("read_by") or []
        readers = [readers] if isinstance(readers, str) else list(readers)
        return f"${{{key}}}" in body or any(_reads(p, readers) for p in providers)

    return {k: v for k, v in declared.items() if is_required(v) and used(k, v)}


def before_experiment_control(
    context: Experiment,
    configuration: Configuration = None,
    secrets: Secrets = None,
    **kwargs: Any,
) -> None:
    """Stop the run before the first activity when a required value is missing or wrong."""
    declared = required_keys(context or {})
    problems = missing_keys(declared, configuration or {})
    problems += value_problems((context or {}).get("configuration") or {}, configuration or {})
    if not problems:
        problems = check_existence(declared, configuration, secrets, context)
    if not problems:
        logger.info("pre-flight: every required configuration value is given and exists")
        return
    for problem in problems:
        logger.error(f"pre-flight: {problem}")
    logger.error(
        f"pre-flight: {len(problems)} problem(s) with the configuration; nothing was run or "
        "changed, so no rollback is needed"
    )
    raise SystemExit(EXIT_WITHOUT_ROLLBACKS)
