"""The pre-flight corpus: zone shapes real teams use, each broken shape next to its sound twin.

Every shape is built on the moto server (zone, records, health checks, CloudWatch
alarms) and judged by ``find_failover_misconfigurations`` as a user runs it. The
judge of each case is Route 53's documented behaviour, written here as the
expected sentence fragments (developer guide, "How Amazon Route 53 determines
whether a health check is healthy", calculated and CloudWatch-metric checks,
failover routing; the API reference of HealthCheckConfig and AliasTarget in
botocore's route53 model):

- a sound shape has no finding at all (a pre-flight that cries wolf gets switched off);
- a broken shape has findings, each one sentence naming the record (the name and
  its routing role), the health check, the region and a fix, and the broken
  check's id appears in the finding about it.

Where moto stores something AWS would not return, the fixture sets it explicitly:
``EnableSNI`` (moto stores false when it is not given; AWS returns true for HTTPS
checks) is always given; moto drops ``AlarmIdentifier`` and
``InsufficientDataHealthStatus`` of CLOUDWATCH_METRIC checks, so the fixture puts
back, in GetHealthCheck answers, exactly what it sent in CreateHealthCheck.
"""

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Optional

import pytest

from chaosaws_serverless.aws import client as package_client
from chaosaws_serverless.route53 import probes

US, EU = "us-east-1", "eu-west-1"
NAME = "api.mydomain.com"
API_ALIAS_ZONE = "Z1UJRXOUMOOFQ8"  # API Gateway regional alias zone of us-east-1
ELB_ALIAS_ZONE = "Z35SXDOTRQ7X7K"
SHORT = {US: "us", EU: "eu"}
_counter = itertools.count()


def custom_domain(region: str) -> str:
    """The API Gateway regional custom domain (d-...) behind each region's name."""
    return f"d-{SHORT[region]}1.execute-api.{region}.amazonaws.com"


def invoke_domain(region: str) -> str:
    """The API's own execute-api invoke domain, whose path carries the stage."""
    return f"{SHORT[region]}api1.execute-api.{region}.amazonaws.com"


def region_name(region: str) -> str:
    return f"{SHORT[region]}.mydomain.com"


@dataclass
class Zone:
    """Builds one zone shape on moto: regional names, checks, alarms, routing records."""

    route53: Any
    cloudwatch: Callable[[str], Any]
    zone_id: str = ""
    changes: list[dict[str, Any]] = field(default_factory=list)
    alarm_fields: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.zone_id = self.route53.create_hosted_zone(
            Name="mydomain.com", CallerReference=f"zone-{next(_counter)}"
        )["HostedZone"]["Id"].split("/")[-1]
        for region in (US, EU):
            self.changes.append(alias(region_name(region), custom_domain(region)))

    def check(self, domain: Optional[str] = None, **overrides: Any) -> str:
        config: dict[str, Any] = {
            "Type": "HTTPS",
            "ResourcePath": "/api/health",
            "Port": 443,
            "RequestInterval": 10,
            "FailureThreshold": 3,
            "EnableSNI": True,  # moto stores False when absent; AWS returns True for HTTPS
            "Inverted": False,
            "Disabled": False,
            **overrides,
        }
        if domain:
            config["FullyQualifiedDomainName"] = domain
        if config["Type"] in ("CALCULATED", "CLOUDWATCH_METRIC"):
            for key in ("ResourcePath", "Port", "RequestInterval", "FailureThreshold", "EnableSNI"):
                config.pop(key, None)
        check_id = self.route53.create_health_check(
            CallerReference=f"check-{next(_counter)}", HealthCheckConfig=config
        )["HealthCheck"]["Id"]
        if config["Type"] == "CLOUDWATCH_METRIC":
            self.alarm_fields[check_id] = {
                k: config[k] for k in ("AlarmIdentifier", "InsufficientDataHealthStatus")
            }
        return check_id

    def calculated(self, children: list[str], threshold: int) -> str:
        return self.check(Type="CALCULATED", ChildHealthChecks=children, HealthThreshold=threshold)

    def alarm_check(
        self,
        region: str,
        insufficient: str = "Unhealthy",
        treat_missing: str = "missing",
        create_alarm: bool = True,
    ) -> str:
        name = f"{SHORT[region]}-api-5xx-{next(_counter)}"
        if create_alarm:
            self.cloudwatch(region).put_metric_alarm(
                AlarmName=name,
                Namespace="AWS/ApiGateway",
                MetricName="5XXError",
                Dimensions=[{"Name": "ApiName", "Value": "api"}],
                Statistic="Sum",
                Period=60,
                EvaluationPeriods=1,
                Threshold=1,
                ComparisonOperator="GreaterThanOrEqualToThreshold",
                TreatMissingData=treat_missing,
            )
        return self.check(
            Type="CLOUDWATCH_METRIC",
            AlarmIdentifier={"Region": region, "Name": name},
            InsufficientDataHealthStatus=insufficient,
        )

    def latency(self, region: str, check: Optional[str], **record: Any) -> None:
        self._routing({"SetIdentifier": SHORT[region], "Region": region}, region, check, record)

    def failover(self, role: str, region: str, check: Optional[str], **record: Any) -> None:
        self._routing({"SetIdentifier": SHORT[region], "Failover": role}, region, check, record)

    def _routing(
        self, routing: dict[str, Any], region: str, check: Optional[str], record: dict[str, Any]
    ) -> None:
        body: dict[str, Any] = {"Name": NAME, **routing}
        if "AliasTarget" in record:
            body.update(Type="A", **record)
        else:
            body.update(
                Type="CNAME", TTL=60, ResourceRecords=[{"Value": region_name(region)}], **record
            )
        if check:
            body["HealthCheckId"] = check
        self.changes.append({"Action": "CREATE", "ResourceRecordSet": body})

    def findings(self, configuration: dict[str, Any]) -> list[str]:
        self.route53.change_resource_record_sets(
            HostedZoneId=self.zone_id, ChangeBatch={"Changes": self.changes}
        )
        # The probe's own (cached) client: put back what moto drops from GetHealthCheck.
        probe_client = package_client("route53", US, configuration, None)

        def restore_alarm_fields(parsed: dict[str, Any], **_: Any) -> None:
            check = parsed.get("HealthCheck", {})
            check.get("HealthCheckConfig", {}).update(self.alarm_fields.get(check.get("Id"), {}))

        probe_client.meta.events.register("after-call.route53.GetHealthCheck", restore_alarm_fields)
        try:
            return probes.find_failover_misconfigurations(
                self.zone_id, NAME, configuration=configuration
            )
        finally:
            probe_client.meta.events.unregister(
                "after-call.route53.GetHealthCheck", restore_alarm_fields
            )


def alias(name: str, target: str, evaluate: bool = False, zone: str = API_ALIAS_ZONE) -> dict:
    return {
        "Action": "CREATE",
        "ResourceRecordSet": {
            "Name": name,
            "Type": "A",
            "AliasTarget": {
                "HostedZoneId": zone,
                "DNSName": target,
                "EvaluateTargetHealth": evaluate,
            },
        },
    }


def own_check(z: Zone, region: str, **overrides: Any) -> str:
    return z.check(region_name(region), **overrides)


# Each builder returns the ids of the checks a finding must name ([] for a sound shape).
Builder = Callable[[Zone, bool], tuple[list[str], list[str]]]


def latency_reference(z: Zone, broken: bool) -> tuple[list[str], list[str]]:
    us = own_check(z, EU if broken else US)
    z.latency(US, us)
    z.latency(EU, own_check(z, EU))
    return [us], ["which is the endpoint of the eu-west-1 latency record", "point it at"]


def latency_execute_api(z: Zone, broken: bool) -> tuple[list[str], list[str]]:
    # AWS's documented pattern: a check on the same region's execute-api invoke domain.
    us = z.check(invoke_domain(EU if broken else US), ResourcePath="/prod/api/health")
    z.latency(US, us)
    z.latency(EU, z.check(invoke_domain(EU), ResourcePath="/prod/api/health"))
    return [us], ["in eu-west-1, not its own endpoint", "in us-east-1"]


def latency_mixed_domains(z: Zone, broken: bool) -> tuple[list[str], list[str]]:
    # Sound: US checks its invoke domain (/prod/...), EU its custom domain; broken: paths differ
    # on the same kind of domain.
    us = (
        own_check(z, US, ResourcePath="/api/healthz")
        if broken
        else z.check(invoke_domain(US), ResourcePath="/prod/api/health")
    )
    z.latency(US, us)
    z.latency(EU, own_check(z, EU))
    return [], ["do not check the same protocol, port and path", "/api/healthz"]


def latency_calculated_child(z: Zone, broken: bool) -> tuple[list[str], list[str]]:
    child_api = own_check(z, US)
    child_other = own_check(z, EU if broken else US, ResourcePath="/api/hello")
    z.latency(US, z.calculated([child_api, child_other], 2))
    z.latency(EU, own_check(z, EU))
    return [child_other], ["child health check ", "which is the endpoint of the eu-west-1"]


def latency_calculated_never_unhealthy(z: Zone, broken: bool) -> tuple[list[str], list[str]]:
    children = [own_check(z, US), own_check(z, US, ResourcePath="/api/hello")]
    if broken:
        children.append(own_check(z, EU))  # one healthy child keeps a threshold-1 parent up
    parent = z.calculated(children, 1 if broken else 2)
    z.latency(US, parent)
    z.latency(EU, own_check(z, EU))
    return [parent, children[-1]], ["never turns unhealthy", "raise HealthThreshold"]


def latency_calculated_threshold_zero(z: Zone, broken: bool) -> tuple[list[str], list[str]]:
    parent = z.calculated([own_check(z, US)], 0 if broken else 1)
    z.latency(US, parent)
    z.latency(EU, own_check(z, EU))
    return [parent], ["HealthThreshold 0", "always considers it healthy"]


def latency_calculated_threshold_too_high(z: Zone, broken: bool) -> tuple[list[str], list[str]]:
    parent = z.calculated(
        [own_check(z, US), own_check(z, US, ResourcePath="/")], 3 if broken else 2
    )
    z.latency(US, parent)
    z.latency(EU, own_check(z, EU))
    return [parent], ["always considers it unhealthy", "lower HealthThreshold to at most 2"]


def latency_disabled_child(z: Zone, broken: bool) -> tuple[list[str], list[str]]:
    child = own_check(z, US, Disabled=broken)
    z.latency(US, z.calculated([child], 1))
    z.latency(EU, own_check(z, EU))
    return [child], ["is disabled", "enable it"]


def latency_disabled(z: Zone, broken: bool) -> tuple[list[str], list[str]]:
    us = own_check(z, US, Disabled=broken)
    z.latency(US, us)
    z.latency(EU, own_check(z, EU))
    return [us], ["is disabled: Route 53 considers it healthy", "us-east-1; enable it"]


def latency_disabled_inverted(z: Zone, broken: bool) -> tuple[list[str], list[str]]:
    eu = own_check(z, EU, Disabled=broken, Inverted=broken)
    z.latency(US, own_check(z, US))
    z.latency(EU, eu)
    return [eu], ["disabled and inverted", "always considers it unhealthy", "eu-west-1"]


def latency_alarm_no_data(z: Zone, broken: bool) -> tuple[list[str], list[str]]:
    us = z.alarm_check(US, insufficient="Healthy" if broken else "Unhealthy")
    z.latency(US, us)
    z.latency(EU, z.alarm_check(EU))
    return [us], ["reports Healthy when its alarm", "InsufficientDataHealthStatus to Unhealthy"]


def latency_alarm_region(z: Zone, broken: bool) -> tuple[list[str], list[str]]:
    us = z.alarm_check(EU if broken else US)
    z.latency(US, us)
    z.latency(EU, z.alarm_check(EU))
    return [us], ["in eu-west-1, not in us-east-1", "watch an alarm on us-east-1's metrics"]


def latency_alarm_missing_data(z: Zone, broken: bool) -> tuple[list[str], list[str]]:
    # Sound twin: missing data breaches, so "Healthy when insufficient" never applies.
    us = z.alarm_check(
        US, insufficient="Healthy", treat_missing="notBreaching" if broken else "breaching"
    )
    z.latency(US, us)
    z.latency(EU, z.alarm_check(EU))
    return [us], ["treats missing data as not breaching", "TreatMissingData"]


def latency_alias_evaluate_target_health(z: Zone, broken: bool) -> tuple[list[str], list[str]]:
    # Load balancers have health of their own; API Gateway has none for Route 53.
    for region in (US, EU):
        target = (
            custom_domain(region)
            if broken and region == US
            else f"dualstack.{SHORT[region]}-lb-1.{region}.elb.amazonaws.com"
        )
        zone = API_ALIAS_ZONE if broken and region == US else ELB_ALIAS_ZONE
        z.latency(
            region,
            None,
            AliasTarget={"HostedZoneId": zone, "DNSName": target, "EvaluateTargetHealth": True},
        )
    return [], ["evaluates the target health of the API Gateway domain", "attach a health check"]


def latency_no_sni(z: Zone, broken: bool) -> tuple[list[str], list[str]]:
    us = own_check(z, US, EnableSNI=not broken)
    z.latency(US, us)
    z.latency(EU, own_check(z, EU))
    return [us], ["HTTPS without SNI", "set EnableSNI"]


def failover_reference(z: Zone, broken: bool) -> tuple[list[str], list[str]]:
    primary = own_check(z, EU if broken else US)
    z.failover("PRIMARY", US, primary)
    z.failover("SECONDARY", EU, None)  # AWS: a SECONDARY without a check is always healthy
    return [primary], ["primary failover record (us) in us-east-1", "point it at"]


def failover_primary_check(z: Zone, broken: bool) -> tuple[list[str], list[str]]:
    z.failover("PRIMARY", US, None if broken else own_check(z, US))
    z.failover("SECONDARY", EU, own_check(z, EU))
    return [], ["primary failover record (us) in us-east-1", "has no health check"]


def failover_execute_api(z: Zone, broken: bool) -> tuple[list[str], list[str]]:
    primary = z.check(invoke_domain(EU if broken else US), ResourcePath="/prod/api/health")
    z.failover("PRIMARY", US, primary)
    z.failover("SECONDARY", EU, None)
    return [primary], ["in eu-west-1, not its own endpoint", "us-east-1"]


def failover_calculated(z: Zone, broken: bool) -> tuple[list[str], list[str]]:
    child = own_check(z, EU if broken else US, ResourcePath="/api/hello")
    parent = z.calculated([own_check(z, US), child], 2)
    z.failover("PRIMARY", US, parent)
    z.failover("SECONDARY", EU, None)
    return [child], ["child health check ", "primary failover record (us) in us-east-1"]


def failover_secondary_paths(z: Zone, broken: bool) -> tuple[list[str], list[str]]:
    # Failover: a SECONDARY's check may probe another path (a static fallback); that rule is
    # latency-only. Broken twin: a SECONDARY missing, only a PRIMARY.
    z.failover("PRIMARY", US, own_check(z, US))
    if not broken:
        z.failover("SECONDARY", EU, own_check(z, EU, ResourcePath="/index.html"))
    return [], ["single routing record", "add a record for the other region"]


def failover_alarm(z: Zone, broken: bool) -> tuple[list[str], list[str]]:
    primary = z.alarm_check(US, create_alarm=not broken)
    z.failover("PRIMARY", US, primary)
    z.failover("SECONDARY", EU, None)
    return [primary], ["which does not exist", "create the alarm or fix AlarmIdentifier"]


def failover_alias_evaluate_target_health(z: Zone, broken: bool) -> tuple[list[str], list[str]]:
    target = custom_domain(US) if broken else f"dualstack.us-lb-1.{US}.elb.amazonaws.com"
    z.failover(
        "PRIMARY",
        US,
        None,
        AliasTarget={
            "HostedZoneId": API_ALIAS_ZONE if broken else ELB_ALIAS_ZONE,
            "DNSName": target,
            "EvaluateTargetHealth": True,
        },
    )
    z.failover("SECONDARY", EU, None)
    return [], ["evaluates the target health of the API Gateway domain", "us-east-1"]


def failover_inverted(z: Zone, broken: bool) -> tuple[list[str], list[str]]:
    primary = own_check(z, US, Inverted=broken)
    z.failover("PRIMARY", US, primary)
    z.failover("SECONDARY", EU, None)
    return [primary], ["is inverted", "clear 'Inverted'"]


SHAPES: dict[str, Builder] = {
    f.__name__: f
    for f in (
        latency_reference,
        latency_execute_api,
        latency_mixed_domains,
        latency_calculated_child,
        latency_calculated_never_unhealthy,
        latency_calculated_threshold_zero,
        latency_calculated_threshold_too_high,
        latency_disabled_child,
        latency_disabled,
        latency_disabled_inverted,
        latency_alarm_no_data,
        latency_alarm_region,
        latency_alarm_missing_data,
        latency_alias_evaluate_target_health,
        latency_no_sni,
        failover_reference,
        failover_primary_check,
        failover_execute_api,
        failover_calculated,
        failover_secondary_paths,
        failover_alarm,
        failover_alias_evaluate_target_health,
        failover_inverted,
    )
}


def test_the_corpus_covers_both_routings_in_pairs() -> None:
    assert len(SHAPES) * 2 >= 40  # every builder makes a sound and a broken shape
    assert sum(n.startswith("failover_") for n in SHAPES) >= 8
    assert sum(n.startswith("latency_") for n in SHAPES) >= 8


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_sound_shape_has_no_finding(
    shape: str, configuration: dict[str, Any], aws: Callable[..., Any]
) -> None:
    zone = Zone(aws("route53"), lambda region: aws("cloudwatch", region))
    SHAPES[shape](zone, False)
    assert zone.findings(configuration) == []


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_broken_twin_is_named_in_one_sentence(
    shape: str, configuration: dict[str, Any], aws: Callable[..., Any]
) -> None:
    zone = Zone(aws("route53"), lambda region: aws("cloudwatch", region))
    named_checks, fragments = SHAPES[shape](zone, True)
    findings = zone.findings(configuration)
    assert findings, f"{shape}: no finding on the broken shape"
    text = "\n".join(findings)
    for fragment in fragments:
        assert fragment in text, f"{shape}: {fragment!r} not in {findings}"
    for check_id in named_checks:
        assert check_id in text, f"{shape}: check {check_id} not named in {findings}"
    for finding in findings:
        assert "\n" not in finding and finding.count(". ") == 0, finding  # one sentence
        assert NAME in finding, f"{shape}: the record's name is missing: {finding}"
        assert US in finding or EU in finding, f"{shape}: no region in {finding}"
        assert ";" in finding, f"{shape}: no fix after the reason in {finding}"
