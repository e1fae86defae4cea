"""A regional API gateway: API Gateway + Lambda + the chaos extension, on 127.0.0.1.

For each request it reads the function's *live* configuration from the
emulator (cached for ``config_ttl_seconds``, like a warm Lambda environment
picks a new configuration up on its next cold start), then behaves the way the
real stack does:

- the chaos extension acts only when its layer is attached AND the function's
  ``AWS_LAMBDA_EXEC_WRAPPER`` names its wrapper; its variables are read by
  :mod:`chaosaws_serverless.lab.extension`, transcribed from the upstream
  source (v0.1.6, the published layers) independently of the package's own
  contract module: the latency is slept before the handler runs, the handler
  then runs (its side effects happen) and its payload is replaced by the raw
  ``DEFAULT_RESPONSE`` text, which API Gateway parses as a proxy response
  (malformed: 502);
- the wrapper set without the layer attached fails every invocation, as on
  Lambda (the wrapper script does not exist): 502;
- a function set up for the AWS FIS Lambda extension (its wrapper
  ``/opt/aws-fis/bootstrap``, its layer, ``AWS_FIS_CONFIGURATION_LOCATION``)
  gets the faults FIS's ``aws:lambda:*`` actions wrote to S3, with the effect the
  FIS guide documents (:mod:`chaosaws_serverless.lab.fis_extension`): a delay
  before the handler, a failed invocation (502), or an HTTP answer of the
  action's status code, the handler run or not;
- the function's ``Timeout`` ends the invocation (Lambda error → 502), and the
  gateway's integration timeout answers 504 first when it is the shorter one;
- a function at its reserved concurrency (0: throttled) is not invoked: Lambda
  answers 429 and API Gateway 500 ``Internal server error``;
- unknown paths answer 403 ``Missing Authentication Token`` and unknown hosts
  403 ``Forbidden``, as API Gateway does.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import random
import ssl
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from async_lru import alru_cache

from chaosaws_serverless import aws
from chaosaws_serverless.lab import fis_extension
from chaosaws_serverless.lab.extension import (
    PUBLISHED_BUILD,
    WRAPPER,
    WRAPPER_VARIABLE,
    Extension,
    handler_payload,
)

# Handlers named in a function's configuration ("functions.hello") are looked up
# in the module the lab deployed as that file: nothing else is importable.
HANDLER_MODULES = {"functions": "chaosaws_serverless.lab.functions"}

ConfigReader = Callable[[str, str], Awaitable[dict[str, Any]]]
# The function's reserved concurrency, as the config readers add it (None: unreserved).
RESERVED = "ReservedConcurrentExecutions"
FisReader = Callable[[str, dict[str, Any]], Awaitable[list[dict[str, Any]]]]


class _EmulatorReads:
    """Reads from the emulator in ``executor``, each key read once per TTL (async-lru).

    However many requests wait for a key, one call goes to the emulator; a read that
    fails is not kept, so the next request tries again.
    """

    def __init__(
        self,
        configuration: dict[str, Any],
        secrets: dict[str, Any],
        *,
        ttl_seconds: float = 1.0,
        executor: Executor | None = None,
    ) -> None:
        self._configuration = configuration
        self._secrets = secrets
        self._executor = executor
        self._read = alru_cache(maxsize=None, ttl=ttl_seconds)(self._read_in_executor)

    async def _read_in_executor(self, *key: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._fetch, *key)

    def _fetch(self, *key: Any) -> Any:
        raise NotImplementedError

    def _client(self, service: str, region: str) -> Any:
        return aws.client(service, region, self._configuration, self._secrets)


class FunctionConfigs(_EmulatorReads):
    """Live function configurations from the emulator, cached for a short TTL."""

    async def __call__(self, region: str, function_name: str) -> dict[str, Any]:
        config: dict[str, Any] = await self._read(region, function_name)
        return config

    def _fetch(self, region: str, function_name: str) -> dict[str, Any]:
        client = self._client("lambda", region)
        config = dict(client.get_function(FunctionName=function_name)["Configuration"])
        # The reservation is not in Configuration (GetFunction's "Concurrency", which
        # moto leaves out for a 0): read as GetFunctionConcurrency answers it.
        answer = client.get_function_concurrency(FunctionName=function_name)
        config[RESERVED] = answer.get("ReservedConcurrentExecutions")
        return config


class FisFaults(_EmulatorReads):
    """The faults FIS wrote for a function (AWS FIS Lambda extension), cached for a short TTL."""

    async def __call__(self, region: str, config: dict[str, Any]) -> list[dict[str, Any]]:
        location = fis_extension.location_of(config)
        if location is None:
            return []
        faults: list[dict[str, Any]] = await self._read(
            region, location, str(config["FunctionName"])
        )
        return faults

    def _fetch(self, region: str, location: tuple[str, str], name: str) -> list[dict[str, Any]]:
        s3 = self._client("s3", region)
        return fis_extension.read_faults(s3, location[0], location[1], name)


async def _no_fis_faults(region: str, config: dict[str, Any]) -> list[dict[str, Any]]:
    return []


@dataclass
class LambdaContext:
    """The parts of Lambda's context object the handlers may use."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    deadline: float
    function_version: str = "$LATEST"
    aws_request_id: str = ""

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


def layer_attached(config: dict[str, Any], layer_name: str) -> bool:
    """Return whether any version of layer ``layer_name`` is attached to the function."""
    for layer in config.get("Layers") or []:
        parts = str(layer.get("Arn", "")).split(":")
        if len(parts) >= 7 and parts[5] == "layer" and parts[6] == layer_name:
            return True
    return False


class RegionalGateway:
    """API Gateway with Lambda proxy integrations for one region, served by aiohttp."""

    def __init__(
        self,
        region: str,
        routes: dict[str, str],
        hosts: set[str],
        configs: ConfigReader,
        *,
        layer_name: str,
        integration_timeout_seconds: float,
        build: str = PUBLISHED_BUILD,
        random_source: Callable[[], float] = random.random,
        fis_faults: FisReader = _no_fis_faults,
    ) -> None:
        self.region = region
        self.routes = dict(routes)  # path -> function name
        self.hosts = {h.lower() for h in hosts}
        self.configs = configs
        self.layer_name = layer_name
        self.integration_timeout_seconds = integration_timeout_seconds
        self.build = build
        self.random = random_source
        self.fis_faults = fis_faults
        self.status_counts: Counter[int] = Counter()
        self.in_flight: Counter[str] = Counter()  # invocations running, per function
        self.port = 0  # plain HTTP
        self.tls_port = 0  # HTTPS, when started with a TLS context
        self._runner: web.AppRunner | None = None

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app

    async def start(
        self, host: str = "127.0.0.1", port: int = 0, *, tls: ssl.SSLContext | None = None
    ) -> int:
        """Serve HTTP on ``host:port`` (0: a free port), and HTTPS too with ``tls``.

        Return the HTTP port (the HTTPS one is ``tls_port``).
        """
        self._runner = web.AppRunner(
            self.app(), access_log=None, handle_signals=False, shutdown_timeout=0.5
        )
        await self._runner.setup()
        self.port = await self._site(host, port, None)
        if tls is not None:
            self.tls_port = await self._site(host, 0, tls)
        return self.port

    async def _site(self, host: str, port: int, tls: ssl.SSLContext | None) -> int:
        assert self._runner is not None
        site = web.TCPSite(self._runner, host, port, ssl_context=tls)
        await site.start()
        server = site._server  # aiohttp exposes the bound port only here
        assert server is not None
        return int(server.sockets[0].getsockname()[1])  # type: ignore[attr-defined]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def handle(self, request: web.Request) -> web.Response:
        response = await self._respond(request)
        self.status_counts[response.status] += 1
        return response

    async def _respond(self, request: web.Request) -> web.Response:
        host = (request.host or "").rsplit(":", 1)[0].lower()
        if self.hosts and host not in self.hosts:
            return _json(403, {"message": "Forbidden"})
        function_name = self.routes.get(request.path)
        if function_name is None:
            return _json(403, {"message": "Missing Authentication Token"})
        try:
            config = await self.configs(self.region, function_name)
        except Exception:  # the emulator is the control plane: no config, no invocation
            return _json(500, {"message": "Internal server error"})
        event = await _proxy_event(request, host)
        return await self.invoke(config, event)

    def fault(self, config: dict[str, Any]) -> Extension | None:
        """Return what the extension does for ``config``; None when the invocation cannot start."""
        environment = dict((config.get("Environment") or {}).get("Variables") or {})
        attached = layer_attached(config, self.layer_name)
        if environment.get(WRAPPER_VARIABLE) == WRAPPER and not attached:
            return None  # the wrapper script lives in the layer: Lambda cannot start the runtime
        if not attached:
            return Extension({}, self.build)  # no extension: nothing proxied
        return Extension(environment, self.build)

    async def invoke(self, config: dict[str, Any], event: dict[str, Any]) -> web.Response:
        """Invoke the function ``config`` describes, within its reserved concurrency."""
        name = str(config["FunctionName"])
        reserved = config.get(RESERVED)
        if reserved is not None and self.in_flight[name] >= int(reserved):
            # Lambda rejects an invocation beyond the function's reserved concurrency (0:
            # every one) with 429 TooManyRequestsException; "if the Lambda API rejects the
            # invocation request, API Gateway returns a 500 error code", body {"message":
            # "Internal server error"} (Lambda developer guide, "Handling Lambda errors with
            # an API Gateway API"; it does not retry).
            return _json(500, {"message": "Internal server error"})
        self.in_flight[name] += 1
        try:
            return await self._invoke(config, event)
        finally:
            self.in_flight[name] -= 1

    async def _invoke(self, config: dict[str, Any], event: dict[str, Any]) -> web.Response:
        """Invoke the function ``config`` describes behind the gateway's integration timeout."""
        fault = self.fault(config)
        if fault is None:
            return _json(502, {"message": "Internal server error"})
        fis = fis_extension.FisFault()
        if fis_extension.location_of(config) is not None:
            if not fis_extension.layer_attached(config):
                return _json(502, {"message": "Internal server error"})  # no wrapper script
            fis = fis_extension.invocation_fault(
                await self.fis_faults(self.region, config), self.random
            )
        function_timeout = float(config.get("Timeout") or 3)
        budget = min(function_timeout, self.integration_timeout_seconds)
        context = LambdaContext(
            function_name=str(config["FunctionName"]),
            invoked_function_arn=str(config["FunctionArn"]),
            memory_limit_in_mb=int(config.get("MemorySize") or 128),
            deadline=time.monotonic() + function_timeout,
            aws_request_id=str(uuid.uuid4()),
        )
        try:
            result = await asyncio.wait_for(self._run(config, fault, event, context, fis), budget)
        except TimeoutError:
            if self.integration_timeout_seconds <= function_timeout:
                return _json(504, {"message": "Endpoint request timed out"})
            return _json(502, {"message": "Internal server error"})  # Task timed out
        except Exception:  # the handler raised: Lambda reports an error, the gateway a 502
            return _json(502, {"message": "Internal server error"})
        return _proxy_response(result)

    async def _run(
        self,
        config: dict[str, Any],
        fault: Extension,
        event: dict[str, Any],
        context: LambdaContext,
        fis: fis_extension.FisFault | None = None,
    ) -> Any:
        fis = fis or fis_extension.FisFault()
        delay = fault.latency_before_handler(self.random) + fis.delay_ms / 1000
        if delay:
            await asyncio.sleep(delay)
        if fis.fail and fis.prevent_execution:
            raise RuntimeError("aws:lambda:invocation-error")  # the invocation is marked failed
        if fis.response and fis.prevent_execution:
            return fis_extension.proxy_response(fis.response)
        result = _handler(str(config.get("Handler", "")))(event, context)
        if fis.fail:
            raise RuntimeError("aws:lambda:invocation-error")
        if fis.response:
            return fis_extension.proxy_response(fis.response)
        payload = fault.response_after_handler(handler_payload(result), self.random)
        try:  # API Gateway reads the invocation payload as JSON
            return json.loads(payload)
        except ValueError:
            return None  # not a proxy response: 502


def _handler(name: str) -> Callable[[dict[str, Any], Any], Any]:
    module_name, _, attribute = name.rpartition(".")
    if module_name not in HANDLER_MODULES:
        raise LookupError(f"Runtime.ImportModuleError: no module {module_name!r}")
    return getattr(importlib.import_module(HANDLER_MODULES[module_name]), attribute)


async def _proxy_event(request: web.Request, host: str) -> dict[str, Any]:
    body = await request.text() if request.can_read_body else None
    return {
        "resource": request.path,
        "path": request.path,
        "httpMethod": request.method,
        "headers": dict(request.headers),
        "queryStringParameters": dict(request.query) or None,
        "requestContext": {"domainName": host, "requestId": str(uuid.uuid4()), "stage": "prod"},
        "body": body,
        "isBase64Encoded": False,
    }


def _proxy_response(result: Any) -> web.Response:
    if not isinstance(result, dict) or "statusCode" not in result:
        return _json(502, {"message": "Internal server error"})  # malformed proxy response
    try:
        status = int(result["statusCode"])
    except (TypeError, ValueError):
        return _json(502, {"message": "Internal server error"})
    body = result.get("body", "")
    if not isinstance(body, str):
        body = json.dumps(body)
    headers = {str(k): str(v) for k, v in (result.get("headers") or {}).items()}
    return web.Response(status=status, text=body, headers=headers)


def _json(status: int, payload: dict[str, Any]) -> web.Response:
    return web.Response(
        status=status, text=json.dumps(payload), headers={"Content-Type": "application/json"}
    )
