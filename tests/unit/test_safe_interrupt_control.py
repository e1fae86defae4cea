"""The safe_interrupt control's signal handling, in this process (no AWS)."""

import os
import signal
import sys
from collections.abc import Iterator

import pytest

from chaosaws_serverless.controls import safe_interrupt


@pytest.fixture(autouse=True)
def restore_handlers() -> Iterator[None]:
    saved = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    yield
    safe_interrupt.cleanup_control()
    for signum, handler in saved.items():
        signal.signal(signum, handler)


def test_sigterm_raises_chaoslibs_graceful_exit() -> None:
    safe_interrupt.configure_control()
    with pytest.raises(SystemExit) as raised:
        os.kill(os.getpid(), signal.SIGTERM)
    assert raised.value.code == safe_interrupt.GRACEFUL_EXIT_CODE


def test_signals_during_rollbacks_are_deferred_until_the_third() -> None:
    safe_interrupt.configure_control()
    safe_interrupt.before_rollback_control()
    os.kill(os.getpid(), signal.SIGTERM)
    os.kill(os.getpid(), signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), signal.SIGTERM)
    safe_interrupt.after_rollback_control()
    with pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), signal.SIGINT)


def test_cleanup_puts_back_the_previous_handlers() -> None:
    def mine(signum: int, frame: object) -> None:
        pass

    signal.signal(signal.SIGTERM, mine)
    safe_interrupt.configure_control()
    assert signal.getsignal(signal.SIGTERM) is not mine
    safe_interrupt.before_rollback_control()
    safe_interrupt.cleanup_control()
    assert signal.getsignal(signal.SIGTERM) is mine


def test_after_experiment_runs_nothing_without_a_signal() -> None:
    safe_interrupt.configure_control()
    journal: dict = {"rollbacks": [], "status": "completed"}
    safe_interrupt.after_experiment_control({"rollbacks": [{"x": 1}]}, state=journal)
    assert journal == {"rollbacks": [], "status": "completed"}


def test_background_loads_are_stopped_even_when_still_starting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A load whose thread is still importing the engine gets stopped once it registers."""
    import time
    import types

    partial = types.ModuleType("chaosaws_serverless.loadgen.engine")  # no stop_all_loads yet
    monkeypatch.setitem(sys.modules, "chaosaws_serverless.loadgen.engine", partial)
    safe_interrupt.configure_control()
    with pytest.raises(SystemExit):
        os.kill(os.getpid(), signal.SIGTERM)
    calls: list[float] = []
    partial.stop_all_loads = lambda: calls.append(time.monotonic()) or 1  # type: ignore[attr-defined]
    deadline = time.monotonic() + 2
    while not calls and time.monotonic() < deadline:
        time.sleep(0.05)
    assert calls


def test_pauses_end_once_a_signal_interrupted_the_run() -> None:
    """chaoslib sleeps pauses.after even for the interrupted activity; not with the control."""
    import time

    import chaoslib.activity

    safe_interrupt.configure_control()
    with pytest.raises(SystemExit):
        os.kill(os.getpid(), signal.SIGTERM)
    started = time.monotonic()
    chaoslib.activity.time.sleep(30)  # the pause chaoslib would sleep
    assert time.monotonic() - started < 1
    assert chaoslib.activity.time.time() > 0  # everything else is the time module
    safe_interrupt.cleanup_control()
    assert chaoslib.activity.time is time


def _interrupted_activity() -> None:
    from chaoslib.exceptions import InterruptExecution

    raise InterruptExecution("SIGTERM while the activity ran")


def test_chaoslib_s_python_provider_on_an_interrupted_activity() -> None:
    """What the control works around, as each chaostoolkit-lib line does it (the docstring)."""
    import chaoslib
    from chaoslib.exceptions import ActivityFailed, InterruptExecution
    from chaoslib.provider.python import run_python_activity

    activity = {
        "type": "action",
        "name": "interrupted",
        "provider": {"type": "python", "module": __name__, "func": "_interrupted_activity"},
    }
    line = tuple(int(part) for part in chaoslib.__version__.split(".")[:3])
    # 1.44 (Python 3.11): a failed activity, the method goes on; 1.45.1: the run is interrupted.
    expected = InterruptExecution if line >= (1, 45, 1) else ActivityFailed
    with pytest.raises(expected) as raised:
        run_python_activity(activity, {}, {})
    assert type(raised.value) is expected
