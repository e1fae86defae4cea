"""The lab's control plane: moto, with SSM Automation, FIS experiments, alarms and schedules run.

moto stores Automation documents, FIS templates, alarms and schedules, and runs none of them.
This thin HTTP front on 127.0.0.1 answers the automation and experiment APIs from the models
(:mod:`.ssm`, :mod:`.fis`) and passes every other request to moto
unchanged; a thread evaluates CloudWatch alarms (:mod:`.alarms`) every second, another fires
the due EventBridge Scheduler schedules (:mod:`.scheduler`) into the SSM model. Whatever
talks to the lab's endpoint (``chaos run``, the CLI, boto3) sees one AWS where
``StartAutomationExecution`` runs the runbook and ``StartExperiment`` runs the template.

Answered here (everything else goes to moto):

- SSM (awsJson1.1, ``X-Amz-Target: AmazonSSM.<Operation>``): StartAutomationExecution,
  GetAutomationExecution, StopAutomationExecution, DescribeAutomationExecutions;
- FIS (restJson1): StartExperiment ``POST /experiments``, GetExperiment
  ``GET /experiments/{id}``, StopExperiment ``DELETE /experiments/{id}``, ListExperiments
  ``GET /experiments``;
- ``POST /moto-api/reset`` also forgets the models' executions and experiments.

The wire shapes follow botocore's models of the two services (its parsers read these
answers). Run it with ``python -m chaosaws_serverless.lab.control_plane --upstream URL``, or
in the emulator's process (:mod:`.emulator` starts it in front of its moto server).
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import re
import signal
import sys
import threading
import urllib.parse
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from chaosaws_serverless.lab import alarms
from chaosaws_serverless.lab.fis import ExperimentError, Experiments
from chaosaws_serverless.lab.scheduler import Scheduler
from chaosaws_serverless.lab.ssm import (
    Automation,
    AutomationError,
    AwsAccess,
    Clock,
    ScriptRunner,
)

__all__ = ["ControlPlane", "main", "serve"]

_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request")
_EXPERIMENT_PATH = re.compile(r"^/experiments(?:/(?P<id>[^/?]+))?$")
_SSM_OPERATIONS = (
    "StartAutomationExecution",
    "GetAutomationExecution",
    "StopAutomationExecution",
    "DescribeAutomationExecutions",
)
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade"}


def _wire(node: Any) -> Any:
    """JSON for botocore's parsers: timestamps as epoch seconds."""
    if isinstance(node, dt.datetime):
        return node.timestamp()
    if isinstance(node, Mapping):
        return {str(k): _wire(v) for k, v in node.items()}
    if isinstance(node, list | tuple):
        return [_wire(v) for v in node]
    return node


class ControlPlane:
    """The models behind the front, and the alarm evaluator."""

    def __init__(
        self,
        upstream: str,
        *,
        regions: tuple[str, ...] = ("us-east-1",),
        wait_scale: float = 1.0,
        alarm_seconds: float = 1.0,
        schedule_precision_seconds: float = 60.0,
    ) -> None:
        self.upstream = upstream.rstrip("/")
        self.regions = regions
        self.wait_scale = wait_scale
        self.schedule_precision_seconds = schedule_precision_seconds
        self.access = AwsAccess(self.upstream)
        self.runner = ScriptRunner()
        self._lock = threading.Lock()
        self._build()
        self._stop = threading.Event()
        self._alarm_seconds = alarm_seconds
        threading.Thread(target=self._alarm_loop, name="alarms", daemon=True).start()
        threading.Thread(target=self._schedule_loop, name="schedules", daemon=True).start()

    def _build(self) -> None:
        automation = Automation(self.access, self.runner, clock=Clock(self.wait_scale))
        self.automation = automation
        self.fis = Experiments(self.access, automation)
        self.scheduler = Scheduler(
            self.access,
            lambda document, parameters, region: automation.start(
                document, parameters, region=region
            ),
            regions=self.regions,
            precision_seconds=self.schedule_precision_seconds,
        )

    def reset(self) -> None:
        """Forget every execution and experiment (moto's reset forgets the rest)."""
        with self._lock:
            self.fis.close()
            self.automation.close()
            self._build()

    def close(self) -> None:
        self._stop.set()
        self.fis.close()
        self.automation.close()
        self.runner.close()

    def _schedule_loop(self) -> None:
        while not self._stop.wait(1.0):
            with self._lock:
                scheduler = self.scheduler
            try:
                scheduler.tick()
            except Exception as error:  # moto restarting or reset: try again next time
                print(f"schedules: {error}", file=sys.stderr)

    def _alarm_loop(self) -> None:
        while not self._stop.wait(self._alarm_seconds):
            for region in self.regions:
                try:
                    alarms.evaluate_all(self.access.client("cloudwatch", region))
                except Exception as error:  # moto restarting or reset: try again next time
                    print(f"alarm evaluation in {region} failed: {error}", file=sys.stderr)

    # -- the two APIs -----------------------------------------------------------------------

    def ssm(self, operation: str, region: str, request: Mapping[str, Any]) -> Any:
        automation = self.automation
        if operation == "StartAutomationExecution":
            for unmodelled in ("Targets", "TargetMaps", "TargetLocations", "TargetParameterName"):
                if request.get(unmodelled):
                    raise AutomationError("ValidationException", f"{unmodelled} is not modelled")
            execution = automation.start(
                str(request.get("DocumentName", "")),
                request.get("Parameters") or {},
                region=region,
                document_version=request.get("DocumentVersion"),
                tags=list(request.get("Tags") or []),
            )
            return {"AutomationExecutionId": execution}
        if operation == "GetAutomationExecution":
            return {"AutomationExecution": automation.get(str(request["AutomationExecutionId"]))}
        if operation == "StopAutomationExecution":
            automation.stop(
                str(request["AutomationExecutionId"]), str(request.get("Type", "Cancel"))
            )
            return {}
        return {"AutomationExecutionMetadataList": automation.describe(request.get("Filters"))}

    def experiments(
        self,
        method: str,
        experiment_id: str | None,
        region: str,
        query: Mapping[str, Any],
        body: Any,
    ) -> Any:
        fis = self.fis
        if method == "POST" and experiment_id is None:
            started = fis.start(
                str(body.get("experimentTemplateId", "")), region=region, tags=body.get("tags")
            )
            return {"experiment": started}
        if method == "GET" and experiment_id is None:
            template = (query.get("experimentTemplateId") or [None])[0]
            return {"experiments": fis.list_experiments(template)}
        if method == "GET":
            return {"experiment": fis.get(str(experiment_id))}
        if method == "DELETE":
            return {"experiment": fis.stop(str(experiment_id))}
        raise ExperimentError("ValidationException", f"{method} /experiments is not an FIS API")


class _Front(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    plane: ControlPlane
    _local = threading.local()

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        scope = _SCOPE.search(self.headers.get("Authorization") or "")
        service, region = (scope["service"], scope["region"]) if scope else ("", "us-east-1")
        url = urllib.parse.urlsplit(self.path)
        target = str(self.headers.get("X-Amz-Target") or "")
        operation = target.rsplit(".", 1)[-1]
        try:
            if self.command == "POST" and url.path == "/moto-api/reset":
                self.plane.reset()
            elif (
                service == "ssm"
                and target.startswith("AmazonSSM.")
                and operation in _SSM_OPERATIONS
            ):
                answer = self.plane.ssm(operation, region, json.loads(body or b"{}"))
                return self._answer(200, answer, "application/x-amz-json-1.1")
            elif service == "fis" and (match := _EXPERIMENT_PATH.match(url.path)):
                query = urllib.parse.parse_qs(url.query)
                answer = self.plane.experiments(
                    self.command, match["id"], region, query, json.loads(body or b"{}")
                )
                return self._answer(200, answer, "application/json")
        except AutomationError as error:
            status = 400
            return self._error(status, error.code, error.message, "application/x-amz-json-1.1")
        except ExperimentError as error:
            status = 404 if error.code == "ResourceNotFoundException" else 400
            return self._error(status, error.code, error.message, "application/json")
        self._proxy(body)

    def _answer(self, status: int, answer: Any, content_type: str) -> None:
        payload = json.dumps(_wire(answer)).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _error(self, status: int, code: str, message: str, content_type: str) -> None:
        payload = json.dumps({"__type": code, "message": message}).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("x-amzn-ErrorType", code)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _connection(self) -> http.client.HTTPConnection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            parts = urllib.parse.urlsplit(self.plane.upstream)
            connection = http.client.HTTPConnection(str(parts.hostname), parts.port, timeout=120)
            self._local.connection = connection
        return connection

    def _proxy(self, body: bytes) -> None:
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        for attempt in (1, 2):  # a kept-alive connection moto closed: once more on a new one
            connection = self._connection()
            try:
                connection.request(self.command, self.path, body=body or None, headers=headers)
                response = connection.getresponse()
                payload = response.read()
                break
            except (http.client.HTTPException, OSError):
                connection.close()
                self._local.connection = None
                if attempt == 2:
                    raise
        self.send_response(response.status, response.reason)
        for key, value in response.getheaders():
            if key.lower() not in _HOP_BY_HOP and key.lower() != "content-length":
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)


def serve(plane: ControlPlane, port: int = 0) -> ThreadingHTTPServer:
    """Start the front on 127.0.0.1 in a thread; ``server.server_address`` has its port."""
    handler = type("Front", (_Front,), {"plane": plane})
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="control-plane", daemon=True).start()
    return server


def main(argv: list[str] | None = None) -> None:
    from chaosaws_serverless.lab.processes import watch_parent

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--upstream", required=True, help="the moto server's URL")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--parent-pid", type=int, default=0)
    parser.add_argument("--regions", default="us-east-1,eu-west-1")
    parser.add_argument("--wait-scale", type=float, default=1.0)
    args = parser.parse_args(argv)
    plane = ControlPlane(
        args.upstream, regions=tuple(args.regions.split(",")), wait_scale=args.wait_scale
    )
    server = serve(plane, args.port)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    watch_parent(args.parent_pid, done.set)
    host, port = server.server_address[:2]
    print(json.dumps({"url": f"http://{host!s}:{port}"}), flush=True)
    while not done.wait(0.5):
        pass
    server.shutdown()
    plane.close()
    sys.exit(0)


if __name__ == "__main__":
    main()
