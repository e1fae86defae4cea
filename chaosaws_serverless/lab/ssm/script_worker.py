"""The ``aws:executeScript`` runtime of the SSM Automation model: a python3.11 worker process.

Run as ``python3.11 -I script_worker.py [SITE_DIR ...]`` by
:class:`chaosaws_serverless.lab.ssm.ScriptRunner`; it is not imported by the
package (it runs on SSM's interpreter, with boto3 and the standard library only: the
SITE_DIRs are where boto3 and its dependencies live). One JSON request per stdin line, one
JSON answer per line on the original stdout:

    {"script", "handler", "payload", "environ", "fault"}  ->  {"status", "payload"|"error",
                                                                 "calls", "output"}

Each request runs the script in a fresh namespace, as SSM runs the step: ``handler(events,
context)`` with ``events`` the step's InputPayload (automation-action-executeScript.html:
"A JSON or YAML object that will be passed to the first parameter of the handler"). Its
boto3 clients come from a fresh default session over the request's environment (the
execution's region and credentials), so nothing carries over between steps.

``fault`` makes the tests' single failure happen at one AWS call of the script (1-based):
``fail`` answers that call with a 500 before it reaches AWS, ``lost`` lets it reach AWS and
loses the answer (a read timeout after the change was made), ``kill`` stops the script
before that call is sent, as a cancellation that cuts a running script short (a
``BaseException``, so no ``except Exception`` in the script runs; its ``finally`` blocks
do, which a killed process would not run: the shipped engine has none on its AWS path).
"""

import contextlib
import io
import json
import os
import sys
import traceback


class Killed(BaseException):
    """The script was stopped before an AWS call (a cancellation at that point)."""


def _install_fault(session, fault, calls):
    from botocore.exceptions import ClientError, ReadTimeoutError

    kind = (fault or {}).get("kind")
    at = int((fault or {}).get("call") or 0)

    def before_call(model, **_):
        calls.append(f"{model.service_model.service_name}:{model.name}")
        if len(calls) != at:
            return None
        if kind == "kill":
            raise Killed(f"cancelled before call {at} ({calls[-1]})")
        if kind == "fail":
            raise ClientError(
                {"Error": {"Code": "ServiceException", "Message": "injected failure"}},
                model.name,
            )
        return None

    def after_call(model, **_):
        if kind == "lost" and len(calls) == at:
            raise ReadTimeoutError(endpoint_url=f"injected: answer of {calls[-1]} lost")

    session.events.register("before-call", before_call)
    session.events.register("after-call", after_call)


def run(request):
    import boto3

    environ = request.get("environ") or {}
    for key in [k for k in os.environ if k.startswith("AWS_")]:
        del os.environ[key]
    os.environ.update({str(k): str(v) for k, v in environ.items()})
    boto3.DEFAULT_SESSION = None
    boto3.setup_default_session()
    calls: list = []
    _install_fault(boto3.DEFAULT_SESSION, request.get("fault"), calls)
    output = io.StringIO()
    namespace = {"__name__": "ssm_execute_script"}
    answer: dict = {"calls": calls}
    try:
        with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
            exec(compile(request["script"], "<aws:executeScript>", "exec"), namespace)
            handler = namespace.get(request["handler"])
            if not callable(handler):
                raise NameError(f"handler {request['handler']!r} is not defined by the script")
            result = handler(request.get("payload") or {}, {})
        answer.update(status="Success", payload=json.loads(json.dumps(result)))
    except Killed as killed:
        answer.update(status="Killed", error=str(killed))
    except Exception as error:  # the step fails with the script's error, as SSM reports it
        answer.update(
            status="Failed",
            error=f"{type(error).__name__}: {error}",
            traceback=traceback.format_exc(limit=8),
        )
    answer["output"] = output.getvalue()[-20000:]
    return answer


def main():
    sys.path[:0] = [p for p in sys.argv[1:] if p not in sys.path]
    protocol = sys.stdout
    print(json.dumps({"ready": list(sys.version_info[:3])}), file=protocol, flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            answer = run(json.loads(line))
        except BaseException as error:  # a broken request: say so, keep serving
            answer = {"status": "Failed", "error": f"worker: {error!r}", "calls": []}
        print(json.dumps(answer, default=str), file=protocol, flush=True)


if __name__ == "__main__":
    main()
