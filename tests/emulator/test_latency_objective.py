"""The latency objective: share of requests slower than a threshold, from the load generator.

Real load (the package's generator) against a local API that answers after a
chosen delay, published to moto; the judge is the delay the server was told
to add, not the package's own arithmetic.
"""

import time
from typing import Any

import pytest
from chaoslib.exceptions import ActivityFailed

from chaosaws_serverless.cloudwatch import tolerances
from chaosaws_serverless.cloudwatch.probes import get_latency_percentile, get_slow_request_ratio
from chaosaws_serverless.loadgen.actions import generate_load
from tests.support.loadgen_server import (
    LocalApi,
    fixture_local_api,  # noqa: F401  # registers the `local_api` fixture
)

US = "us-east-1"


def load(url: str, configuration: dict[str, Any], client_region: str = US) -> dict[str, Any]:
    summary = generate_load(
        url,
        20,
        1.5,
        client_region=client_region,
        interval_seconds=0.5,
        configuration=configuration,
    )
    # A generator behind on a busy machine sheds (counts, never sends) what it cannot
    # send on time: the shares below are over what was answered, so fewer is fine.
    assert summary["failed_calls"] == 0, summary
    assert summary["completed"] + summary["dropped"] == summary["planned"] == 30, summary
    assert summary["completed"] >= 20, summary
    return summary


def test_share_of_slow_requests_follows_the_server_delay(
    local_api: LocalApi, configuration: dict[str, Any]
) -> None:
    fast, slow = local_api.base_url + "/us", local_api.base_url + "/delay/400"
    load(fast, configuration)
    load(slow, configuration)
    time.sleep(1.1)  # moto does not return datapoints of the current second
    window = 30

    def share(url: str, threshold: int) -> float:
        return get_slow_request_ratio(url, threshold, window, US, configuration=configuration)

    # Loopback answers in well under 100 ms; every /delay/400 answer takes 400 ms or more.
    assert share(fast, 100) == 0.0
    assert share(slow, 300) == 1.0
    assert share(slow, 1000) == 0.0
    # Thresholds as configuration substitution delivers them.
    assert share(slow, "300") == 1.0  # type: ignore[arg-type]
    assert tolerances.ratio_at_most(share(slow, 300), 0.01) is False
    assert tolerances.ratio_at_most(share(fast, 100), 0.01) is True


def test_no_data_and_bad_thresholds_are_errors_not_zero(
    local_api: LocalApi, configuration: dict[str, Any]
) -> None:
    url = local_api.base_url + "/us"
    with pytest.raises(ActivityFailed, match="no data"):
        get_slow_request_ratio(url, 1000, 30, US, configuration=configuration)
    load(url, configuration)
    time.sleep(1.1)
    with pytest.raises(ActivityFailed, match="no data"):  # other customers: nothing
        get_slow_request_ratio(url, 1000, 30, "eu-west-1", configuration=configuration)
    for bad in (750, 0, True, "1s"):
        with pytest.raises(ActivityFailed, match=r"threshold_ms must be one of .*1000"):
            get_slow_request_ratio(url, bad, 30, US, configuration=configuration)  # type: ignore[arg-type]


def test_percentile_on_moto_is_a_clear_error(
    local_api: LocalApi, configuration: dict[str, Any]
) -> None:
    url = local_api.base_url + "/us"
    load(url, configuration)
    time.sleep(1.1)
    # moto refuses percentile statistics: an ActivityFailed naming the call, never a number.
    with pytest.raises(ActivityFailed, match="GetMetricData"):
        get_latency_percentile(url, 99, 30, US, configuration=configuration)
