"""Timeline: at the end of ``chaos run``, draw the run's timeline next to the journal.

Declare it last among the experiment's controls (controls end in the order
they are declared, so the rollbacks another control runs are drawn too)::

    "controls": [{"name": "timeline",
                  "provider": {"type": "python",
                               "module": "chaosaws_serverless.controls.timeline"}}]

Optional arguments: ``path`` (the PNG; default ``timeline.png`` in the folder
of ``chaos run --journal-path``), ``tail_seconds`` (wait, then draw that
many seconds after the run, so the customers' last intervals are published;
default 0), ``timeout_seconds`` (how long the finished run waits for the
picture; default 30: drawing takes a few seconds, and an unreachable
endpoint, whose calls botocore retries for minutes, must not hold the run's
end; the journal then says to draw it later with ``chaosaws-serverless
timeline``).

``after_experiment_control`` does three things with the journal ``chaos run``
is about to write:

- records the configuration the run resolved (``--var-file``, environment)
  in ``journal["chaosaws_serverless"]["configuration"]`` (credential keys
  left out; keys declared as ``env``/vault values keep their declared
  form) and puts those values in the journal's copy of the experiment's
  ``configuration``, the declared form kept beside it under
  ``declared_configuration``: ``chaos report`` then shows the arguments with
  the values the run used, even without the run's ``--var-file``;
- draws the timeline from CloudWatch with the run's configuration and
  secrets (:mod:`chaosaws_serverless.timeline`);
- puts the picture into the journal where chaostoolkit-reporting renders it
  (``charts`` of the fault's run entry, HTML reports).

A timeline that cannot be drawn (no metrics, no permission) is logged and
recorded as ``journal["chaosaws_serverless"]["timeline_error"]``; it never
changes the run's outcome. A dry run (``chaos run --dry``) draws nothing.
``chaosaws-serverless timeline JOURNAL`` draws it again later.
"""

import threading
import time
from pathlib import Path
from typing import Any, Optional

from chaoslib.types import Configuration, Experiment, Journal, Secrets
from logzero import logger

__all__ = ["after_experiment_control", "journal_path"]

DEFAULT_JOURNAL = "./journal.json"


def journal_path() -> Path:
    """Return where ``chaos run`` writes the journal (its ``--journal-path``)."""
    import click

    context = click.get_current_context(silent=True)
    while context is not None:
        value = (context.params or {}).get("journal_path")
        if value:
            return Path(str(value))
        context = context.parent
    return Path(DEFAULT_JOURNAL)


def after_experiment_control(
    context: Experiment,
    state: Optional[Journal] = None,
    configuration: Configuration = None,
    secrets: Secrets = None,
    path: Optional[str] = None,
    tail_seconds: Any = 0,
    timeout_seconds: Any = 30,
    **kwargs: Any,
) -> None:
    """Record the run's values, draw its timeline next to the journal and embed it."""
    if not isinstance(state, dict):
        return
    from chaosaws_serverless.timeline.core import timeline_of_journal
    from chaosaws_serverless.timeline.journal import (
        JOURNAL_KEY,
        embed_chart,
        public_configuration,
    )

    record = state.setdefault(JOURNAL_KEY, {})
    experiment = state.get("experiment")
    declared = (experiment or {}).get("configuration") or {}
    values = public_configuration(configuration or {}, declared)
    record["configuration"] = values
    if isinstance(experiment, dict):
        # The journal holds a shallow copy of the experiment: replace, never mutate.
        record["declared_configuration"] = experiment.get("configuration") or {}
        state["experiment"] = {**experiment, "configuration": values}
    if (experiment or {}).get("dry"):
        logger.info("timeline: a dry run sends nothing to AWS: no timeline")
        return
    target = Path(path) if path else journal_path().parent / "timeline.png"
    outcome: dict[str, Any] = {}

    def draw() -> None:
        try:
            tail = float(tail_seconds or 0)
            if tail > 0:
                time.sleep(tail)
            outcome["data"] = timeline_of_journal(
                state, target, dict(configuration or {}), secrets, tail_seconds=tail
            )
        except Exception as error:  # the picture must never change the run's outcome
            outcome["error"] = str(error)

    # An unreachable endpoint retries for minutes (aws.py's adaptive retries): the run's end
    # must not wait for it.
    worker = threading.Thread(target=draw, name="timeline", daemon=True)
    worker.start()
    worker.join(float(timeout_seconds) + float(tail_seconds or 0))
    data = outcome.get("data")
    if data is None:
        error = outcome.get("error") or (
            f"not done within {timeout_seconds} s (the control's timeout_seconds); draw it "
            f"later with: chaosaws-serverless timeline {journal_path()}"
        )
        logger.warning(f"timeline: not drawn: {error}")
        record["timeline_error"] = error
        return
    record["timeline"] = {
        "path": str(target),
        "url": data.url,
        "health_checks": sorted(data.health),
        "client_regions": sorted(data.statuses),
        "events": [{"label": m.label, "time": m.time} for m in data.markers],
    }
    embed_chart(state, target.read_bytes())
    logger.info(f"timeline: drawn to {target}")
