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
from tests.support.lambdas import World

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
    # Tests of other things run their faults without a dead man's switch, and say so
    # (tests/emulator/test_fault_switch.py arms it).
    return {
        "aws_region": US,
        "aws_regions": [US, EU],
        "aws_endpoint_url": moto_server,
        "fault_switch": "off",
    }


@pytest.fixture
def aws(configuration: dict[str, Any]) -> Callable[..., Any]:
    """Return a factory of plain boto3 clients on the moto server, to arrange and assert state.

    One client per service and region for the test's life: building a botocore client
    costs more CPU than most calls to the server, and helpers call ``aws(...)`` per read.
    """
    clients: dict[tuple[str, str], Any] = {}

    def make(service: str, region: str = US) -> Any:
        if (service, region) not in clients:
            clients[service, region] = boto3.client(
                service, region_name=region, endpoint_url=configuration["aws_endpoint_url"]
            )
        return clients[service, region]

    return make


@pytest.fixture(scope="session")
def script_runner() -> Iterator[Any]:
    """The SSM Automation model's python3.11 script workers, started once per session."""
    from chaosaws_serverless.lab.ssm import ScriptRunner

    runner = ScriptRunner()
    yield runner
    runner.close()


@pytest.fixture
def world(aws: Callable[..., Any], configuration: dict[str, Any]) -> World:
    """Return a ``World``: Lambda functions and layers arranged in moto, read back."""
    return World(aws, configuration)


_TIERS = ("unit", "local", "emulator", "stubbed", "resilience", "lab")
# The tiers whose tests need no emulator: none of them may start one.
_NO_EMULATOR = ("unit", "local")


def pytest_itemcollected(item: pytest.Item) -> None:
    """Mark each test with its tier, the folder it lives in (``pytest -m unit``)."""
    tier = item.path.parent.name
    if tier in _TIERS:
        item.add_marker(getattr(pytest.mark, tier))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Refuse a test of a tier without emulator that asks for the moto server (any fixture)."""
    wrong = [
        item.nodeid
        for item in items
        if item.path.parent.name in _NO_EMULATOR
        and "moto_server" in getattr(item, "fixturenames", ())
    ]
    if wrong:
        raise pytest.UsageError(
            f"tests/{'|'.join(_NO_EMULATOR)} need no emulator, but these tests ask for the moto "
            f"server: {', '.join(wrong)}; move them to tests/emulator"
        )


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Under pytest-xdist (``-n`` in pyproject.toml) the lab tests are one unit of work.

    One worker runs them one after the other, as a plain ``pytest`` does, so no two
    labs (each a moto server, gateways, customers and a chaos run with timing
    assertions) compete for the cores at once; every other test is a unit of its own.
    xdist hands out the largest unit first, so the lab (the demo alone takes minutes,
    mostly waiting) starts at once and the other workers fill that time with the rest.
    (Not ``xdist_group`` marks with ``--dist loadgroup``: pytest-xdist 3.8 groups by
    rewriting ``item._nodeid``, which pytest 9.2 no longer reads.) Another ``--dist``
    given on the command line keeps its own scheduler.
    """
    if config.getvalue("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class LabTestsTogether(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return "tests/lab" if nodeid.startswith("tests/lab/") else nodeid

    return LabTestsTogether(config, log)
