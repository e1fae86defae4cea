"""Probe: does the doctor pass for this experiment? (so an experiment can refuse to start)."""

from typing import List, Optional

from chaoslib.types import Configuration, Secrets
from logzero import logger

__all__ = ["doctor_passes"]


def doctor_passes(
    experiment_path: str = "",
    regions: Optional[List[str]] = None,
    *,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> bool:
    """Return True when every read-only doctor check passes for the experiment.

    Runs ``chaosaws-serverless doctor`` without ``--live`` (nothing changes in
    AWS): credentials, the chaos layer per region, each function the
    experiment at ``experiment_path`` (string, optional: the experiment file,
    usually the one running; without it only credentials and layers are
    checked) injects into, the permissions, Route 53 pre-flight findings and
    the metrics the probes read. ``regions`` (list of strings, optional)
    limits the regions. The configuration is the running experiment's, already
    resolved. Each failed check is logged with its reason. Put it first in the
    steady-state hypothesis with ``"tolerance": true``.

    ```json
    {"type": "probe", "name": "doctor-passes", "tolerance": true,
     "provider": {"type": "python", "module": "chaosaws_serverless.doctor.probes",
                  "func": "doctor_passes",
                  "arguments": {"experiment_path": "experiments/region-failure.json"}}}
    ```
    """
    from chaoslib.exceptions import ActivityFailed

    from chaosaws_serverless.doctor.checks import read_only_checks
    from chaosaws_serverless.doctor.plan import failed
    from chaosaws_serverless.inputs import InputError, read_experiment

    if not isinstance(experiment_path, str) or not (
        regions is None or (isinstance(regions, list) and all(isinstance(r, str) for r in regions))
    ):
        raise ActivityFailed(
            f"doctor_passes: experiment_path must be a file name and regions a list of region "
            f"names, got {experiment_path!r} and {regions!r}"
        )
    try:
        experiment = read_experiment(experiment_path) if experiment_path else None
    except InputError as error:
        raise ActivityFailed(f"doctor_passes: {error}") from None
    checks = read_only_checks(experiment, configuration or {}, secrets, list(regions or []) or None)
    for check in failed(checks):
        logger.error(f"doctor: {check.check} {check.target}: {check.detail}")
    return not failed(checks)
