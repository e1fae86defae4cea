"""``chaosaws-serverless lab up|down|status|demo``: the local lab from the command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from chaosaws_serverless.extras import needs_extra

DEFAULT_OUTPUT = "lab-output"


@click.group("lab")
def lab() -> None:
    """Run the reference two-region architecture locally (moto server + a local data plane)."""


@lab.command("up")
@click.option("--output", default=DEFAULT_OUTPUT, show_default=True, type=click.Path())
@click.option("--misconfigured", is_flag=True, help="The US health check targets the EU domain.")
@click.option(
    "--endpoint-url", default=None, help="Reuse this moto server instead of starting one."
)
@click.option("--stack", "stack_file", default=None, type=click.Path(exists=True, dir_okay=False))
@click.option("--no-customers", is_flag=True, help="Do not start the simulated customers.")
@needs_extra("lab")
def up(
    output: str,
    misconfigured: bool,
    endpoint_url: str | None,
    stack_file: str | None,
    no_customers: bool,
) -> None:
    """Deploy the stack into the emulator and start its data plane in the background."""
    from chaosaws_serverless.lab.processes import read_state
    from chaosaws_serverless.lab.session import save_state, start_lab
    from chaosaws_serverless.lab.stack import StackError, load_stack

    directory = Path(output)
    if read_state(directory) is not None:
        raise click.ClickException(
            f"a lab is already recorded in {directory}; run `chaosaws-serverless lab down "
            f"--output {output}` first"
        )
    try:
        stack = load_stack(stack_file, misconfigured=misconfigured)
    except StackError as error:
        raise click.ClickException(str(error)) from None
    running = start_lab(
        stack,
        directory,
        endpoint_url=endpoint_url,
        customers=not no_customers,
        parent_pid=0,  # outlive this command: `lab down` stops them
        stack_file=stack_file,
    )
    save_state(running)
    variant = "misconfigured" if misconfigured else "correctly configured"
    click.echo(f"Lab up ({variant}): moto server at {running.endpoint_url}")
    for region, ports in (running.state()["gateways"] or {}).items():
        domain = stack.regions[region]
        click.echo(f"  {region}: {domain} -> 127.0.0.1:{ports['https']} (https), {ports['http']}")
    click.echo(f"  customers call {stack.api_url} from both regions" if not no_customers else "")
    click.echo(f"Values for the experiment: {running.values_path}")
    click.echo(
        f"Try: chaos run --var-file {running.values_path} --var-file {running.env_path} "
        "experiments/region-failure.json\n"
        f"     ({running.env_path.name} points boto3 at the emulator with fake credentials)\n"
        f"Stop: chaosaws-serverless lab down --output {output}"
    )


@lab.command("down")
@click.option("--output", default=DEFAULT_OUTPUT, show_default=True, type=click.Path())
@needs_extra("lab")
def down(output: str) -> None:
    """Stop every process `lab up` started (recorded in OUTPUT/lab-state.json)."""
    from chaosaws_serverless.lab.session import stop_recorded

    stopped = stop_recorded(Path(output))
    if not stopped:
        click.echo(f"No lab recorded in {output}: nothing to stop.")
        return
    for name, pid, was_running in stopped:
        click.echo(f"  {name} (pid {pid}): {'stopped' if was_running else 'was not running'}")
    click.echo("Lab down.")


@lab.command("status")
@click.option("--output", default=DEFAULT_OUTPUT, show_default=True, type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print the raw status as JSON.")
@needs_extra("lab")
def status(output: str, as_json: bool) -> None:
    """Show the lab's processes, health checks, routes and customers."""
    from chaosaws_serverless.lab.session import recorded_status

    state = recorded_status(Path(output))
    if state is None:
        click.echo(f"No lab recorded in {output}. Start one with `chaosaws-serverless lab up`.")
        sys.exit(3)
    if as_json:
        click.echo(json.dumps(state, indent=2))
        return
    click.echo(f"Lab in {output} ({'misconfigured' if state['misconfigured'] else 'correct'})")
    click.echo(f"  emulator: {state['endpoint_url']}")
    for name, alive in state["running"].items():
        click.echo(f"  {name} (pid {state['processes'][name]}): {'up' if alive else 'DOWN'}")
    plane = state.get("dataplane") or {}
    for hc_id, check in (plane.get("health_checks") or {}).items():
        verdict = "healthy" if check["healthy"] else f"UNHEALTHY ({check['last_error']})"
        click.echo(f"  health check {check['region']} ({hc_id}) on {check['target']}: {verdict}")
    for client, region in (plane.get("routes") or {}).items():
        click.echo(f"  customers in {client} are routed to {region}")
    for customer in plane.get("customers") or []:
        counts = customer.get("counts") or {
            k.removeprefix("status_"): v for k, v in customer.items() if k.startswith("status_")
        }
        shown = ", ".join(f"{k} {v}" for k, v in counts.items() if v) or "no answers yet"
        click.echo(f"  customers in {customer['client_region']}: {shown}")
    if not all(state["running"].values()):
        sys.exit(1)


@lab.command("demo")
@click.option("--output", default=DEFAULT_OUTPUT, show_default=True, type=click.Path())
@click.option(
    "--experiment",
    default=None,
    type=click.Path(dir_okay=False),
    help="Experiment to run (default: the shipped experiments/region-failure.json).",
)
@click.option("--endpoint-url", default=None, help="Reuse this moto server (it is reset).")
@click.option(
    "--only",
    type=click.Choice(["misconfigured", "fixed", "stop-condition"]),
    default=None,
    help="Run one stack only (stop-condition: an FIS experiment's stop condition fires).",
)
@click.option(
    "--fis-mode",
    type=click.Choice(["ssm-automation", "fis-extension"]),
    default="ssm-automation",
    show_default=True,
    help="An FIS experiment's template mode (the SSM document, or FIS's Lambda actions).",
)
@needs_extra("lab")
def demo(
    output: str, experiment: str | None, endpoint_url: str | None, only: str | None, fis_mode: str
) -> None:
    """Run the reference experiment on the misconfigured, then on the fixed stack, and explain.

    With an FIS experiment (experiments/region-failure-fis.json) FIS runs the fault (the
    lab's FIS and SSM models), and a third run lets its stop condition stop it.
    """
    from chaosaws_serverless.inputs import InputError, read_experiment
    from chaosaws_serverless.lab.demo import default_experiment, run_demo

    path = Path(experiment) if experiment else default_experiment()
    try:
        read_experiment(path)  # a file chaos run cannot read is refused before the lab starts
    except InputError as error:
        raise click.ClickException(str(error)) from None
    try:
        code, _ = run_demo(
            Path(output),
            experiment=path,
            endpoint_url=endpoint_url,
            variants=(only,) if only else None,
            fis_mode=fis_mode,
        )
    except KeyboardInterrupt:
        click.echo("\nInterrupted: every lab process was stopped.", err=True)
        sys.exit(130)
    sys.exit(code)
