"""Safe interruption: SIGTERM stops a run like Ctrl-C, and nothing interrupts the rollbacks.

Declare it at the top of an experiment, or for every run with ``chaos run --control-file``::

    "controls": [{"name": "safe-interrupt",
                  "provider": {"type": "python",
                               "module": "chaosaws_serverless.controls.safe_interrupt"}}]

    # controls.yaml, for chaos run --control-file controls.yaml EXPERIMENT
    safe-interrupt:
      provider: {type: python, module: chaosaws_serverless.controls.safe_interrupt}

Why it exists (chaostoolkit-lib 1.44, ``chaoslib/exit.py`` and ``run.py``):

- SIGINT raises ``KeyboardInterrupt`` wherever the main thread is; chaoslib's
  runner catches it, marks the run interrupted and plays the rollbacks when
  the strategy allows it (the shipped experiments say ``always``).
- SIGTERM, what ``kill``, systemd, Kubernetes and CI runners send, makes
  chaoslib raise ``InterruptExecution``, an ``Exception``. When it lands
  inside a Python activity (an AWS call, a ``wait_for_failover`` poll),
  chaostoolkit-lib 1.44's Python provider turns it into a *failed activity*
  and the method goes on: the next fault is injected and the experiment keeps
  waiting, with the faults in place, until the orchestrator loses patience and
  sends SIGKILL. Only a SIGTERM that happens to land in a pause interrupts the
  run. (1.45.1, Python 3.12+, lets it through: ``provider/python.py``.)
- chaoslib waits for the method's background activities before it rolls
  back: a background customer load (``loadgen.actions.generate_load``, 20
  minutes in the catalog) keeps the faults in place until it ends.
- chaoslib sleeps an activity's ``pauses.after`` even when the signal
  interrupted that activity: the reference experiment's 390 s pause after
  ``wait_for_failover`` keeps the faults on for 390 s after SIGTERM.
- A signal during the rollbacks stops them ("Terminating now without running
  the remaining rollbacks"): a second Ctrl-C leaves faults behind.

What this control does:

``configure_control``
    Replaces chaoslib's SIGTERM handler (for this run only; chaoslib restores
    its own when the run ends) with one that raises ``SystemExit(20)``, the
    exception of chaoslib's own "exit gracefully, keep the rollbacks" signal
    (SIGUSR1). A ``BaseException`` passes through the providers' ``except
    Exception``, so the run is interrupted wherever it is, and the rollbacks
    run as the strategy says. SIGINT keeps Python's ``KeyboardInterrupt``.
    Both stop the background loads of this process first
    (``loadgen.engine.stop_all_loads``) and, from then on, the pauses of
    ``chaoslib.activity`` outside the rollbacks return at once.
``before_rollback_control`` / ``after_rollback_control``
    While the rollbacks run, SIGINT and SIGTERM are logged and deferred; the
    third signal in a row is obeyed (an operator who insists gets the process
    back, and the log says which rollbacks may not have run:
    ``chaosaws-serverless rollback`` restores the rest from any process).
``after_experiment_control``
    With the ``default`` or ``deviated`` rollback strategy chaoslib skips the
    rollbacks of an interrupted run; when a signal interrupted this run and no
    rollback ran, the control runs them (only ``never`` is respected), as the
    stop-condition control does for its own interruptions.
``cleanup_control``
    Puts back the handlers it replaced.

Signals are only delivered to the main thread; when the experiment does not
run there (``run_experiment`` from a worker thread) the control logs that it
cannot help and does nothing.
"""

import signal
import sys
import threading
import time
from types import FrameType
from typing import Any, Callable, Optional, Union

from chaoslib.types import Configuration, Experiment, Journal, Secrets, Settings
from logzero import logger

from chaosaws_serverless.controls._rollbacks import apply_declared_rollbacks, rollback_strategy

__all__ = [
    "after_experiment_control",
    "after_rollback_control",
    "before_rollback_control",
    "cleanup_control",
    "configure_control",
]

# chaoslib.exit: SystemExit(20) = leave now but keep the rollbacks (SIGUSR1).
GRACEFUL_EXIT_CODE = 20
# Signals deferred during the rollbacks before the next one is obeyed.
DEFERRED_LIMIT = 2
# How long after a signal background loads that are still starting get stopped.
LOAD_STOP_SECONDS = 30.0

Handler = Union[Callable[[int, Optional[FrameType]], Any], int, signal.Handlers, None]


class _State:
    def __init__(self) -> None:
        self.saved: dict[int, Handler] = {}
        self.in_rollbacks = False
        self.deferred = 0
        self.interrupted_by: Optional[str] = None
        self.load_stopper: Optional[threading.Thread] = None
        self.done = threading.Event()  # set by cleanup_control: the run is over
        self.activity_time: Any = None  # chaoslib.activity's own `time` while replaced


_state = _State()


def _on_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _install(signum: int, handler: Handler) -> None:
    previous = signal.signal(signum, handler)
    _state.saved.setdefault(signum, previous)


def _stop_background_loads() -> None:
    """Stop the customer loads of background ``generate_load`` activities, now and for a while.

    chaoslib waits for every background activity before it rolls back: a
    20-minute load would keep the faults in place for 20 minutes after Ctrl-C.
    A load may still be starting (its thread importing the load generator) when
    the signal comes, so a daemon thread keeps stopping whatever registers for
    ``LOAD_STOP_SECONDS``. Nothing here may raise: the interruption must win.
    """
    if _state.load_stopper is not None:
        return

    done = _state.done

    def stop_loads() -> None:
        deadline = time.monotonic() + LOAD_STOP_SECONDS
        stopped = 0
        while time.monotonic() < deadline and not done.is_set():
            engine = sys.modules.get("chaosaws_serverless.loadgen.engine")
            stop_all = getattr(engine, "stop_all_loads", None)
            if stop_all is not None:
                try:
                    count = stop_all()
                except Exception as error:  # never let this thread die loudly
                    logger.warning(f"could not stop the background loads: {error}")
                    return
                if count and not stopped:
                    logger.warning(f"stopping {count} background load(s) so the rollbacks start")
                stopped += count
            done.wait(0.1)

    _state.load_stopper = threading.Thread(target=stop_loads, name="stop-loads", daemon=True)
    _state.load_stopper.start()


def _terminate(signum: int, frame: Optional[FrameType]) -> None:
    """SIGTERM during the experiment: interrupt it like chaoslib's SIGUSR1, keeping rollbacks."""
    _state.interrupted_by = "SIGTERM"
    _stop_background_loads()
    logger.warning(
        "SIGTERM received: interrupting the experiment now; the rollbacks will run before exit"
    )
    raise SystemExit(GRACEFUL_EXIT_CODE)


def _interrupt(signum: int, frame: Optional[FrameType]) -> None:
    """SIGINT during the experiment: Python's own KeyboardInterrupt, noted for the rollbacks."""
    _state.interrupted_by = "SIGINT"
    _stop_background_loads()
    raise KeyboardInterrupt


def _defer(signum: int, frame: Optional[FrameType]) -> None:
    """A signal during the rollbacks: log and carry on, unless the operator insists."""
    name = signal.Signals(signum).name
    _state.deferred += 1
    if _state.deferred > DEFERRED_LIMIT:
        logger.error(
            f"{name} received {_state.deferred} times during the rollbacks: stopping them now. "
            "Faults may remain: run `chaosaws-serverless rollback` to restore every function"
        )
        raise KeyboardInterrupt
    logger.warning(
        f"{name} received during the rollbacks: finishing them first so no fault stays in "
        f"place ({DEFERRED_LIMIT - _state.deferred + 1} more to force an exit)"
    )


class _PausesEndOnInterruption:
    """``chaoslib.activity``'s view of the ``time`` module: no pause after a signal.

    chaoslib sleeps an activity's ``pauses.after`` in a ``finally``, so an
    activity interrupted by the signal still sleeps its pause (390 s after
    ``wait_for_failover`` in the reference experiment) with the faults on.
    Only that module's ``time`` is replaced, and only its ``sleep`` changes:
    once a signal interrupted the run, pauses outside the rollbacks return at once.
    """

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)

    def sleep(self, seconds: float) -> None:
        if _state.interrupted_by and not _state.in_rollbacks:
            logger.warning(
                f"skipping a {seconds} s pause: {_state.interrupted_by} interrupted the run"
            )
            return
        time.sleep(seconds)


def _replace_activity_time() -> None:
    import chaoslib.activity as activity_module

    if not isinstance(activity_module.time, _PausesEndOnInterruption):
        _state.activity_time = activity_module.time
        activity_module.time = _PausesEndOnInterruption()


def _restore_activity_time() -> None:
    if _state.activity_time is not None:
        import chaoslib.activity as activity_module

        activity_module.time = _state.activity_time
        _state.activity_time = None


def configure_control(
    configuration: Configuration = None,
    secrets: Secrets = None,
    settings: Settings = None,
    **kwargs: Any,
) -> None:
    """Make SIGTERM interrupt the run the way Ctrl-C does (rollbacks kept)."""
    cleanup_control()
    if not _on_main_thread():
        logger.warning(
            "safe_interrupt: the experiment does not run on the main thread; signals cannot be "
            "handled here, SIGTERM keeps chaoslib's behaviour"
        )
        return
    _install(signal.SIGTERM, _terminate)
    _install(signal.SIGINT, _interrupt)
    _replace_activity_time()


def before_rollback_control(context: Any = None, **kwargs: Any) -> None:
    """Defer SIGINT/SIGTERM while the rollbacks run."""
    if not _on_main_thread():
        return
    _state.in_rollbacks = True
    _state.deferred = 0
    _install(signal.SIGTERM, _defer)
    _install(signal.SIGINT, _defer)


def after_rollback_control(context: Any = None, **kwargs: Any) -> None:
    """Rollbacks done: signals interrupt again."""
    if not _on_main_thread() or not _state.in_rollbacks:
        return
    _state.in_rollbacks = False
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, _interrupt)


def after_experiment_control(
    context: Experiment,
    state: Optional[Journal] = None,
    configuration: Configuration = None,
    secrets: Secrets = None,
    settings: Settings = None,
    **kwargs: Any,
) -> None:
    """Run the rollbacks of a signal-interrupted run when the strategy skipped them."""
    if not _state.interrupted_by or not isinstance(state, dict):
        return
    experiment = context
    declared = experiment.get("rollbacks") or []
    if not declared or state.get("rollbacks"):
        return
    strategy = rollback_strategy(experiment, settings)
    if strategy == "never":
        logger.warning(
            f"{_state.interrupted_by} interrupted the run and the rollback strategy is 'never': "
            "faults may remain; `chaosaws-serverless rollback` restores every function"
        )
        return
    logger.warning(
        f"{_state.interrupted_by} interrupted the run and chaoslib skipped the rollbacks "
        f"(strategy {strategy!r}): running the {len(declared)} rollback(s) now"
    )
    runs: list = []
    before_rollback_control()
    try:
        apply_declared_rollbacks(experiment, configuration, secrets, runs)
    finally:
        after_rollback_control()
        state["rollbacks"] = runs
        state["safe_interrupt"] = {"signal": _state.interrupted_by, "rollbacks_run_by": "control"}


def cleanup_control(**kwargs: Any) -> None:
    """Put back the signal handlers this control replaced."""
    global _state
    _state.done.set()
    _restore_activity_time()
    if _on_main_thread():
        for signum, handler in _state.saved.items():
            signal.signal(signum, handler)
    _state = _State()
