"""Make a moto server stand in for your account: the reference stack, and API Gateway's metrics.

    python stand_in_account.py http://127.0.0.1:5000 > stand-in-values.yaml

Creates, with boto3 only (nothing of chaosaws-serverless), what
``experiments/region-failure.json`` acts on and reads in us-east-1 and
eu-west-1: the /api/hello and /api/health functions, a chaos extension layer
version (a stand-in: moto runs no code), a REST API ``example-api`` with a
``prod`` stage, a hosted zone with one latency record per region and a health
check each. moto's API Gateway serves no requests and publishes no metrics, so
the script also writes what API Gateway would have published for the last 15
minutes (namespace ``AWS/ApiGateway``, dimensions ``ApiName`` and ``Stage``,
metrics ``Count``, ``5XXError``, ``4XXError``, once a minute, as the API
Gateway developer guide says): the API's own telemetry, for the steady state.

It prints the configuration values of this stand-in account as YAML, to copy
into your var file. The server takes any credentials: the script uses its own
throwaway pair, so your environment needs none.
"""

import io
import json
import sys
import uuid
import zipfile
from datetime import UTC, datetime, timedelta

import boto3

REGIONS = {"us-east-1": "us", "eu-west-1": "eu"}
ZONE = "example-shop.test"
RECORD = f"api.{ZONE}"
API = "example-api"
STAGE = "prod"
# The script's own credentials for the emulator; never the ones your experiments use.
_KEYS = {"aws_access_key_id": "AKIASTANDINSCRIPT000", "aws_secret_access_key": "stand-in-script"}


def main(endpoint_url: str) -> None:
    def client(service: str, region: str):
        return boto3.client(service, region_name=region, endpoint_url=endpoint_url, **_KEYS)

    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return {'statusCode': 200}\n")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    role = client("iam", "us-east-1").create_role(
        RoleName="api-functions", AssumeRolePolicyDocument=json.dumps(trust)
    )["Role"]["Arn"]
    values: dict = {"api_url": f"https://{RECORD}/api/hello", "record_name": RECORD}
    layers = {}
    for region, short in REGIONS.items():
        lam = client("lambda", region)
        layers[region] = lam.publish_layer_version(
            LayerName="chaos-lambda-extension",
            Content={"ZipFile": code.getvalue()},
            CompatibleArchitectures=["x86_64"],
            CompatibleRuntimes=["python3.12"],
        )["LayerVersionArn"]
        for path in ("hello", "health"):
            name = f"api-{path}-{short}"
            lam.create_function(
                FunctionName=name,
                Runtime="python3.12",
                Role=role,
                Handler="app.handler",
                Code={"ZipFile": code.getvalue()},
                Architectures=["x86_64"],
            )
            if region == "us-east-1":
                values[f"us_{path}_function"] = name
        gateway = client("apigateway", region)
        api_id = gateway.create_rest_api(name=API)["id"]
        # A deployment needs a method (as on AWS): GET /api/hello, a mock integration.
        parent = gateway.get_resources(restApiId=api_id)["items"][0]["id"]
        for part in ("api", "hello"):
            parent = gateway.create_resource(restApiId=api_id, parentId=parent, pathPart=part)["id"]
        gateway.put_method(
            restApiId=api_id, resourceId=parent, httpMethod="GET", authorizationType="NONE"
        )
        gateway.put_integration(restApiId=api_id, resourceId=parent, httpMethod="GET", type="MOCK")
        gateway.create_deployment(restApiId=api_id, stageName=STAGE)
    values["chaos_layer_arns"] = layers

    route53 = client("route53", "us-east-1")
    zone_id = route53.create_hosted_zone(Name=ZONE, CallerReference=str(uuid.uuid4()))[
        "HostedZone"
    ]["Id"].rsplit("/", 1)[-1]
    changes = []
    for region, short in REGIONS.items():
        domain = f"{short}.{ZONE}"
        check = route53.create_health_check(
            CallerReference=str(uuid.uuid4()),
            HealthCheckConfig={
                "Type": "HTTPS",
                "FullyQualifiedDomainName": domain,
                "ResourcePath": "/api/health",
                "Port": 443,
                "RequestInterval": 10,
                "FailureThreshold": 3,
                "EnableSNI": True,
            },
        )["HealthCheck"]["Id"]
        values[f"{short}_health_check_id"] = check
        changes.append(
            {
                "Action": "CREATE",
                "ResourceRecordSet": {
                    "Name": RECORD,
                    "Type": "CNAME",
                    "SetIdentifier": region,
                    "Region": region,
                    "TTL": 60,
                    "HealthCheckId": check,
                    "ResourceRecords": [{"Value": domain}],
                },
            }
        )
    route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": changes})
    values["hosted_zone_id"] = zone_id

    now = datetime.now(UTC).replace(second=0, microsecond=0)
    dimensions = [{"Name": "ApiName", "Value": API}, {"Name": "Stage", "Value": STAGE}]
    for region in REGIONS:
        data = []
        for minute in range(1, 16):
            for name, value in (("Count", 1200), ("5XXError", 6), ("4XXError", 15)):
                data.append(
                    {
                        "MetricName": name,
                        "Dimensions": dimensions,
                        "Timestamp": now - timedelta(minutes=minute),
                        "Value": value,
                        "Unit": "Count",
                    }
                )
        client("cloudwatch", region).put_metric_data(Namespace="AWS/ApiGateway", MetricData=data)
    values.update({"api_name": API, "api_stage": STAGE, "api_type": "rest"})

    print("# The stand-in account's values (configuration keys of region-failure.json)")
    for key, value in values.items():
        print(f"{key}: {json.dumps(value)}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python stand_in_account.py ENDPOINT_URL   (a moto server's URL)")
    main(sys.argv[1])
