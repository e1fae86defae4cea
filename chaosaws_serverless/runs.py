"""Who runs a fault, as every record of this package keeps it: ``user@host pid N``.

The pid tells two runs on one machine apart: a run may re-apply its own fault in
place, never another run's. A leaf: the Lambda faults and the Route 53 drill both
stamp their records with it.
"""

import getpass
import os
import socket
from datetime import UTC, datetime

__all__ = ["injector", "now"]


def injector() -> str:
    """Return who injects, as the records keep it: ``user@host pid N`` (at most 100 characters)."""
    try:
        user = getpass.getuser()
    except Exception:  # no login name in some containers
        user = "unknown"
    return f"{user}@{socket.gethostname()} pid {os.getpid()}"[:100]


def now() -> str:
    """Return a record's timestamp: UTC, to the second."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
