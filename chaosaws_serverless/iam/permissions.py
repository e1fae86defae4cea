"""The IAM actions each activity calls, and on which resources: the one table.

``PERMISSIONS`` maps every public activity (``module.function``) to its
grants. A grant names IAM actions and a resource *kind*; ``policy`` turns a
kind into ARNs from the activity's arguments and the experiment's
configuration (``function`` → the function's ARN and its qualified ARNs,
``layer`` → the layer version ARN, ...), so the policy names the specific
functions and layer, never ``*`` where AWS allows a resource.

A test checks the table against the code: every activity has an entry, and the
actions of each activity module cover every IAM action its code names (the
``aws_errors("service:Action", ...)`` calls and the like), so the table cannot
fall behind a new call. Actions botocore calls implicitly are listed here too
(waiters poll ``lambda:GetFunction``; tag-on-create needs ``TagResource``).

``when`` restricts a grant to activities whose arguments carry that key
(``alias``: only an injection on an alias publishes versions);
``unless_false`` drops it when that argument is explicitly false.
"""

from dataclasses import dataclass
from typing import Any, Optional

__all__ = [
    "AUTOMATION_ROLE",
    "PERMISSIONS",
    "SWITCH_ROLE",
    "Grant",
    "record_tag_condition",
    "target_tag_condition",
    "throttle_tag_condition",
]


@dataclass(frozen=True)
class Grant:
    """IAM ``actions`` on the resources of ``kind`` (see ``resources.RESOURCE_KINDS``)."""

    actions: tuple[str, ...]
    kind: str
    when: Optional[str] = None
    unless_false: Optional[str] = None


_INJECT: tuple[Grant, ...] = (
    Grant(
        (
            "lambda:GetFunction",
            "lambda:UpdateFunctionConfiguration",
            "lambda:TagResource",
            "lambda:UntagResource",
            "lambda:ListTags",
        ),
        "function",
    ),
    Grant(
        (
            "lambda:GetAlias",
            "lambda:UpdateAlias",
            "lambda:PublishVersion",
            "lambda:DeleteFunction",
        ),
        "function",
        when="alias",
    ),
    Grant(("lambda:GetLayerVersion",), "layer"),
)
# The dead man's switch (chaosaws_serverless.switch) every injection arms: its document
# must be registered (DescribeDocument), its schedule goes into the package's group
# (created once, tagged), the schedule's execution role is passed to EventBridge Scheduler.
# Service Authorization Reference (EventBridge Scheduler): CreateSchedule, GetSchedule and
# DeleteSchedule on schedule/<group>/<name>, Get/CreateScheduleGroup and TagResource on
# schedule-group/<group>, ListSchedules on no resource.
_ARM = (
    Grant(("ssm:DescribeDocument",), "ssm-document"),
    Grant(
        ("scheduler:GetScheduleGroup", "scheduler:CreateScheduleGroup", "scheduler:TagResource"),
        "switch-group",
    ),
    Grant(("scheduler:CreateSchedule", "scheduler:DeleteSchedule"), "switch-schedule"),
    Grant(("iam:PassRole",), "passed-role-scheduler"),
)
_DISARM = (Grant(("scheduler:DeleteSchedule",), "switch-schedule"),)
_INJECT = (*_INJECT, *_ARM)
# remove_faults follows the record, which may name an alias the arguments do not.
# Every reader of the record needs lambda:ListTags: without it GetFunction simply
# leaves Tags out, which would read as "nothing injected".
_REMOVE = (
    Grant(
        (
            "lambda:GetFunction",
            "lambda:ListTags",
            "lambda:UpdateFunctionConfiguration",
            "lambda:UntagResource",
            "lambda:GetAlias",
            "lambda:UpdateAlias",
            "lambda:DeleteFunction",
        ),
        "function",
    ),
    *_DISARM,
)
# Finding functions by tags (awslambda.tag_search): the tagging API, which AWS
# does not scope to resources, and the ListFunctions + ListTags fallback for
# accounts where it is denied.
_FIND_BY_TAGS = (
    Grant(("tag:GetResources", "lambda:ListFunctions"), "*"),
    Grant(("lambda:ListTags",), "any-function"),
)
# A tag target changes only functions carrying its tags (aws:ResourceTag
# condition), and restores them on a failed injection.
_INJECT_BY_TAGS = (
    *_FIND_BY_TAGS,
    Grant(_INJECT[0].actions, "tagged-function"),
    # Never printed (a tag target takes no alias), listed for the code it shares.
    Grant(_INJECT[1].actions, "tagged-function", when="alias"),
    Grant(_REMOVE[0].actions, "tagged-function"),
    Grant(("lambda:GetLayerVersion",), "layer"),
    *_ARM,
)
# A throttle (awslambda.throttle): the function's reservation, its record in the tags.
_THROTTLE_READ = ("lambda:GetFunction", "lambda:ListTags", "lambda:GetFunctionConcurrency")
_THROTTLE = (
    Grant(
        (
            *_THROTTLE_READ,
            "lambda:PutFunctionConcurrency",
            "lambda:TagResource",
            "lambda:UntagResource",
        ),
        "function",
    ),
)
_UNTHROTTLE = (
    Grant(
        (
            *_THROTTLE_READ,
            "lambda:PutFunctionConcurrency",
            "lambda:DeleteFunctionConcurrency",
            "lambda:UntagResource",
        ),
        "function",
    ),
)
_METRICS = (Grant(("cloudwatch:GetMetricData", "cloudwatch:ListMetrics"), "*"),)
_HEALTH = (
    Grant(("route53:GetHealthCheck", "route53:GetHealthCheckStatus"), "health-check"),
    Grant(("cloudwatch:GetMetricData",), "*"),
)
_ROUTES = (
    Grant(("route53:ListResourceRecordSets",), "hosted-zone"),
    Grant(("route53:GetHealthCheck", "route53:GetHealthCheckStatus"), "health-check"),
    Grant(("cloudwatch:GetMetricData",), "*"),
)
# The fault probes read the function and its record (ListTags, never GetFunction's Tags).
_READ_FAULT = (Grant(("lambda:GetFunction", "lambda:ListTags"), "function"),)
# get_fault_state reads the deadline from the fault's switch.
_FAULT_STATE = (*_READ_FAULT, Grant(("scheduler:GetSchedule",), "switch-schedule"))
_FIS_LIST = Grant(("fis:ListExperimentTemplates", "fis:ListExperiments"), "*")

PERMISSIONS: dict[str, tuple[Grant, ...]] = {
    "chaosaws_serverless.awslambda.actions.inject_latency": _INJECT,
    "chaosaws_serverless.awslambda.actions.inject_error": _INJECT,
    "chaosaws_serverless.awslambda.actions.remove_faults": _REMOVE,
    "chaosaws_serverless.awslambda.actions.remove_all_faults": (
        *_FIND_BY_TAGS,
        Grant(_REMOVE[0].actions, "recorded-function"),
        Grant(_UNTHROTTLE[0].actions, "throttled-function"),
        # The regions enabled for the account, when nothing names the regions to visit.
        Grant(("ec2:DescribeRegions",), "*"),
        # Then the switches left in the package's group.
        Grant(("scheduler:ListSchedules",), "*"),
        *_DISARM,
    ),
    "chaosaws_serverless.awslambda.actions.inject_latency_by_tags": _INJECT_BY_TAGS,
    "chaosaws_serverless.awslambda.actions.inject_error_by_tags": _INJECT_BY_TAGS,
    "chaosaws_serverless.awslambda.actions.remove_faults_by_tags": (
        *_FIND_BY_TAGS,
        Grant(("lambda:GetFunction",), "tagged-function"),
        Grant(_REMOVE[0].actions, "recorded-function"),
        *_DISARM,
    ),
    "chaosaws_serverless.awslambda.actions.inject_throttle": _THROTTLE,
    "chaosaws_serverless.awslambda.actions.remove_throttle": _UNTHROTTLE,
    # A failed tag target restores the functions it throttled: both sets, on tagged functions.
    "chaosaws_serverless.awslambda.actions.inject_throttle_by_tags": (
        *_FIND_BY_TAGS,
        Grant(_THROTTLE[0].actions, "tagged-function"),
        Grant(_UNTHROTTLE[0].actions, "tagged-function"),
    ),
    "chaosaws_serverless.awslambda.actions.remove_throttle_by_tags": (
        *_FIND_BY_TAGS,
        Grant(("lambda:GetFunction",), "tagged-function"),
        Grant(_UNTHROTTLE[0].actions, "throttled-function"),
    ),
    "chaosaws_serverless.awslambda.probes.get_throttle_state": (Grant(_THROTTLE_READ, "function"),),
    "chaosaws_serverless.awslambda.probes.get_fault_state": _FAULT_STATE,
    "chaosaws_serverless.awslambda.probes.fault_is_injected": _READ_FAULT,
    "chaosaws_serverless.cloudwatch.actions.put_experiment_dashboard": (
        Grant(("cloudwatch:PutDashboard", "cloudwatch:GetDashboard"), "dashboard"),
    ),
    "chaosaws_serverless.cloudwatch.actions.delete_experiment_dashboard": (
        Grant(("cloudwatch:GetDashboard", "cloudwatch:DeleteDashboards"), "dashboard"),
    ),
    "chaosaws_serverless.cloudwatch.actions.put_error_ratio_alarm": (
        Grant(("cloudwatch:PutMetricAlarm", "cloudwatch:DescribeAlarms"), "alarm"),
    ),
    "chaosaws_serverless.cloudwatch.actions.delete_alarm": (
        Grant(("cloudwatch:DescribeAlarms", "cloudwatch:DeleteAlarms"), "alarm"),
    ),
    "chaosaws_serverless.cloudwatch.probes.get_alarm_state": (
        Grant(("cloudwatch:DescribeAlarms",), "alarm"),
    ),
    "chaosaws_serverless.cloudwatch.probes.get_api_error_ratio": (
        Grant(("cloudwatch:GetMetricData",), "*"),
    ),
    "chaosaws_serverless.cloudwatch.probes.get_customer_error_ratio": _METRICS,
    "chaosaws_serverless.cloudwatch.probes.get_error_ratio": _METRICS,
    "chaosaws_serverless.cloudwatch.probes.get_metric_ratio": (
        Grant(("cloudwatch:GetMetricData",), "*"),
    ),
    "chaosaws_serverless.cloudwatch.probes.get_latency_percentile": (
        Grant(("cloudwatch:GetMetricData",), "*"),
    ),
    "chaosaws_serverless.cloudwatch.probes.get_slow_request_ratio": _METRICS,
    "chaosaws_serverless.cloudwatch.probes.get_metric_sum": _METRICS,
    "chaosaws_serverless.cloudwatch.probes.get_region_share": _METRICS,
    "chaosaws_serverless.cloudwatch.probes.get_requests_by_region": _METRICS,
    # The doctor reads whatever the experiment file names (known only at run time):
    # read-only actions, on any resource.
    "chaosaws_serverless.doctor.probes.doctor_passes": (
        Grant(
            (
                "sts:GetCallerIdentity",
                "lambda:GetLayerVersion",
                "lambda:GetFunction",
                "lambda:ListTags",  # the fault record, read as the injection reads it
                "lambda:GetFunctionConcurrency",  # a throttle target's reservation
                "iam:GetRole",
                "iam:SimulatePrincipalPolicy",
                "route53:ListResourceRecordSets",
                "route53:GetHealthCheck",
                "route53:GetHealthCheckStatus",
                "route53:ListTagsForResource",  # an evacuation drill's record
                "cloudwatch:GetMetricData",
                "cloudwatch:ListMetrics",
                # find_failover_misconfigurations reads CLOUDWATCH_METRIC checks' alarms
                "cloudwatch:DescribeAlarms",
            ),
            "*",
        ),
    ),
    "chaosaws_serverless.fis.actions.create_experiment_template": (
        _FIS_LIST,
        Grant(
            (
                "fis:CreateExperimentTemplate",
                "fis:UpdateExperimentTemplate",
                "fis:TagResource",
            ),
            "fis-template",
        ),
        Grant(("iam:PassRole",), "passed-role-fis"),
    ),
    "chaosaws_serverless.fis.actions.delete_experiment_template": (
        _FIS_LIST,
        Grant(("fis:DeleteExperimentTemplate",), "fis-template"),
    ),
    "chaosaws_serverless.fis.actions.start_experiment": (
        _FIS_LIST,
        Grant(
            (
                "fis:StartExperiment",
                "fis:TagResource",
                "fis:GetExperiment",
                "fis:StopExperiment",
            ),
            "fis-template",
        ),
    ),
    "chaosaws_serverless.fis.actions.stop_experiment": (
        _FIS_LIST,
        Grant(("fis:GetExperiment", "fis:StopExperiment"), "fis-template"),
        # Restores the template's functions (remove_faults): known only at run time.
        Grant(_REMOVE[0].actions, "recorded-function", unless_false="restore_functions"),
    ),
    "chaosaws_serverless.fis.probes.get_experiment_state": (
        Grant(("fis:GetExperiment",), "fis-template"),
    ),
    "chaosaws_serverless.loadgen.actions.deploy_load_generator": (
        Grant(
            (
                "lambda:GetFunction",
                "lambda:GetFunctionConfiguration",
                "lambda:CreateFunction",
                "lambda:UpdateFunctionCode",
                "lambda:UpdateFunctionConfiguration",
            ),
            "loadgen-function",
        ),
        Grant(("lambda:GetLayerVersion",), "layer", when="dependencies_layer_arn"),
        Grant(("iam:PassRole",), "passed-role-lambda"),
    ),
    "chaosaws_serverless.loadgen.actions.start_load_generator": (
        Grant(("lambda:GetFunctionConfiguration", "lambda:InvokeFunction"), "loadgen-function"),
    ),
    "chaosaws_serverless.loadgen.actions.delete_load_generator": (
        Grant(("lambda:GetFunctionConfiguration", "lambda:DeleteFunction"), "loadgen-function"),
    ),
    "chaosaws_serverless.loadgen.actions.generate_load": (
        Grant(("cloudwatch:PutMetricData",), "*"),
    ),
    # The drill reads the check's status (refuses one unhealthy now) and records itself in its tags.
    "chaosaws_serverless.route53.actions.evacuate_region": (
        Grant(
            (
                "route53:GetHealthCheck",
                "route53:GetHealthCheckStatus",
                "route53:ListTagsForResource",
                "route53:ChangeTagsForResource",
                "route53:UpdateHealthCheck",
            ),
            "health-check",
        ),
    ),
    "chaosaws_serverless.route53.actions.restore_region": (
        Grant(
            (
                "route53:GetHealthCheck",
                "route53:ListTagsForResource",
                "route53:ChangeTagsForResource",
                "route53:UpdateHealthCheck",
            ),
            "health-check",
        ),
    ),
    "chaosaws_serverless.route53.probes.get_health_check_status": _HEALTH,
    "chaosaws_serverless.route53.probes.health_check_is_healthy": _HEALTH,
    "chaosaws_serverless.route53.probes.find_failover_misconfigurations": (
        *_ROUTES,
        # The alarms CLOUDWATCH_METRIC health checks watch (does it exist, missing data).
        Grant(("cloudwatch:DescribeAlarms",), "alarm"),
    ),
    "chaosaws_serverless.route53.probes.get_latency_route": _ROUTES,
    "chaosaws_serverless.route53.probes.wait_for_failover": _ROUTES,
    "chaosaws_serverless.ssm.actions.register_automation_document": (
        Grant(
            (
                "ssm:GetDocument",
                "ssm:DescribeDocument",
                "ssm:CreateDocument",
                "ssm:UpdateDocument",
                "ssm:UpdateDocumentDefaultVersion",
                "ssm:AddTagsToResource",
            ),
            "ssm-document",
        ),
    ),
    # The Service Authorization Reference authorizes StartAutomationExecution on the
    # automation definition, the document and the new automation execution (AWS's own FIS
    # sample policies grant all three, aws-samples/fis-template-library).
    "chaosaws_serverless.ssm.actions.start_automation": (
        Grant(("ssm:StartAutomationExecution",), "ssm-automation-definition"),
        Grant(("ssm:StartAutomationExecution",), "ssm-document"),
        Grant(("ssm:StartAutomationExecution", "ssm:AddTagsToResource"), "ssm-execution"),
        Grant(("iam:PassRole",), "passed-role-ssm"),
    ),
    "chaosaws_serverless.ssm.actions.stop_automation": (
        Grant(("ssm:DescribeAutomationExecutions",), "*"),
        Grant(("ssm:GetAutomationExecution", "ssm:StopAutomationExecution"), "ssm-execution"),
    ),
    "chaosaws_serverless.ssm.probes.get_automation_status": (
        Grant(("ssm:GetAutomationExecution",), "ssm-execution"),
    ),
}

# The role EventBridge Scheduler assumes when a switch fires: it starts the document's
# restore (the definition, the document, the new execution, as start_automation) and
# passes the automation role to SSM (the execution's AutomationAssumeRole).
SWITCH_ROLE: tuple[Grant, ...] = (
    Grant(("ssm:StartAutomationExecution",), "ssm-automation-definition"),
    Grant(("ssm:StartAutomationExecution",), "ssm-document"),
    Grant(("ssm:StartAutomationExecution",), "ssm-execution"),
    Grant(("iam:PassRole",), "automation-role"),
)

# What the SSM document calls, on each function it targets: the role named by its
# AutomationAssumeRole parameter. Its script is the Lambda fault engine
# (awslambda/engine/); its restore reads its own execution, runs the document again
# as a child automation that assumes the same role ("the user or role that initiated the
# primary automation must have permission to pass the assume role specified in the
# secondary automation": aws:executeAutomation, SSM user guide), then reads the child.
AUTOMATION_ROLE: tuple[Grant, ...] = (
    Grant(
        (
            "lambda:GetFunction",
            "lambda:UpdateFunctionConfiguration",
            "lambda:TagResource",
            "lambda:UntagResource",
            "lambda:ListTags",
            "lambda:GetAlias",
            "lambda:UpdateAlias",
            "lambda:PublishVersion",
            "lambda:DeleteFunction",
        ),
        "function",
    ),
    Grant(("lambda:GetLayerVersion",), "layer"),
    # FindDocument and CheckRestore read executions; Restore starts the child.
    Grant(("ssm:GetAutomationExecution", "ssm:StartAutomationExecution"), "ssm-execution"),
    Grant(("ssm:StartAutomationExecution",), "ssm-automation-definition"),
    Grant(("ssm:StartAutomationExecution",), "ssm-document"),
    # The child assumes the same role: the role passes itself.
    Grant(("iam:PassRole",), "automation-role"),
)


def record_tag_condition() -> dict[str, dict[str, str]]:
    """Return the IAM condition "the function carries a fault record" (its first record tag)."""
    from chaosaws_serverless.awslambda.engine import FIRST_RECORD_KEY

    return {"Null": {f"aws:ResourceTag/{FIRST_RECORD_KEY}": "false"}}


def throttle_tag_condition() -> dict[str, dict[str, str]]:
    """Return the IAM condition "the function carries a throttle record" (its first tag)."""
    from chaosaws_serverless.awslambda.throttle import FIRST_THROTTLE_KEY

    return {"Null": {f"aws:ResourceTag/{FIRST_THROTTLE_KEY}": "false"}}


def target_tag_condition(tags: Any) -> Optional[dict[str, dict[str, str]]]:
    """Return the IAM condition "the function carries every tag of the target" (None: no tags)."""
    if not isinstance(tags, dict) or not tags:
        return None
    return {"StringEquals": {f"aws:ResourceTag/{k}": str(v) for k, v in sorted(tags.items())}}
