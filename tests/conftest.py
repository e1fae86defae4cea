"""Test harness: a real moto server on 127.0.0.1, reset between tests.

Tests under ``tests/emulator`` reach AWS APIs through boto3 over HTTP to this
server; the activities find it through ``aws_endpoint_url`` in the
configuration the ``configuration`` fixture returns, exactly as a user points
them at the lab.
"""

import os
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from chaosaws_serverless.aws import clear_client_cache

US, EU = "us-east-1", "eu-west-1"

# No test may read a developer's real AWS setup or reach a real account.
_ISOLATED_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_DEFAULT_REGION": US,
}


@pytest.fixture(scope="session", autouse=True)
def isolated_aws_environment() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        for name in ("AWS_PROFILE", "AWS_REGION", "AWS_ENDPOINT_URL", "AWS_ROLE_ARN"):
            patch.delenv(name, raising=False)
        for name, value in _ISOLATED_ENV.items():
            patch.setenv(name, value)
        yield


@pytest.fixture(scope="session")
def moto_server(isolated_aws_environment: None) -> Iterator[str]:
    """Start one moto server for the session and return its URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def configuration(moto_server: str) -> dict[str, Any]:
    """Return a Chaos Toolkit configuration pointing at a freshly reset moto server."""
    request = urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST")
    urllib.request.urlopen(request, timeout=10).close()
    clear_client_cache()
    return {"aws_region": US, "aws_regions": [US, EU], "aws_endpoint_url": moto_server}


@pytest.fixture
def aws(configuration: dict[str, Any]) -> Callable[..., Any]:
    """Return a factory of plain boto3 clients on the moto server, to arrange and assert state."""

    def make(service: str, region: str = US) -> Any:
        return boto3.client(
            service, region_name=region, endpoint_url=configuration["aws_endpoint_url"]
        )

    return make


_TIERS = ("unit", "emulator", "stubbed", "resilience", "lab")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test with its tier, the folder it lives in (``pytest -m unit``)."""
    for item in items:
        tier = item.path.parent.name
        if tier in _TIERS:
            item.add_marker(getattr(pytest.mark, tier))
