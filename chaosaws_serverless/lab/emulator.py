"""The lab's AWS control plane: a moto server on 127.0.0.1, started or reused.

Run as ``python -m chaosaws_serverless.lab.emulator [--parent-pid PID]``: it
binds a free port on 127.0.0.1 (moto's default is every interface), prints one
JSON line ``{"url": ...}`` when it answers, and runs until SIGTERM or until its
parent dies.
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


def start(log_path: Path, *, parent_pid: int = 0) -> Child:
    """Start a moto server process and return it once it answers."""
    args = ["-m", __name__, "--parent-pid", str(parent_pid)]
    child = spawn("moto server", args, log_path)
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
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--parent-pid", type=int, default=0)
    args = parser.parse_args(argv)

    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=args.port, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    done = threading.Event()

    def stop(*_: Any) -> None:
        done.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    watch_parent(args.parent_pid, stop)
    print(json.dumps({"url": f"http://{host}:{port}"}), flush=True)
    while not done.wait(0.5):
        pass
    server.stop()
    sys.exit(0)


if __name__ == "__main__":
    main()
