"""What the Lambda benchmarks share: an offline AWS environment, a function's code, a call counter.

Import it before any client is made: it removes what could reach a real account (profile, role,
session token, endpoint) and sets fake credentials, so every client goes to the
local emulator the benchmark starts.
"""

import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: tests.support

from tests.support.lambdas import code_zip  # a function's package, as the tests make it

__all__ = ["ORIGINAL_ENV", "Calls", "code_zip"]

for _name in ("AWS_PROFILE", "AWS_ROLE_ARN", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
    os.environ.pop(_name, None)
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_CONFIG_FILE=os.devnull,
    AWS_SHARED_CREDENTIALS_FILE=os.devnull,
)

# Each benchmark function's own environment: it must come back exactly after a rollback.
ORIGINAL_ENV = {"TABLE": "orders", "API_SECRET": "do-not-log-me"}


class Calls:
    """Count API calls per operation through botocore's event system."""

    def __init__(self) -> None:
        self.counter: Counter[str] = Counter()

    def hook(self, event_name: str, **_: Any) -> None:
        self.counter[event_name.rsplit(".", 1)[-1]] += 1

    def watch(self, events: Any) -> None:
        events.register("before-send.*", self.hook)

    def take(self) -> Counter[str]:
        taken, self.counter = self.counter, Counter()
        return taken
