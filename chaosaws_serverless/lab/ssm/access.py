"""What the model's executions reach: boto3 clients on one endpoint, and time."""

from __future__ import annotations

import os
import threading
import time
from typing import Any, ClassVar


class AwsAccess:
    """boto3 clients on one endpoint (the lab's moto server), with the lab's fake credentials."""

    CREDENTIALS: ClassVar[dict[str, str]] = {
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
        "aws_session_token": "testing",
    }

    def __init__(self, endpoint_url: str, account: str = "123456789012") -> None:
        import boto3

        self.endpoint_url = endpoint_url
        self.account = account
        self._session = boto3.session.Session(**self.CREDENTIALS)
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def client(self, service: str, region: str) -> Any:
        with self._lock:
            key = (service, region)
            if key not in self._clients:
                self._clients[key] = self._session.client(
                    service, region_name=region, endpoint_url=self.endpoint_url
                )
            return self._clients[key]

    def script_environment(self, region: str) -> dict[str, str]:
        """What a script's boto3 sees: the execution's region and (assumed-role) credentials."""
        return {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": region,
            "AWS_REGION": region,
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        }


class Clock:
    """Real time; waits declared by documents last ``wait_scale`` times their length."""

    def __init__(self, wait_scale: float = 1.0) -> None:
        self.wait_scale = wait_scale

    def now(self) -> float:
        return time.monotonic()

    def wait(
        self, seconds: float, interrupted: threading.Event, until: float | None = None
    ) -> bool:
        """Wait ``seconds`` of document time, never past ``until`` (a :meth:`now` value).

        Returns True when the wait ended early (``interrupted`` set, or ``until`` reached).
        """
        real = max(0.0, seconds) * self.wait_scale
        if until is not None and until - self.now() < real:
            interrupted.wait(max(0.0, until - self.now()))
            return True
        return interrupted.wait(real)
