"""After destroy: ask the emulator, service by service, whether anything the stacks created is still there.

The emulator starts empty apart from its defaults (the default VPC and what belongs to it) and the seeds
(certificates, layers), so everything else it still holds was left behind by a destroy. Not counted: KMS
keys pending deletion (a key cannot be deleted at once) and the Aurora final snapshot the data stack takes
on purpose (skip_final_snapshot = false).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Callable

from tools.rehearsal.emulator import Emulator

# Each finder yields (identifier, description) of what it still finds.
Finder = Callable[[Emulator], Iterable[tuple[str, str]]]


def _named(kind: str, identifiers: Iterable[str]) -> Iterable[tuple[str, str]]:
    return ((identifier, f"{kind} {identifier}") for identifier in identifiers)


def _network(emulator: Emulator) -> Iterable[tuple[str, str]]:
    ec2 = emulator.client("ec2")
    yield from _named("VPC", (v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"] if not v.get("IsDefault")))
    yield from _named("Elastic IP", (a["AllocationId"] for a in ec2.describe_addresses()["Addresses"]))
    gateways = ec2.describe_nat_gateways()["NatGateways"]
    yield from _named("NAT gateway", (g["NatGatewayId"] for g in gateways if g["State"] not in ("deleted", "deleting")))


def _kms_keys(emulator: Emulator) -> Iterable[tuple[str, str]]:
    kms = emulator.client("kms")
    # moto creates the AWS-managed keys (alias/aws/dynamodb, ...) on first use, but reports them as CUSTOMER keys.
    aliases = kms.list_aliases()["Aliases"]
    aws_managed = {a.get("TargetKeyId") for a in aliases if a["AliasName"].startswith("alias/aws/")}
    for key in kms.list_keys()["Keys"]:
        metadata = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
        if key["KeyId"] not in aws_managed and metadata["KeyState"] != "PendingDeletion":
            yield key["KeyId"], f"KMS key {key['KeyId']} ({metadata['KeyState']}, not pending deletion)"


def _storage(emulator: Emulator) -> Iterable[tuple[str, str]]:
    yield from _named("DynamoDB table", emulator.client("dynamodb").list_tables()["TableNames"])
    yield from _named("S3 bucket", (b["Name"] for b in emulator.client("s3").list_buckets()["Buckets"]))


def _databases(emulator: Emulator) -> Iterable[tuple[str, str]]:
    rds = emulator.client("rds")
    yield from _named("Aurora cluster", (c["DBClusterIdentifier"] for c in rds.describe_db_clusters()["DBClusters"]))
    yield from _named("DB instance", (i["DBInstanceIdentifier"] for i in rds.describe_db_instances()["DBInstances"]))
    groups = rds.describe_db_subnet_groups()["DBSubnetGroups"]
    yield from _named("DB subnet group", (g["DBSubnetGroupName"] for g in groups))


def _compute(emulator: Emulator) -> Iterable[tuple[str, str]]:
    functions = emulator.client("lambda").list_functions()["Functions"]
    yield from _named("Lambda function", (f["FunctionName"] for f in functions))
    elb = emulator.client("elbv2")
    balancers = elb.describe_load_balancers()["LoadBalancers"]
    yield from _named("load balancer", (lb["LoadBalancerName"] for lb in balancers))
    yield from _named("target group", (tg["TargetGroupName"] for tg in elb.describe_target_groups()["TargetGroups"]))
    acls = emulator.client("wafv2").list_web_acls(Scope="REGIONAL")["WebACLs"]
    yield from _named("WAF web ACL", (acl["Name"] for acl in acls))


def _apis(emulator: Emulator) -> Iterable[tuple[str, str]]:
    apigateway = emulator.client("apigateway")
    yield from _named("REST API", (api["name"] for api in apigateway.get_rest_apis()["items"]))
    yield from _named("VPC link", (link["name"] for link in apigateway.get_vpc_links()["items"]))
    yield from _named("API domain name", (d["domainName"] for d in apigateway.get_domain_names()["items"]))


def _monitoring(emulator: Emulator) -> Iterable[tuple[str, str]]:
    cloudwatch = emulator.client("cloudwatch")
    alarms = cloudwatch.describe_alarms(AlarmTypes=["MetricAlarm", "CompositeAlarm"])
    for kind in ("MetricAlarms", "CompositeAlarms"):
        yield from _named("alarm", (a["AlarmName"] for a in alarms.get(kind, [])))
    yield from _named("dashboard", (d["DashboardName"] for d in cloudwatch.list_dashboards()["DashboardEntries"]))
    yield from _named("SNS topic", (t["TopicArn"] for t in emulator.client("sns").list_topics()["Topics"]))
    yield from _named("SQS queue", emulator.client("sqs").list_queues().get("QueueUrls", []))
    groups = emulator.client("logs").describe_log_groups()["logGroups"]
    yield from _named("log group", (g["logGroupName"] for g in groups))


def _configuration(emulator: Emulator) -> Iterable[tuple[str, str]]:
    # ListSecrets omits secrets scheduled for deletion: what it shows was not deleted.
    yield from _named("secret", (s["Name"] for s in emulator.client("secretsmanager").list_secrets()["SecretList"]))
    parameters = emulator.client("ssm").describe_parameters()["Parameters"]
    yield from _named("SSM parameter", (p["Name"] for p in parameters))
    roles = emulator.client("iam").list_roles()["Roles"]
    yield from _named("IAM role", (r["RoleName"] for r in roles if not r["Path"].startswith("/aws-service-role/")))


FINDERS: tuple[Finder, ...] = (_network, _kms_keys, _storage, _databases, _compute, _apis, _monitoring, _configuration)


def find_leftovers(emulator: Emulator, owned: set[str]) -> list[str]:
    """Everything still in the emulator except what the rehearsal created itself (its remote-state bucket and
    key), by identifier."""
    return [text for finder in FINDERS for identifier, text in finder(emulator) if identifier not in owned]


def empty_bucket(emulator: Emulator, bucket: str) -> int:
    """Delete every object version and delete marker (never bypassing Object Lock); returns how many went."""
    s3 = emulator.client("s3")
    deleted = 0
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        objects = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                   for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
        if objects:
            response = s3.delete_objects(Bucket=bucket, Delete={"Objects": objects, "Quiet": True})
            deleted += len(objects) - len(response.get("Errors", []))
    return deleted
