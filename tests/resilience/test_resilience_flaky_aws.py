"""A flaky AWS (throttling, 500, 409, dropped connections) never leaves a function modified.

Two rounds of inject → rollback on six functions at once (layers, secrets,
aliases), 20% of the calls failing; ``benchmarks/resilience_flaky_aws.py``
runs fifty rounds and prints the figures.
"""

from typing import Any

from faultproxy import FaultProxy
from flaky import create_fleet, run_round

from chaosaws_serverless import aws


def test_inject_rollback_rounds_at_20_percent_faults_restore_everything(
    configuration: dict[str, Any],
) -> None:
    fleet = create_fleet(configuration["aws_endpoint_url"], 6, secret="planted-secret-0f3a")
    with FaultProxy(configuration["aws_endpoint_url"], fault_rate=0.2, seed=20) as proxy:
        rounds = [run_round(fleet, proxy, seed) for seed in range(2)]
    aws.clear_client_cache()
    assert proxy.stats.faults > 5, proxy.stats  # the proxy did bite
    for result in rounds:
        assert result.modified == {}, result
        assert result.errors == [], result.errors
