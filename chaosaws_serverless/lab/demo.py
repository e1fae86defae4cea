"""``chaosaws-serverless lab demo``: the reference experiment, misconfigured stack then fixed.

Each run: deploy the stack into the emulator, start its data plane (customers
in both regions included), let traffic settle, run
``chaos run experiments/region-failure.json --var-file <the stack's values>``
as any user would, then stop the data plane and explain the outcome from the
journal, the data plane's events and the emulator's metrics. Outputs per run
in ``<output>/<variant>/``: ``journal.json``, ``report.html`` (``chaos
report``), ``timeline.png``, ``values.json``, logs; ``<output>/summary.json``
holds the figures. The exit code is 0 only when both outcomes are the
expected ones: the misconfigured stack deviates, its US health check never
turns unhealthy and the misconfiguration finder names the bug; the fixed stack
holds and fails over.

This module runs the processes and reads what a run left behind;
:mod:`.analysis` turns that into figures and a verdict (pure), :mod:`.prose`
into words.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click
import logzero

from chaosaws_serverless.lab import analysis, chaos_cli, fis_run, prose
from chaosaws_serverless.lab.analysis import STOP_CONDITION, VARIANTS, RunResult, first_line
from chaosaws_serverless.lab.emulator import FAKE_CREDENTIALS
from chaosaws_serverless.lab.processes import Child, stop_pid
from chaosaws_serverless.lab.prose import relative, rule
from chaosaws_serverless.lab.session import Lab, start_emulator, start_lab
from chaosaws_serverless.lab.stack import load_stack
from chaosaws_serverless.timeline.core import read_journal_timeline
from chaosaws_serverless.timeline.draw import draw_timeline
from chaosaws_serverless.timeline.journal import embed_chart, journal_configuration
from chaosaws_serverless.timeline.metrics import TimelineData

__all__ = [
    "STOP_CONDITION",
    "VARIANTS",
    "RunResult",
    "default_experiment",
    "run_demo",
    "run_variant",
]

# Traffic kept flowing after the run, so the timeline shows the recovery too.
RECOVERY_SECONDS = 6.0


def default_experiment() -> Path:
    """Return the shipped ``experiments/region-failure.json`` (the repository's, in a checkout)."""
    from chaosaws_serverless.shipped import EXPERIMENTS, shipped_path

    return shipped_path(EXPERIMENTS, "region-failure.json")


def run_demo(
    output: Path,
    *,
    experiment: Path,
    endpoint_url: str | None = None,
    variants: tuple[str, ...] | None = None,
    fis_mode: str = "ssm-automation",
    echo: Any = click.echo,
) -> tuple[int, list[RunResult]]:
    """Run the demo; return (exit code, results). Every process started is stopped.

    An FIS experiment (``region-failure-fis.json``) runs its template in ``fis_mode`` and,
    by default, a third run: :data:`STOP_CONDITION`.
    """
    if not experiment.exists():
        raise click.ClickException(
            f"experiment {experiment} not found; pass --experiment with an existing file"
        )
    fis = fis_run.is_fis_experiment(experiment)
    if variants is None:
        variants = (*VARIANTS, STOP_CONDITION) if fis else VARIANTS
    if STOP_CONDITION in variants and not fis:
        raise click.ClickException(
            f"the {STOP_CONDITION} run needs an FIS experiment (its template's stop condition); "
            "pass --experiment experiments/region-failure-fis.json"
        )
    output.mkdir(parents=True, exist_ok=True)
    # The demo explains the outcome itself: the activities' own log lines would repeat it.
    logzero.loglevel(logging.ERROR)
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    emulator_child: Child | None = None
    results: list[RunResult] = []
    started = time.monotonic()
    try:
        emulator_child = start_emulator(output, endpoint_url=endpoint_url, parent_pid=os.getpid())
        url = emulator_child.ready["url"]
        echo(
            f"AWS control plane: moto server behind the SSM Automation and FIS models at {url} "
            "(127.0.0.1 only)"
        )
        for variant in variants:
            results.append(
                run_variant(
                    variant,
                    output / variant,
                    experiment=experiment,
                    emulator_child=emulator_child,
                    endpoint_url=url,
                    fis_mode=fis_mode if fis else "",
                    echo=echo,
                )
            )
    finally:
        if emulator_child is not None:
            stop_pid(emulator_child.pid)
        signal.signal(signal.SIGTERM, previous)
    total = time.monotonic() - started
    summary = {
        "total_seconds": round(total, 1),
        "experiment": str(experiment),
        "runs": [asdict(r) | {"as_expected": r.as_expected} for r in results],
    }
    (output / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    echo(prose.verdict(results, total, output, len(variants)))
    ok = len(results) == len(variants) and all(r.as_expected for r in results)
    return (0 if ok else 1), results


def _raise_interrupt(*_: Any) -> None:
    raise KeyboardInterrupt


def run_variant(
    variant: str,
    directory: Path,
    *,
    experiment: Path,
    emulator_child: Child | None,
    endpoint_url: str,
    fis_mode: str = "",
    echo: Any = click.echo,
) -> RunResult:
    """Deploy one variant, run the experiment against it and explain the outcome.

    ``fis_mode`` (an FIS experiment): the template's mode; the run's template is compiled
    for the stack first, and what FIS and SSM left is read after it.
    """
    stop_condition = variant == STOP_CONDITION
    misconfigured = variant in ("misconfigured", STOP_CONDITION)
    if directory.exists():
        shutil.rmtree(directory)
    stack = load_stack(misconfigured=misconfigured)
    echo("")
    echo(rule(f"{variant} stack" + (f" (FIS, {fis_mode})" if fis_mode else "")))
    if misconfigured:
        echo("The US health check watches the EU domain (the reference run's bug).")
    else:
        echo("Each health check watches its own region's domain.")
    if stop_condition:
        echo(
            "The FIS template's stop condition is the US customers' error alarm, and the run "
            "has no rollback of the package (--rollback-strategy never): only FIS and the SSM "
            "document may restore the functions."
        )
    lab = start_lab(
        stack,
        directory,
        endpoint_url=None if emulator_child else endpoint_url,
        emulator_child=emulator_child,
        reset=True,
    )
    try:
        # Enough customer data for the "before" probes (they read whatever the window holds).
        warm_up = min(float(stack.experiment["observation_window_seconds"]), 10.0) + 3
        gateways = ", ".join(
            f"{region} on 127.0.0.1:{ports['https']}"
            for region, ports in (lab.state()["gateways"] or {}).items()
        )
        echo(f"Deployed into the emulator; gateways: {gateways}.")
        echo(
            f"Customers in both regions call {stack.api_url}; letting traffic settle "
            f"for {warm_up:.0f} s..."
        )
        before: dict[str, Any] = {}
        if fis_mode:
            template = fis_run.prepare(lab, experiment, fis_mode, stop_condition=stop_condition)
            echo(f"FIS template compiled by chaosaws-serverless fis-template: {relative(template)}")
            before = fis_run.function_states(lab)
        time.sleep(warm_up)
        extra = ["--rollback-strategy", "never"] if stop_condition else []
        result = chaos_cli.run(variant, lab, experiment, echo, extra)
        if fis_mode:
            _engines_outcome(result, lab, before, fis_mode, echo)
        echo(f"Watching the recovery after the rollback for {RECOVERY_SECONDS:.0f} s...")
        time.sleep(RECOVERY_SECONDS)
    finally:
        lab.stop_dataplane()
    _analyse(result, lab)
    _outputs(result, lab, echo)
    echo(prose.explain(result, lab.deployment.regions))
    return result


def _engines_outcome(
    result: RunResult, lab: Lab, before: dict[str, Any], fis_mode: str, echo: Any
) -> None:
    """What FIS and SSM left once neither can change anything any more."""
    result.fis_mode = fis_mode
    if not fis_run.settle(lab):
        result.problems.append("an FIS experiment or an SSM automation was still running")
    experiment = fis_run.last_experiment(lab)
    if experiment:
        result.fis_state = str(experiment["state"]["status"])
        result.fis_reason = str(experiment["state"].get("reason", ""))
        echo(f"FIS experiment {experiment['id']}: {result.fis_state} ({result.fis_reason}).")
    result.functions_modified = fis_run.modified(before, fis_run.function_states(lab))


def _analyse(result: RunResult, lab: Lab) -> None:
    """Fill ``result`` from the journal, the data plane's events and the metrics."""
    deployment = lab.deployment
    us, eu = deployment.regions[0], deployment.regions[1]
    journal_path = lab.output / "journal.json"
    journal: dict[str, Any] = {}
    if journal_path.exists():
        journal = json.loads(journal_path.read_text(encoding="utf-8"))
    analysis.analyse_journal(result, journal)
    analysis.analyse_events(result, lab.events(), us)
    result.us_health_target = lab.stack.health_check_domains[us]

    try:
        from chaosaws_serverless.route53.probes import find_failover_misconfigurations

        result.findings = list(
            find_failover_misconfigurations(
                deployment.hosted_zone_id,
                deployment.record_name,
                configuration=deployment.configuration,
                secrets=dict(FAKE_CREDENTIALS),
            )
        )
    except Exception as error:  # reported, and it makes the run unexpected below
        result.problems.append(f"the misconfiguration finder failed: {first_line(error)}")

    data = _timeline_data(result, lab, journal)
    if data is not None and result.fault_start is not None:
        analysis.failure_ratios(result, data, us, eu)
        _draw(result, lab, data)

    analysis.judge(result)


def _timeline_data(result: RunResult, lab: Lab, journal: dict[str, Any]) -> TimelineData | None:
    """Read the run's timeline with the package's code, over the whole data plane's life."""
    events = lab.events()
    start = next((e["time"] for e in events if e["event"] == "started"), None)
    end = next((e["time"] for e in reversed(events) if e["event"] == "stopped"), time.time())
    end -= 2.5  # the customers' last interval is partial: leave it out of the graph
    if start is None:
        result.problems.append("the data plane recorded no start: no timeline")
        return None
    if not journal:
        result.problems.append("no journal: no timeline")
        return None
    try:
        configuration = journal_configuration(
            journal, {**lab.deployment.configuration, **_values(lab)}
        )
        return read_journal_timeline(
            journal, configuration, dict(FAKE_CREDENTIALS), start=start, end=end
        )
    except Exception as error:
        result.problems.append(f"could not read the metrics for the timeline: {error}")
        return None


def _values(lab: Lab) -> dict[str, Any]:
    values = json.loads(lab.values_path.read_text(encoding="utf-8"))
    return dict(values.get("configuration", values))


def _draw(result: RunResult, lab: Lab, data: TimelineData) -> None:
    # The run's own control drew the run; this one also shows the traffic before and the
    # recovery after, and replaces the picture in the journal before `chaos report`.
    path = draw_timeline(
        data, lab.output / "timeline.png", title=f"{result.variant} stack: {data.title}"
    )
    result.outputs["timeline"] = relative(path)
    journal_path = lab.output / "journal.json"
    journal = json.loads(journal_path.read_text(encoding="utf-8"))
    if embed_chart(journal, path.read_bytes()):
        journal_path.write_text(json.dumps(journal, indent=2, default=str), encoding="utf-8")


def _outputs(result: RunResult, lab: Lab, echo: Any) -> None:
    journal = lab.output / "journal.json"
    if journal.exists():
        result.outputs["journal"] = relative(journal)
        report = lab.output / "report.html"
        message = chaos_cli.report(journal, report, lab.values_path)
        if message:
            echo(f"(chaos report failed: {message})")
        else:
            result.outputs["report"] = relative(report)
    result.outputs["values"] = relative(lab.values_path)
