"""The lab's AWS control plane: a moto server on 127.0.0.1 behind the engines' front.

Run as ``python -m chaosaws_serverless.lab.emulator [--parent-pid PID]``: it
starts a moto server on a free port of 127.0.0.1 (moto's default is every
interface) and, in front of it, :mod:`.control_plane` (SSM Automation and FIS
experiments run by the models, alarms evaluated, everything else passed to
moto); it prints one JSON line ``{"url": <the front>, "moto_url": ...}`` when
it answers, and runs until SIGTERM or until its parent dies. The front's URL is
the lab's endpoint.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from chaosaws_serverless.lab.processes import Child, spawn, watch_parent

# The lab never needs real credentials; these keep boto3 from looking for any.
FAKE_CREDENTIALS = {
    "aws_access_key_id": "testing",
    "aws_secret_access_key": "testing",
    "aws_session_token": "testing",
}
FAKE_CREDENTIALS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


def start(
    log_path: Path, *, parent_pid: int = 0, regions: tuple[str, ...] = ("us-east-1", "eu-west-1")
) -> Child:
    """Start a moto server and its control plane in one process; return it once it answers."""
    args = ["-m", __name__, "--parent-pid", str(parent_pid), "--regions", ",".join(regions)]
    child = spawn("moto server", args, log_path)
    wait_until_up(child.ready["url"])
    return child


def start_front(
    upstream: str,
    log_path: Path,
    *,
    parent_pid: int = 0,
    regions: tuple[str, ...] = ("us-east-1", "eu-west-1"),
) -> Child:
    """Start the control plane alone, in front of a moto server the lab did not start."""
    args = ["-m", "chaosaws_serverless.lab.control_plane", "--upstream", upstream]
    args += ["--parent-pid", str(parent_pid), "--regions", ",".join(regions)]
    child = spawn("control plane", args, log_path)
    wait_until_up(child.ready["url"])
    return child


def wait_until_up(url: str, timeout_seconds: float = 20.0) -> None:
    """Wait until the moto server at ``url`` answers (raise RuntimeError when it never does)."""
    deadline = time.monotonic() + timeout_seconds
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=2).close()
            return
        except (urllib.error.URLError, OSError) as error:
            last = error
            time.sleep(0.1)
    raise RuntimeError(f"the moto server at {url} does not answer: {last}")


def reset(url: str) -> None:
    """Empty every service of the moto server at ``url``."""
    request = urllib.request.Request(f"{url}/moto-api/reset", method="POST")
    urllib.request.urlopen(request, timeout=10).close()


def configuration(url: str, regions: list[str]) -> dict[str, Any]:
    """Return the Chaos Toolkit configuration that points the package at the lab's emulator."""
    return {"aws_region": regions[0], "aws_regions": list(regions), "aws_endpoint_url": url}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="the front's port (moto's is free)")
    parser.add_argument("--parent-pid", type=int, default=0)
    parser.add_argument("--regions", default="us-east-1,eu-west-1")
    args = parser.parse_args(argv)

    from moto.server import ThreadedMotoServer

    from chaosaws_serverless.lab.control_plane import ControlPlane, serve

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    moto_url = f"http://{host}:{port}"
    plane = ControlPlane(moto_url, regions=tuple(args.regions.split(",")))
    front = serve(plane, args.port)
    front_host, front_port = front.server_address[:2]
    done = threading.Event()

    def stop(*_: Any) -> None:
        done.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    watch_parent(args.parent_pid, stop)
    print(
        json.dumps({"url": f"http://{front_host!s}:{front_port}", "moto_url": moto_url}), flush=True
    )
    while not done.wait(0.5):
        pass
    front.shutdown()
    plane.close()
    server.stop()
    sys.exit(0)


if __name__ == "__main__":
    main()
