"""Deploy the stack description into the emulator, through the package's one client layer.

What it creates, per region: the chaos extension layer, one function per path
(code: :mod:`chaosaws_serverless.lab.functions`, zipped), a Route 53 health
check on the regional domain (or, misconfigured, on the other region's) and the
SSM document (``register_automation_document``, as a user registers it once);
once: the IAM roles (the functions', the SSM document's, FIS's), the hosted
zone, a CNAME per regional domain, one latency record per region under the entry
name, the experiment's dashboard and the US customers' error alarm (an FIS stop
condition; the lab's control plane evaluates it). It returns a
:class:`Deployment` whose :meth:`Deployment.values` is the ``--var-file`` of
``experiments/region-failure.json`` (and ``region-failure-fis.json``) for this stack.
"""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from chaosaws_serverless import aws
from chaosaws_serverless.cloudwatch.actions import put_experiment_dashboard
from chaosaws_serverless.lab.emulator import FAKE_CREDENTIALS, configuration
from chaosaws_serverless.lab.stack import Stack

_TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


@dataclass
class Deployment:
    """What :func:`deploy` created: the ids the experiment and the data plane need."""

    endpoint_url: str
    misconfigured: bool
    regions: list[str]
    api_url: str
    record_name: str
    hosted_zone_id: str
    health_check_ids: dict[str, str]
    functions: dict[str, dict[str, str]]  # region -> path -> function name
    layer_arns: dict[str, str]
    dashboard_name: str
    experiment: dict[str, Any] = field(default_factory=dict)
    automation_role_arn: str = ""
    fis_role_arn: str = ""
    fault_switch_role_arn: str = ""
    stop_alarm_arn: str = ""
    # The tags every function of the stack carries (the tag-targeted experiments' fault_tags).
    function_tags: dict[str, str] = field(default_factory=dict)

    @property
    def configuration(self) -> dict[str, Any]:
        return configuration(self.endpoint_url, self.regions)

    def values(self) -> dict[str, Any]:
        """Return the var file of the reference experiment for this stack."""
        us, eu = self.regions[0], self.regions[1]
        return {
            "configuration": {
                "aws_region": us,
                "aws_regions": list(self.regions),
                "aws_endpoint_url": self.endpoint_url,
                "api_url": self.api_url,
                "hosted_zone_id": self.hosted_zone_id,
                "record_name": self.record_name,
                "us_health_check_id": self.health_check_ids[us],
                "eu_health_check_id": self.health_check_ids[eu],
                "us_hello_function": self.functions[us]["/api/hello"],
                "us_health_function": self.functions[us]["/api/health"],
                "chaos_layer_arns": dict(self.layer_arns),
                **(
                    {"automation_role_arn": self.automation_role_arn}
                    if self.automation_role_arn
                    else {}
                ),
                **({"fis_role_arn": self.fis_role_arn} if self.fis_role_arn else {}),
                **({"fault_tags": dict(self.function_tags)} if self.function_tags else {}),
                **(
                    {"fault_switch_role_arn": self.fault_switch_role_arn}
                    if self.fault_switch_role_arn
                    else {}
                ),
                **self.experiment,
            }
        }

    def write_values(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.values(), indent=2) + "\n", encoding="utf-8")
        return path

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Deployment:
        return cls(**data)


def function_tags(stack: Stack) -> dict[str, str]:
    """Return the tags every function of ``stack`` carries, in both regions."""
    return {"chaos-lab": stack.name}


def function_code_zip() -> bytes:
    """Return the deployment package of the API's functions (the handlers module)."""
    source = resources.files(__package__).joinpath("functions.py").read_bytes()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("functions.py", source)
    return buffer.getvalue()


def _layer_zip() -> bytes:
    # The extension's wrapper script: the gateways emulate what it does.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("bootstrap", "#!/bin/sh\n# chaos-lambda-extension (lab stand-in)\n")
    return buffer.getvalue()


def deploy(stack: Stack, endpoint_url: str) -> Deployment:
    """Create ``stack`` in the emulator at ``endpoint_url`` and return what was created.

    In order: the functions' role; per region the chaos layer and the
    functions; the hosted zone with a health check per region; the records
    (regional domains, latency records on the entry name); the dashboard; then
    AWS's engines when the stack names them (:func:`_deploy_engines`).
    """
    regions = list(stack.regions)
    config = configuration(endpoint_url, regions)

    def client(service: str, region: str) -> Any:
        return aws.client(service, region, config, FAKE_CREDENTIALS)

    role_arn = client("iam", regions[0]).create_role(
        RoleName=stack.role_name, AssumeRolePolicyDocument=json.dumps(_TRUST_POLICY)
    )["Role"]["Arn"]
    layer_arns: dict[str, str] = {}
    functions: dict[str, dict[str, str]] = {}
    for region in regions:
        layer_arns[region], functions[region] = _deploy_functions(
            stack, client("lambda", region), region, role_arn
        )
    r53 = client("route53", "us-east-1")
    zone_id = r53.create_hosted_zone(Name=stack.zone_name, CallerReference=str(uuid.uuid4()))[
        "HostedZone"
    ]["Id"].rsplit("/", 1)[-1]
    health_check_ids = {region: _create_health_check(stack, r53, region) for region in regions}
    r53.change_resource_record_sets(
        HostedZoneId=zone_id, ChangeBatch={"Changes": _record_changes(stack, health_check_ids)}
    )
    deployment = Deployment(
        endpoint_url=endpoint_url,
        misconfigured=stack.misconfigured,
        regions=regions,
        api_url=stack.api_url,
        record_name=stack.record_name,
        hosted_zone_id=zone_id,
        health_check_ids=health_check_ids,
        functions=functions,
        layer_arns=layer_arns,
        dashboard_name=stack.dashboard_name,
        experiment=dict(stack.experiment),
        function_tags=function_tags(stack),
    )
    _put_dashboard(deployment, config)
    if stack.engines:
        _deploy_engines(stack, deployment, config, client("iam", regions[0]))
    return deployment


def _deploy_functions(
    stack: Stack, lam: Any, region: str, role_arn: str
) -> tuple[str, dict[str, str]]:
    """Publish the chaos layer and create the stack's functions in one region.

    Returns the layer version's ARN and ``{path: function name}``.
    """
    layer_arn = lam.publish_layer_version(
        LayerName=stack.layer_name,
        Description="chaos-lambda-extension (lab stand-in: the gateways emulate it)",
        Content={"ZipFile": _layer_zip()},
        CompatibleRuntimes=list(stack.layer_runtimes),
        CompatibleArchitectures=list(stack.layer_architectures),
    )["LayerVersionArn"]
    code = function_code_zip()
    functions: dict[str, str] = {}
    for spec in stack.functions:
        name = spec.name(region)
        lam.create_function(
            FunctionName=name,
            Runtime=spec.runtime,
            Role=role_arn,
            Handler=spec.handler,
            Code={"ZipFile": code},
            Timeout=spec.timeout_seconds,
            MemorySize=spec.memory_mb,
            Architectures=list(stack.layer_architectures[:1]),
            Environment={"Variables": {"API_PATH": spec.path}},
            Tags=function_tags(stack),
        )
        functions[spec.path] = name
    return str(layer_arn), functions


def _create_health_check(stack: Stack, r53: Any, region: str) -> str:
    """Create and name the region's health check on the domain the stack gives it."""
    hc = stack.health_check
    check_id = str(
        r53.create_health_check(
            CallerReference=str(uuid.uuid4()),
            HealthCheckConfig={
                "Type": hc.type,
                "FullyQualifiedDomainName": stack.health_check_domains[region],
                "ResourcePath": hc.path,
                "Port": hc.port,
                "RequestInterval": hc.request_interval_seconds,
                "FailureThreshold": hc.failure_threshold,
                "EnableSNI": hc.type.startswith("HTTPS"),
            },
        )["HealthCheck"]["Id"]
    )
    r53.change_tags_for_resource(
        ResourceType="healthcheck",
        ResourceId=check_id,
        AddTags=[{"Key": "Name", "Value": f"api-{region}"}],
    )
    return check_id


def _record_changes(stack: Stack, health_check_ids: dict[str, str]) -> list[dict[str, Any]]:
    """Return the records: each regional domain, and a latency record per region on the entry."""
    changes = []
    for region, domain in stack.regions.items():
        gateway = f"d-{region.replace('-', '')}.execute-api.{region}.amazonaws.com"
        changes.append(
            {
                "Action": "CREATE",
                "ResourceRecordSet": {
                    "Name": domain,
                    "Type": "CNAME",
                    "TTL": 300,
                    "ResourceRecords": [{"Value": gateway}],
                },
            }
        )
        changes.append(
            {
                "Action": "CREATE",
                "ResourceRecordSet": {
                    "Name": stack.record_name,
                    "Type": stack.record_type,
                    "SetIdentifier": region,
                    "Region": region,
                    "TTL": stack.ttl_seconds,
                    "HealthCheckId": health_check_ids[region],
                    "ResourceRecords": [{"Value": domain}],
                },
            }
        )
    return changes


def _role(iam: Any, name: str, service: str) -> str:
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
        ],
    }
    return str(
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    )


def _deploy_engines(stack: Stack, deployment: Deployment, config: dict[str, Any], iam: Any) -> None:
    """The SSM document in every region; its role, FIS's, the switch's; the stop-condition alarm."""
    from chaosaws_serverless.cloudwatch.actions import put_error_ratio_alarm
    from chaosaws_serverless.ssm.actions import register_automation_document

    engines = stack.engines
    for region in deployment.regions:
        register_automation_document(region=region, configuration=config, secrets=FAKE_CREDENTIALS)
    deployment.automation_role_arn = _role(
        iam, str(engines["automation_role_name"]), "ssm.amazonaws.com"
    )
    deployment.fis_role_arn = _role(iam, str(engines["fis_role_name"]), "fis.amazonaws.com")
    if engines.get("switch_role_name"):  # the dead man's switch's schedules assume it
        deployment.fault_switch_role_arn = _role(
            iam, str(engines["switch_role_name"]), "scheduler.amazonaws.com"
        )
    alarm = engines.get("stop_alarm")
    if alarm:
        period = int(alarm.get("period_seconds", 10))
        created = put_error_ratio_alarm(
            alarm_name=str(alarm["name"]),
            url=deployment.api_url,
            max_ratio=float(alarm["max_ratio"]),
            expected_requests_per_period=int(float(stack.customers["rate_per_second"]) * period),
            client_region=deployment.regions[0],
            period_seconds=period,
            region=deployment.regions[0],
            configuration=config,
            secrets=FAKE_CREDENTIALS,
        )
        deployment.stop_alarm_arn = str(created["alarm_arn"])


def _put_dashboard(deployment: Deployment, config: dict[str, Any]) -> None:
    """Write the experiment's dashboard with the package's own action, like a user would."""
    put_experiment_dashboard(
        dashboard_name=deployment.dashboard_name,
        url=deployment.api_url,
        health_check_ids=dict(deployment.health_check_ids),
        regions=list(deployment.regions),
        period_seconds=1,
        configuration=config,
        secrets=FAKE_CREDENTIALS,
    )
