"""`lab up` starts its processes on 127.0.0.1 only; `lab down` leaves none behind."""

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

from chaosaws_serverless.lab.processes import is_running

CLI = [str(Path(sys.executable).with_name("chaosaws-serverless")), "lab"]


def lab(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, cwd=cwd, timeout=90, check=False
    )


def listening_ports(pid: int) -> set[tuple[str, int]]:
    """Return the (address, port) pairs process ``pid`` listens on (from /proc)."""
    inodes = set()
    fd_dir = Path(f"/proc/{pid}/fd")
    for fd in fd_dir.iterdir():
        try:
            target = (fd_dir / fd.name).readlink()
        except OSError:
            continue
        if str(target).startswith("socket:["):
            inodes.add(str(target)[8:-1])
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                address, port = fields[1].split(":")
                found.add((address, int(port, 16)))
    return found


def test_lab_up_then_down_leaves_no_process_and_binds_loopback_only(tmp_path: Path) -> None:
    output = tmp_path / "lab"
    up = lab("up", "--output", str(output), cwd=tmp_path)
    assert up.returncode == 0, up.stdout + up.stderr
    state = json.loads((output / "lab-state.json").read_text())
    pids = list(state["processes"].values())
    try:
        assert set(state["processes"]) == {"moto server", "data plane"}
        assert all(is_running(pid) for pid in pids)
        for pid in pids:
            ports = listening_ports(pid)
            assert ports, f"pid {pid} listens nowhere"
            # 0100007F is 127.0.0.1 in /proc/net/tcp's byte order.
            assert {address for address, _ in ports} == {"0100007F"}, ports
        status = lab("status", "--output", str(output), cwd=tmp_path)
        assert status.returncode == 0, status.stdout + status.stderr
        assert "data plane" in status.stdout
        values = json.loads((output / "values.json").read_text())["configuration"]
        assert values["aws_endpoint_url"] == state["endpoint_url"]
        assert values["latency_ms"] == 5000
    finally:
        down = lab("down", "--output", str(output), cwd=tmp_path)
    assert down.returncode == 0, down.stdout + down.stderr
    assert not any(is_running(pid) for pid in pids)
    assert not (output / "lab-state.json").exists()
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", int(state["endpoint_url"].rsplit(":", 1)[1]))) != 0
    again = lab("status", "--output", str(output), cwd=tmp_path)
    assert again.returncode == 3


def test_children_exit_when_their_parent_dies(tmp_path: Path) -> None:
    """A demo killed with SIGKILL cannot clean up: its children notice and exit."""
    script = (
        "import json, os, sys\n"
        "from pathlib import Path\n"
        "from chaosaws_serverless.lab import emulator\n"
        "child = emulator.start(Path(sys.argv[1]) / 'moto.log', parent_pid=os.getpid())\n"
        "print(child.pid, flush=True)\n"
        "os._exit(0)\n"
    )
    parent = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, timeout=60
    )
    pid = int(parent.stdout.strip())
    deadline = time.monotonic() + 10
    while is_running(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not is_running(pid)
