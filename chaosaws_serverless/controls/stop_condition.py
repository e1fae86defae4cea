"""Stop condition: interrupt the experiment when a CloudWatch alarm goes to ALARM, then roll back.

Declare it at the top of an experiment (or in a settings/control file)::

    "controls": [{"name": "stop-on-alarm",
                  "provider": {"type": "python",
                               "module": "chaosaws_serverless.controls.stop_condition",
                               "arguments": {"alarm_names": ["us-customers-errors"],
                                             "poll_seconds": 5}}}]

Arguments: ``alarm_names`` (list of metric or composite alarm names),
``region`` (optional; default the configuration's ``aws_region``),
``poll_seconds`` (default 5).

How it behaves, hook by hook:

``before_experiment_control``
    Reads the alarms once. If one is missing, or already in ALARM, the
    experiment does not start (``InterruptExecution``): a stop condition that
    watches nothing, or that has already tripped, must not let a fault run.
    Then a daemon thread polls ``DescribeAlarms`` every ``poll_seconds``.
``on ALARM`` (watcher thread)
    Logs the alarm and its reason and interrupts *now*: it sends SIGUSR1 to the
    process (``chaoslib.exit.exit_gracefully``), which chaoslib's runner turns
    into an interruption that keeps rollbacks, even in the middle of a long
    activity or pause. chaoslib sleeps an activity's ``pauses.after`` even when
    the activity was interrupted, so while the main thread is still inside that
    activity the signal is repeated. Where chaoslib's handler is not installed
    (no SIGUSR1, or not run by chaoslib's ``Runner``) the next activity raises
    ``InterruptExecution`` instead.
``after_method_control`` / ``before_rollback_control``
    Disarm the watcher: nothing interrupts the hypothesis after the method nor
    the rollbacks (chaoslib starts rollbacks outside the block that handles an
    interruption).
``after_experiment_control``
    Chaos Toolkit's ``default`` rollback strategy skips rollbacks of an
    interrupted run (and ``deviated`` skips them unless the hypothesis
    deviated). When this control stopped the run and not every rollback ran,
    it runs the experiment's rollbacks itself, records them in the journal's
    ``rollbacks`` and adds ``journal["stop_condition"]`` (alarm, reason, time).
    Only an explicit ``never`` strategy is respected. Rollbacks must therefore
    be idempotent (this package's are).
"""

import os
import signal
import threading
import time
from datetime import UTC, datetime
from typing import Any, Optional

from chaoslib import substitute
from chaoslib.exceptions import ActivityFailed, InterruptExecution
from chaoslib.types import Configuration, Experiment, Journal, Secrets, Settings
from logzero import logger

from chaosaws_serverless.aws import resolve_region
from chaosaws_serverless.controls._rollbacks import apply_declared_rollbacks, rollback_strategy

__all__ = [
    "after_activity_control",
    "after_experiment_control",
    "after_method_control",
    "before_activity_control",
    "before_experiment_control",
    "before_rollback_control",
    "cleanup_control",
    "configure_control",
]

DEFAULT_POLL_SECONDS = 5.0
_RESIGNAL_LIMIT = 20


class Watcher:
    """Polls the alarms in a daemon thread and interrupts the run on the first ALARM."""

    def __init__(
        self,
        alarm_names: list[str],
        region: str,
        poll_seconds: float,
        configuration: Configuration,
        secrets: Secrets,
    ) -> None:
        self.alarm_names = alarm_names
        self.region = region
        self.poll_seconds = poll_seconds
        self.configuration = configuration
        self.secrets = secrets
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.armed = False
        self.in_activity = False
        self.triggered: Optional[dict[str, str]] = None
        self.signals_sent = 0
        self.thread: Optional[threading.Thread] = None

    def states(self) -> dict[str, tuple[str, str]]:
        from chaosaws_serverless.cloudwatch.alarms import alarm_states

        return alarm_states(self.alarm_names, self.region, self.configuration, self.secrets)

    def start(self) -> None:
        with self.lock:
            self.armed = True
        self.thread = threading.Thread(target=self._run, name="stop-condition", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.disarm()
        self.stopped.set()
        if self.thread and self.thread is not threading.current_thread():
            self.thread.join(timeout=self.poll_seconds + 35)

    def disarm(self) -> None:
        with self.lock:
            self.armed = False

    def _run(self) -> None:
        failures = 0
        while not self.stopped.wait(self.poll_seconds):
            if self.triggered:
                self._repeat_signal()
                continue
            try:
                states = self.states()
                failures = 0
            except ActivityFailed as error:
                failures += 1
                logger.warning(f"stop condition: cannot read the alarms ({failures}x): {error}")
                continue
            firing = [(n, reason) for n, (state, reason) in states.items() if state == "ALARM"]
            if firing:
                self._trip(*firing[0])

    def _trip(self, alarm_name: str, reason: str) -> None:
        with self.lock:
            if not self.armed or self.triggered:
                return
            self.triggered = {
                "alarm": alarm_name,
                "region": self.region,
                "reason": reason,
                "at": datetime.now(UTC).isoformat(),
            }
            logger.error(
                f"stop condition: CloudWatch alarm {alarm_name!r} in {self.region} is in ALARM "
                f"({reason or 'no reason given'}): interrupting the experiment; rollbacks will run"
            )
            self._signal()

    def _repeat_signal(self) -> None:
        # chaoslib still sleeps the interrupted activity's pauses.after: cut that short too.
        with self.lock:
            if self.armed and self.in_activity and self.signals_sent < _RESIGNAL_LIMIT:
                self._signal()

    def _signal(self) -> None:
        """Interrupt the main thread through chaoslib's SIGUSR1 handler (caller holds the lock)."""
        if not _chaoslib_handles_sigusr1():
            return  # before_activity_control raises InterruptExecution at the next activity
        self.signals_sent += 1
        os.kill(os.getpid(), signal.SIGUSR1)  # what chaoslib.exit.exit_gracefully does


_watcher: Optional[Watcher] = None
_config_error: Optional[str] = None


def configure_control(
    alarm_names: Any = None,
    region: Optional[str] = None,
    poll_seconds: Any = DEFAULT_POLL_SECONDS,
    configuration: Configuration = None,
    secrets: Secrets = None,
    **kwargs: Any,
) -> None:
    """Validate the arguments and prepare the watcher (it starts before the experiment)."""
    global _watcher, _config_error
    cleanup_control()
    # chaoslib does not substitute ${...} in configure_control's arguments.
    arguments = substitute(
        {"alarm_names": alarm_names, "region": region, "poll_seconds": poll_seconds},
        configuration,
        secrets,
    )
    try:
        names = arguments["alarm_names"]
        if isinstance(names, str):
            names = [names]
        if (
            not isinstance(names, list)
            or not names
            or not all(isinstance(n, str) and n for n in names)
        ):
            raise ActivityFailed(
                "alarm_names must be a non-empty list of CloudWatch alarm names, "
                f"got {alarm_names!r}"
            )
        poll = arguments["poll_seconds"]
        if isinstance(poll, bool) or not isinstance(poll, int | float) or not 0.1 <= poll <= 300:
            raise ActivityFailed(f"poll_seconds must be a number in 0.1..300, got {poll_seconds!r}")
        region_name = resolve_region(arguments["region"], configuration)
    except ActivityFailed as error:
        # chaoslib only logs configure_control failures at debug level; make this one loud and
        # refuse to start the experiment in before_experiment_control.
        _config_error = f"stop condition misconfigured: {error}"
        logger.error(_config_error)
        return
    _watcher = Watcher(list(names), region_name, float(poll), configuration or {}, secrets or {})


def before_experiment_control(context: Experiment, **kwargs: Any) -> None:
    """Check the alarms once (refuse to start on ALARM or a missing alarm), then start watching."""
    if _config_error:
        raise InterruptExecution(_config_error)
    if _watcher is None:
        raise InterruptExecution(
            "stop condition was not configured (configure_control did not run); "
            "declare it under the experiment's 'controls'"
        )
    try:
        states = _watcher.states()
    except ActivityFailed as error:
        raise InterruptExecution(f"stop condition cannot watch its alarms: {error}") from error
    firing = {name: reason for name, (state, reason) in states.items() if state == "ALARM"}
    if firing:
        raise InterruptExecution(
            f"stop condition: alarm(s) {sorted(firing)} in {_watcher.region} already in ALARM "
            f"({'; '.join(firing.values())}): not starting the experiment"
        )
    logger.info(
        f"stop condition: watching {_watcher.alarm_names} in {_watcher.region} every "
        f"{_watcher.poll_seconds:g} s"
    )
    _watcher.start()


def before_activity_control(context: Any, **kwargs: Any) -> None:
    """Interrupt before the next activity when an alarm fired and no signal could be sent."""
    if _watcher is None:
        return
    with _watcher.lock:
        triggered = _watcher.triggered if _watcher.armed else None
        _watcher.in_activity = True
    if triggered:
        raise InterruptExecution(
            f"stop condition: CloudWatch alarm {triggered['alarm']!r} is in ALARM "
            f"({triggered['reason']})"
        )


def after_activity_control(context: Any, **kwargs: Any) -> None:
    """Record that the main thread left its activity (no more repeated signals)."""
    if _watcher is not None:
        with _watcher.lock:
            _watcher.in_activity = False


def after_method_control(context: Any, **kwargs: Any) -> None:
    """Disarm once the method is over: from here on the run heads to its rollbacks.

    chaoslib starts the rollbacks outside the block that catches an
    interruption, so a signal in between would crash the run.
    """
    if _watcher is not None:
        _watcher.disarm()


def before_rollback_control(context: Any, **kwargs: Any) -> None:
    """Disarm: nothing may interrupt the rollbacks."""
    if _watcher is not None:
        _watcher.disarm()


def after_experiment_control(
    context: Experiment,
    state: Optional[Journal] = None,
    configuration: Configuration = None,
    secrets: Secrets = None,
    settings: Settings = None,
    **kwargs: Any,
) -> None:
    """Stop watching; when this control stopped the run, make sure the rollbacks ran."""
    if _watcher is None:
        return
    _watcher.stop()
    triggered = _watcher.triggered
    if not triggered or not isinstance(state, dict):
        return
    experiment = context
    declared = experiment.get("rollbacks", []) or []
    already = state.get("rollbacks") or []
    strategy = rollback_strategy(experiment, settings)
    state["stop_condition"] = {**triggered, "rollback_strategy": strategy}
    if strategy == "never":
        logger.warning(
            "stop condition: rollback strategy 'never' was asked for explicitly: "
            "NOT running the rollbacks; the faults may still be in place"
        )
        return
    if len(already) >= len(declared):
        state["stop_condition"]["rollbacks_run_by"] = "chaoslib"
        return
    logger.warning(
        f"stop condition: chaoslib skipped the rollbacks of the interrupted run (strategy "
        f"{strategy!r}); running the {len(declared)} rollback(s) now"
    )
    runs: list = []
    started = time.monotonic()
    try:
        apply_declared_rollbacks(experiment, configuration, secrets, runs)
    finally:
        state["rollbacks"] = [*already, *runs]
        state["stop_condition"]["rollbacks_run_by"] = "stop_condition control"
        logger.info(f"stop condition: rollbacks done in {time.monotonic() - started:.1f} s")


def cleanup_control(**kwargs: Any) -> None:
    """Stop the watcher thread and forget this run's state."""
    global _watcher, _config_error
    if _watcher is not None:
        _watcher.stop()
    _watcher = None
    _config_error = None


def _chaoslib_handles_sigusr1() -> bool:
    if not hasattr(signal, "SIGUSR1"):
        return False
    from chaoslib import exit as chaos_exit

    return signal.getsignal(signal.SIGUSR1) is getattr(chaos_exit, "_leave_now", None)
