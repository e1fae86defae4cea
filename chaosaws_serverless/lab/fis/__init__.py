"""AWS FIS experiments from the FIS User Guide: the lab's runner of templates, the tests' judge.

moto stores experiment templates and experiments, and runs no action (an experiment's
state advances one step per read). This module runs them as the FIS User Guide
describes, the source beside each rule, importing nothing from the package's FIS, SSM or
Lambda code (``tests/unit/test_engine_models.py``): templates are read from the moto
server where ``create_experiment_template`` stored them, ``aws:ssm:start-automation-execution``
runs its runbook on the SSM Automation model (``lab/ssm``), the
``aws:lambda:*`` actions hand their fault to the functions through S3 the way the guide
describes the AWS FIS Lambda extension (``lab/fis_extension`` reads it in the lab's
gateways), and stop conditions read CloudWatch alarms (the lab evaluates them,
``lab/alarms``).

Sources, in the AWS FIS User Guide (https://docs.aws.amazon.com/fis/latest/userguide/<page>)
unless named otherwise; the pages' text was checked where the search corpus holds it
(action-sequence, stop-experiment, experiments, use-lambda-actions, fis-actions-reference's
table of contents); what no stored copy showed is marked (issue 23's reading of the page):

[AS] action-sequence.html   "You can run an action only once during an experiment";
                            startAfter: "Any actions that must complete before this action
                            can start. Otherwise, the action runs at the start of the
                            experiment."
[ST] stop-experiment.html   "When you stop an experiment, any post actions that have not
                            been completed for an action are completed before the experiment
                            stops. You cannot resume a stopped experiment."
[EX] experiments.html       an experiment ends when all its actions completed, a stop
                            condition is triggered, an error prevents an action from
                            completing, or it is stopped
[SC] stop-conditions.html   a stop condition is a CloudWatch alarm: in ALARM, FIS stops the
                            experiment
[AR] fis-actions-reference.html   aws:fis:wait (duration); aws:ssm:start-automation-execution
                            (documentArn, documentParameters: JSON, maxDuration: 1 minute
                            to 12 hours; permissions ssm:GetAutomationExecution,
                            ssm:StartAutomationExecution, ssm:StopAutomationExecution);
                            aws:lambda:invocation-add-delay (startupDelayMilliseconds,
                            invocationPercentage), aws:lambda:invocation-error
                            (preventExecution, invocationPercentage),
                            aws:lambda:invocation-http-integration-response (statusCode,
                            contentTypeHeader, preventExecution, invocationPercentage); each
                            action's duration 1 minute to 12 hours
[LA] use-lambda-actions.html   "AWS FIS reads the Amazon S3 configuration from your Lambda
                            function and writes fault injection information to the
                            specified Amazon S3 location"; the extension polls it, so a fault
                            starts up to 60 s after its action and ends up to 20 s after it
                            (not in a stored copy)
[API] botocore's fis-2020-12-01 model: ExperimentStatus pending | initiating | running |
                            completed | stopping | stopped | failed | cancelled;
                            ExperimentActionStatus pending | initiating | running | completed
                            | cancelled | stopping | stopped | failed | skipped

Action states as the guide names them: pending, initiating (preparing to start), running,
completed, cancelled ("the experiment stopped before the action started"), stopping,
stopped (its post actions are complete), failed.

Where the guide is silent (``SILENT:``), the stricter reading:

- Stopping a running ``aws:ssm:start-automation-execution`` cancels its automation
  (StopAutomationExecution is in its permissions) and the action is ``stopped`` as soon as
  the cancel is requested: FIS does not wait for the runbook's cancellation workflow, so a
  runbook must restore by itself, and the experiment may end before it did.
- An automation still running at ``maxDuration`` fails the action and is cancelled.
- A stop condition already in ALARM when the experiment starts stops it before any action.
- A function target without ``AWS_FIS_CONFIGURATION_LOCATION`` fails its Lambda action (FIS
  has nowhere to write the fault).
- The Lambda fault's object format is the lab's own (FIS's is not public): the guide
  documents its effect, which ``lab/fis_extension`` reproduces.
- Alarms are read every ``alarm_poll_seconds`` (FIS's interval is not published).

Time: durations the template declares (aws:fis:wait, the Lambda actions, maxDuration) last
``wait_scale`` times their length, as in ``lab/ssm``.
"""

from __future__ import annotations

from chaosaws_serverless.lab.fis.engine import Experiments
from chaosaws_serverless.lab.fis.rules import (
    FINAL,
    LAMBDA_ACTIONS,
    ExperimentError,
    fault_object_key,
)

__all__ = ["FINAL", "LAMBDA_ACTIONS", "ExperimentError", "Experiments", "fault_object_key"]
