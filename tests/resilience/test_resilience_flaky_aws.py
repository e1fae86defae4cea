"""A flaky AWS (throttling, 500, 409, dropped connections) never leaves a function modified.

Two rounds of inject → rollback on six functions at once (layers, secrets,
aliases), 20% of the calls failing; ``benchmarks/resilience_flaky_aws.py``
runs fifty rounds and prints the figures.
"""

from typing import Any

import pytest
from chaoslib.exceptions import ActivityFailed

from chaosaws_serverless import aws
from chaosaws_serverless.awslambda.actions import inject_latency
from tests.support.faultproxy import FaultProxy
from tests.support.flaky import create_fleet, run_round


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


def _no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore's pauses (backoff, adaptive rate limiting) and the engine's take no time.

    The attempts and the decisions to retry stay as they are.
    """
    from botocore.retries import adaptive, standard

    from chaosaws_serverless.awslambda.engine import calls

    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0)
    monkeypatch.setattr(adaptive.ClientRateLimiter, "on_sending_request", lambda *a, **k: None)
    monkeypatch.setattr(calls, "sleep", lambda seconds: None)


def test_a_throttle_is_retried_by_botocore_alone(
    configuration: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Throttled without end, GetFunction costs botocore's attempts (9), not 9 x 8 as it did."""
    _no_backoff(monkeypatch)
    fleet = create_fleet(configuration["aws_endpoint_url"], 1, secret="s")
    reads = "GET /2015-03-31/functions/" + fleet.names[0]
    with FaultProxy(
        configuration["aws_endpoint_url"],
        fault_rate=1.0,
        kinds=["throttle"],
        only=lambda request: request.operation == reads,
    ) as proxy:
        config = {**configuration, "aws_endpoint_url": proxy.url}
        aws.clear_client_cache()
        with pytest.raises(ActivityFailed, match="TooManyRequestsException"):
            inject_latency(fleet.names[0], 1000, layer_arn=fleet.chaos_layer, configuration=config)
    aws.clear_client_cache()
    # The first attempt and botocore's 8 retries (aws.py: max_attempts counts retries), once.
    assert proxy.stats.injected["throttle"] == 9


def test_an_update_in_progress_is_retried_by_the_engine_alone(
    configuration: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """botocore never retries a 409; the engine does, MAX_ATTEMPTS times, then rolls back."""
    from chaosaws_serverless.awslambda.engine.calls import MAX_ATTEMPTS

    _no_backoff(monkeypatch)
    fleet = create_fleet(configuration["aws_endpoint_url"], 1, secret="s")
    updates = "PUT /2015-03-31/functions/" + fleet.names[0] + "/configuration"
    with FaultProxy(
        configuration["aws_endpoint_url"],
        fault_rate=1.0,
        kinds=["conflict"],
        only=lambda request: request.operation == updates,
    ) as proxy:
        config = {**configuration, "aws_endpoint_url": proxy.url}
        aws.clear_client_cache()
        with pytest.raises(ActivityFailed, match="ResourceConflictException"):
            inject_latency(fleet.names[0], 1000, layer_arn=fleet.chaos_layer, configuration=config)
    aws.clear_client_cache()
    assert proxy.stats.injected["conflict"] == MAX_ATTEMPTS
    assert proxy.stats.retried == 0  # none of them was a botocore retry
