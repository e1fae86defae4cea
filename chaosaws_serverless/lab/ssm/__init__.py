"""SSM Automation from the Systems Manager User Guide: the lab's runbook runner, the tests' judge.

moto stores Automation documents and runs none. This module runs them, rule by rule as the
guide states them, the source named beside each rule (as ``lab/extension`` does for the chaos
extension). It imports nothing from ``chaosaws_serverless.ssm``, ``.awslambda`` or ``.fis``
(``tests/unit/test_engine_models.py`` enforces it): it is an independent reading of what SSM
does with a runbook, so the shipped document is judged by SSM's rules and not by the
package's idea of them. Scripts are the document's own text, run on a real python3.11 (SSM's
runtime) by :class:`ScriptRunner`, against whatever AWS endpoint the model is given (the moto
server in the tests and the lab).

Sources, all in the AWS Systems Manager User Guide
(https://docs.aws.amazon.com/systems-manager/latest/userguide/<page>), read in
awsdocs/aws-systems-manager-user-guide ``doc_source/<page>.md`` at dd495cc (June 2023, the
last commit before the guide left GitHub) and, where the search corpus holds them, on the
current pages (python3.11; no throttling retry for aws:executeScript; 100 concurrent
automations):

[A] automation-actions.html#automation-common   properties shared by all actions
[S] automation-action-executeScript.html        aws:executeScript
[X] automation-action-executeAutomation.html    aws:executeAutomation
[P] automation-action-executeAwsApi.html        aws:executeAwsApi
[Q] automation-action-assertAwsResourceProperty.html   aws:assertAwsResourceProperty
[B] automation-action-branch.html               aws:branch
[Z] automation-action-sleep.html                aws:sleep
[T] automation-statuses.html                    step and automation statuses
[V] automation-variables.html                   system and automation variables
[D] documents-syntax-data-elements-parameters.html   parameters: type, default,
                                                 allowedValues, allowedPattern
[O] automation-action-outputs-inputs.html        outputs, Selector (JSONPath)
[C] adaptive-concurrency.html                    "By default, Automation lets you run up to 100
                                                 concurrent automations at a time"
[R] automation-throttling-retry.html             throttling retry: every action but
                                                 aws:executeScript (an account preference,
                                                 off unless set: not modelled)

Where the guide is silent the model says so (``SILENT:``) and takes the stricter reading:
the one under which a runbook must do more to be right.

- ``isEnd`` on a step that also names ``onFailure``/``onCancel`` ``step:X``: [A] says isEnd
  "stops an automation at the end of a specific step ... if the step failed or succeeded",
  which contradicts the jump. The model refuses such a document (ambiguous).
- ``isCritical``: [A] says it "is only evaluated if you explicitly define it" and also that
  it defaults to true. The model counts a failed step as critical only when it says
  ``isCritical: true``; otherwise an automation that recovers with ``onFailure: step:X``
  ends Success.
- ``aws:executeAutomation`` when the child fails: [X] names the step's outputs
  ``ExecutionId`` and ``Status`` and says nothing of the step's own status; nor does it say
  whether cancelling the parent cancels the child. Both readings of each are modelled
  (:class:`Readings`) and the tests run a runbook under all four: it must hold under each.
- A cancellation reaching a running ``aws:executeScript``: the model lets the script finish
  and discards its output; the tests' fault plan also cuts a script short at any AWS call
  (``kill``), so both readings are exercised.
- A step that times out follows its ``onFailure`` like a failed one; the execution's final
  status is then TimedOut when it aborts on it ([T] lists TimedOut for both).
- An unresolved ``{{ reference }}`` fails the step that uses it; a reference to nothing the
  document declares is refused when the execution starts.
- Automations beyond the concurrency quota wait ``Pending`` in a FIFO queue ([C] names the
  quota; the queue and its 1000 limit are the Systems Manager quotas page's, not in a stored
  copy); a parent waiting on a child that cannot start waits forever, as on AWS.

Time: waits declared by documents (``aws:sleep``) run ``wait_scale`` times their length (the
lab compresses them like it compresses health-check intervals); the limits on work (600 s
per script [S], two minutes of cancellation workflow [A]) are never scaled.

For executions started by anything, not only FIS: :meth:`Automation.start` is the
``StartAutomationExecution`` API (also reachable over HTTP through the lab's control plane,
``lab/control_plane``), so a scheduler model (EventBridge Scheduler's universal target
``ssm:startAutomationExecution``) calls it the same way::

    automation = Automation(AwsAccess(endpoint_url), ScriptRunner())
    execution_id = automation.start("chaosaws-serverless-chaos-layer",
                                    {"FunctionName": ["hello"], "ChaosMode": ["DISABLED"], ...},
                                    region="us-east-1")
    automation.wait(execution_id)                   # -> "Success" | "Failed" | ...
    automation.get(execution_id)                    # GetAutomationExecution's AutomationExecution
"""

from __future__ import annotations

from chaosaws_serverless.lab.ssm.access import AwsAccess, Clock
from chaosaws_serverless.lab.ssm.documents import (
    choice_true,
    load_document,
    parse_duration,
    resolve_parameters,
    select,
)
from chaosaws_serverless.lab.ssm.flow import Automation
from chaosaws_serverless.lab.ssm.rules import TERMINAL, AutomationError, Fault, Readings
from chaosaws_serverless.lab.ssm.scripts import ScriptRunner, find_python311

__all__ = [
    "TERMINAL",
    "Automation",
    "AutomationError",
    "AwsAccess",
    "Clock",
    "Fault",
    "Readings",
    "ScriptRunner",
    "choice_true",
    "find_python311",
    "load_document",
    "parse_duration",
    "resolve_parameters",
    "select",
]
