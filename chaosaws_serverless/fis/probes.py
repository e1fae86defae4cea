"""Probes on AWS FIS experiments."""

from typing import Optional

from chaoslib.exceptions import ActivityFailed
from chaoslib.types import Configuration, Secrets

from chaosaws_serverless.aws import client, resolve_region
from chaosaws_serverless.errors import aws_errors

__all__ = ["get_experiment_state"]


def get_experiment_state(
    experiment_id: str,
    region: Optional[str] = None,
    *,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> str:
    """Return the state of an FIS experiment.

    One of ``pending``, ``initiating``, ``running``, ``completed``, ``stopping``,
    ``stopped``, ``failed``, ``cancelled`` (FIS's own words), for a tolerance
    such as ``"completed"``. An unknown experiment is an error, never a state.

    ```json
    {"type": "probe", "name": "fis-experiment-completed", "tolerance": "completed",
     "provider": {"type": "python", "module": "chaosaws_serverless.fis.probes",
                  "func": "get_experiment_state",
                  "arguments": {"experiment_id": "EXP123abc", "region": "us-east-1"}}}
    ```
    """
    if not isinstance(experiment_id, str) or not experiment_id:
        raise ActivityFailed(f"experiment_id must be an FIS experiment id, got {experiment_id!r}")
    region_name = resolve_region(region, configuration)
    fis = client("fis", region_name, configuration, secrets)
    with aws_errors("fis:GetExperiment", f"FIS experiment {experiment_id!r} in {region_name}"):
        experiment = fis.get_experiment(id=experiment_id)["experiment"]
    return str(experiment["state"]["status"])
