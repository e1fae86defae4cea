"""What the controls share: reading the rollback strategy and running skipped rollbacks.

chaoslib skips the rollbacks of an interrupted run under the ``default``
strategy; a control that interrupted the run (a stop condition, a signal) runs
them itself, exactly as chaoslib would have.
"""

from typing import Any, Optional

from chaoslib.types import Configuration, Experiment, Secrets, Settings


def rollback_strategy(experiment: Experiment, settings: Optional[Settings]) -> str:
    """Return the run's rollback strategy: settings first, then the experiment, else default."""
    runtime = (settings or {}).get("runtime") or experiment.get("runtime") or {}
    return str((runtime.get("rollbacks") or {}).get("strategy") or "default")


def apply_declared_rollbacks(
    experiment: Experiment,
    configuration: Configuration,
    secrets: Secrets,
    runs: list[Any],
) -> None:
    """Run the experiment's rollbacks with chaoslib, appending each run to ``runs``.

    ``runs`` is filled as they go, so a caller's ``finally`` records the ones
    that ran even when one of them raised.
    """
    from chaoslib.run import apply_rollbacks

    apply_rollbacks(
        experiment, configuration or {}, secrets or {}, None, experiment.get("dry"), None, runs
    )
